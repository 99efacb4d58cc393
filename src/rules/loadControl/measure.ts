/**
 * The figure a program watches, from live values: the load (sum of the bound meters' latest
 * power.active, or one total meter's) or, for an energy budget, the month's energy so far.
 * The load is the station's one area-load definition (src/domain/areaLoad.ts): the same
 * meters and the same fresh values the overload rule and the overview count. A load with no
 * fresh value is unknown (undefined), which holds the program where it is rather than tripping
 * or restoring on missing data.
 */
import type { LoadControlProgramConfig } from '../../config/schema.js';
import { countPower, emptyAreaLoadCounts, type AreaLoadSettings, type LatestValue, type MeterId, type Quantity } from '../../domain/index.js';
import { monthlyEnergy, monthOf } from './limits.js';
import type { ProgramState } from './machine.js';

export interface LiveValues {
  value(meterId: MeterId, q: Quantity): LatestValue | undefined;
}

export interface MeterView {
  readonly id: string;
  readonly protected: boolean;
  readonly areaId: string | null;
}

/** The registry as programs see it. */
export interface MeterDirectory {
  meter(id: string): MeterView | undefined;
  /** Meters of an area and its sub-areas. */
  metersOfArea(areaId: string): readonly MeterView[];
}

export interface Measurement {
  readonly value: number | undefined;
  /** Meters whose value counted, of those bound. */
  readonly reporting: number;
  readonly bound: number;
  /** monthly-energy: the month state after this measurement. */
  readonly monthly?: ProgramState['monthly'];
}

/**
 * The meters whose load a program sums: the named ones as given; an area's without its
 * excluded (supply) meters, as every area load counts them.
 */
export function boundMeters(p: LoadControlProgramConfig, dir: MeterDirectory, excluded: ReadonlySet<string>): string[] {
  if (p.totalMeter !== undefined) return [p.totalMeter];
  if (p.meters !== undefined) return [...p.meters];
  return p.area === undefined ? [] : dir.metersOfArea(p.area).filter((m) => !excluded.has(m.id)).map((m) => m.id);
}

export function measure(
  p: LoadControlProgramConfig, t: number, live: LiveValues, dir: MeterDirectory, state: ProgramState, utcOffsetMinutes: number,
  areaLoad: AreaLoadSettings,
): Measurement {
  const meters = boundMeters(p, dir, areaLoad.excluded);
  if (p.kind === 'monthly-energy') {
    const month = monthOf(t, utcOffsetMinutes);
    const baselines = { ...(state.monthly?.month === month ? state.monthly.baselines : {}) };
    const registers = new Map<string, number>();
    for (const id of meters) {
      const v = live.value(id as MeterId, 'energy.active.import');
      // A register value from before this month would make a baseline that is too low.
      if (v !== undefined && v.quality !== 'bad' && monthOf(v.ts, utcOffsetMinutes) === month) registers.set(id, v.value);
    }
    const used = monthlyEnergy(baselines, registers);
    return { value: registers.size === 0 ? undefined : used, reporting: registers.size, bound: meters.length, monthly: { month, baselines } };
  }
  const load = emptyAreaLoadCounts();
  for (const id of meters) countPower(load, live.value(id as MeterId, 'power.active'), t, areaLoad.freshMs);
  return { value: load.fresh === 0 ? undefined : load.loadKw, reporting: load.fresh, bound: meters.length };
}
