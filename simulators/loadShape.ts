/**
 * A simulated meter's electrical state, driven by a daily load curve per customer type.
 * Deterministic for a given seed and time, so tests can predict what a simulator serves.
 * Energy registers integrate power between calls to `advance`. Scenario effects
 * (simulators/effect.ts), when set, alter the values and what the registers count.
 */
import { applyEffect, NO_EFFECT, type Effect, type EffectSource } from './effect.js';

export type CustomerType = 'residential' | 'commercial' | 'industrial';

/** Fraction of the base load for each hour of the day (0..23), per customer type. */
const DAILY_CURVE: Readonly<Record<CustomerType, readonly number[]>> = {
  residential: [0.35, 0.3, 0.28, 0.27, 0.28, 0.35, 0.55, 0.75, 0.6, 0.5, 0.48, 0.5, 0.55, 0.5, 0.48, 0.5, 0.6, 0.85, 1.0, 0.95, 0.85, 0.7, 0.55, 0.42],
  commercial: [0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.4, 0.7, 0.9, 1.0, 1.0, 0.98, 0.9, 0.95, 1.0, 0.98, 0.9, 0.8, 0.6, 0.45, 0.35, 0.3, 0.25, 0.22],
  industrial: [0.7, 0.7, 0.7, 0.7, 0.72, 0.78, 0.9, 1.0, 1.0, 1.0, 0.98, 0.95, 0.9, 0.98, 1.0, 1.0, 0.97, 0.92, 0.85, 0.8, 0.78, 0.75, 0.72, 0.7],
};

const BASE_KW: Readonly<Record<CustomerType, number>> = { residential: 3, commercial: 25, industrial: 250 };

/** The instantaneous values at one instant (no registers). */
export interface MeterInstant {
  readonly ts: number;
  /** kW, total and per phase (negative: export). */
  readonly powerActive: number;
  readonly powerActiveL: readonly [number, number, number];
  readonly powerReactive: number;
  readonly voltage: readonly [number, number, number];
  readonly current: readonly [number, number, number];
  readonly powerFactor: number;
  readonly frequency: number;
}

export interface MeterState {
  readonly ts: number;
  /** kW, total and per phase. */
  readonly powerActive: number;
  readonly powerActiveL: readonly [number, number, number];
  /** kvar. */
  readonly powerReactive: number;
  /** V per phase. */
  readonly voltage: readonly [number, number, number];
  /** A per phase. */
  readonly current: readonly [number, number, number];
  readonly powerFactor: number;
  readonly frequency: number;
  /** kWh / kvarh registers. */
  readonly energyActiveImport: number;
  readonly energyActiveImportTariff: readonly [number, number, number, number];
  readonly energyActiveExport: number;
  readonly energyReactiveImport: number;
  readonly energyReactiveExport: number;
  /** kW, highest 15-minute average since start. */
  readonly maxDemand: number;
}

export interface MeterModelOptions {
  readonly seed: number;
  readonly customerType?: CustomerType;
  readonly nominalVoltage?: number;
  /** Scale of the base load; 1 gives the type's typical size. */
  readonly size?: number;
  /** Start time (ms epoch) and starting import register (kWh). */
  readonly startTs: number;
  readonly startEnergyKwh?: number;
}

/** Tariff of an hour of the day: t1 peak, t2 shoulder, t3 off-peak, t4 valley. */
export function tariffOfHour(hour: number): 0 | 1 | 2 | 3 {
  if (hour >= 18 && hour < 22) return 0;
  if (hour >= 8 && hour < 18) return 1;
  if (hour >= 22 || hour < 1) return 2;
  return 3;
}

export class MeterModel {
  readonly customerType: CustomerType;
  private readonly nominalVoltage: number;
  private readonly baseKw: number;
  private readonly seed: number;
  private lastTs: number;
  private importKwh: number;
  private exportKwh = 0;
  private readonly tariffKwh: [number, number, number, number] = [0, 0, 0, 0];
  private reactiveKvarh = 0;
  private demandWindowStart: number;
  private demandWindowKwh = 0;
  private maxDemandKw = 0;
  /** Scenario effects on this meter, if any (set by the fleet's scenario runner). */
  effects: EffectSource | undefined;

  constructor(options: MeterModelOptions) {
    this.seed = options.seed;
    const types: CustomerType[] = ['residential', 'commercial', 'industrial'];
    this.customerType = options.customerType ?? types[Math.floor(noise(options.seed, 0) * types.length)] ?? 'residential';
    this.nominalVoltage = options.nominalVoltage ?? 230;
    this.baseKw = BASE_KW[this.customerType] * (options.size ?? 0.6 + noise(options.seed, 1) * 0.8);
    this.lastTs = options.startTs;
    this.importKwh = options.startEnergyKwh ?? Math.round(1000 + noise(options.seed, 2) * 9000);
    this.tariffKwh[0] = this.importKwh * 0.2;
    this.tariffKwh[1] = this.importKwh * 0.4;
    this.tariffKwh[2] = this.importKwh * 0.25;
    this.tariffKwh[3] = this.importKwh - this.tariffKwh[0] - this.tariffKwh[1] - this.tariffKwh[2];
    this.demandWindowStart = options.startTs;
  }

  /** Moves time forward to `ts`, integrating energy, and returns the state at `ts`. */
  advance(ts: number): MeterState {
    const inst = this.instant(ts);
    // A scenario starting or ending in between splits the span: each piece counts with the effect in force during it.
    while (ts > this.lastTs) {
      const end = Math.min(ts, this.effects?.nextChangeAfter(this.lastTs) ?? Infinity);
      this.integrate(end, this.effects?.at(this.lastTs) ?? NO_EFFECT);
    }
    return {
      ...inst,
      energyActiveImport: this.importKwh,
      energyActiveImportTariff: [...this.tariffKwh],
      energyActiveExport: this.exportKwh,
      energyReactiveImport: this.reactiveKvarh,
      energyReactiveExport: 0,
      maxDemand: Math.max(this.maxDemandKw, inst.powerActive),
    };
  }

  /** The instantaneous values at `ts` with the scenario effects in force then: a pure function of the seed and `ts`. */
  instant(ts: number): MeterInstant {
    const base = this.baseInstant(ts);
    return this.effects === undefined ? base : applyEffect(base, this.effects.at(ts));
  }

  /** The load shape's values at `ts`, without scenario effects. */
  baseInstant(ts: number): MeterInstant {
    const d = new Date(ts);
    const hourF = d.getHours() + d.getMinutes() / 60;
    const curve = DAILY_CURVE[this.customerType];
    const h0 = Math.floor(hourF) % 24;
    const h1 = (h0 + 1) % 24;
    const frac = hourF - Math.floor(hourF);
    const shape = (curve[h0] ?? 0.5) * (1 - frac) + (curve[h1] ?? 0.5) * frac;
    const step = Math.floor(ts / 1000);
    const jitter = 1 + (noise(this.seed, step) - 0.5) * 0.1;
    const total = Math.max(0, this.baseKw * shape * jitter);
    const split: [number, number, number] = [0.34 + (noise(this.seed, 7) - 0.5) * 0.04, 0.33, 0];
    split[2] = 1 - split[0] - split[1];
    const powerFactor = 0.92 + noise(this.seed, 3) * 0.06;
    const voltage: [number, number, number] = [0, 1, 2].map(
      (p) => this.nominalVoltage * (1 + (noise(this.seed, step * 3 + p + 11) - 0.5) * 0.02),
    ) as [number, number, number];
    const powerActiveL = split.map((s) => total * s) as [number, number, number];
    const current = powerActiveL.map((p, i) => (p * 1000) / ((voltage[i] ?? this.nominalVoltage) * powerFactor)) as [number, number, number];
    const powerReactive = total * Math.tan(Math.acos(powerFactor));
    return {
      ts,
      powerActive: total,
      powerActiveL,
      powerReactive,
      voltage,
      current,
      powerFactor,
      frequency: 50 + (noise(this.seed, step + 5) - 0.5) * 0.04,
    };
  }

  /** Integrates from the last instant to `ts` at the power of `ts` under `effect`, held over the span. */
  private integrate(ts: number, effect: Effect): void {
    const p = applyEffect(this.baseInstant(ts), effect);
    const hours = (ts - this.lastTs) / 3_600_000;
    const kwh = effect.registersStuck ? 0 : p.powerActive * hours;
    if (kwh >= 0) {
      this.importKwh += kwh;
      this.tariffKwh[tariffOfHour(new Date(ts).getHours())] += kwh;
    } else {
      this.exportKwh -= kwh;
    }
    if (!effect.registersStuck) this.reactiveKvarh += p.powerReactive * hours;
    this.demandWindowKwh += Math.max(0, kwh);
    if (ts - this.demandWindowStart >= 900_000) {
      this.maxDemandKw = Math.max(this.maxDemandKw, this.demandWindowKwh / ((ts - this.demandWindowStart) / 3_600_000));
      this.demandWindowStart = ts;
      this.demandWindowKwh = 0;
    }
    this.lastTs = ts;
  }
}

/** A deterministic number in [0, 1) from a seed and an index (integer hash, no state). */
export function noise(seed: number, index: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 4294967296;
}
