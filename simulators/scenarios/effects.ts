/**
 * What scenarios do to a simulated meter's values: one model shared by the Modbus, MQTT and
 * DLMS simulators, all of which compute their values from a MeterModel (loadShape.ts). The
 * model asks its `EffectSource` for the effect in force at an instant and applies it to the
 * load shape's values; energy registers integrate the altered power (loadShape.ts for Modbus
 * and MQTT, meterSimulation.ts for DLMS), cutting their integration at every change.
 *
 * Outage and clock drift are not value effects: they act on the terminal or the meter's
 * clock at the window's edges (runner.ts).
 */
import type { ScenarioConfig } from '../config.js';
import type { MeterInstant } from '../loadShape.js';
import type { ScenarioSchedule } from './schedule.js';

type Phases = readonly [number, number, number];

export interface Effect {
  /** Multiplies active and reactive power and the currents (overload; reverse-power's factor). */
  readonly loadFactor: number;
  /** Per-phase voltage multiplier; the phase's power follows (a constant-current load). */
  readonly voltageScale: Phases;
  /** Per-phase current multiplier (0 on a lost phase). */
  readonly currentScale: Phases;
  /** Active power flows out: negative power, the export register advances instead of import. */
  readonly reverse: boolean;
  /** Energy registers stop advancing while power and currents stay. */
  readonly registersStuck: boolean;
}

export const NO_EFFECT: Effect = Object.freeze({
  loadFactor: 1, voltageScale: [1, 1, 1] as const, currentScale: [1, 1, 1] as const, reverse: false, registersStuck: false,
});

/** The effects a meter is subject to, as a function of time. */
export interface EffectSource {
  /** The combined effect in force at `ts` (NO_EFFECT when none). */
  at(ts: number): Effect;
  /** The first instant after `ts` at which the effect changes; Infinity if never. */
  nextChangeAfter(ts: number): number;
}

/** The values at an instant as the effect alters them. */
export function applyEffect(v: MeterInstant, e: Effect): MeterInstant {
  if (e === NO_EFFECT) return v;
  const sign = e.reverse ? -1 : 1;
  const phase = (values: Phases, f: (x: number, i: 0 | 1 | 2) => number): Phases =>
    [f(values[0], 0), f(values[1], 1), f(values[2], 2)];
  const voltage = phase(v.voltage, (x, i) => x * e.voltageScale[i]);
  const current = phase(v.current, (x, i) => x * e.loadFactor * e.currentScale[i]);
  const powerActiveL = phase(v.powerActiveL, (x, i) => sign * x * e.loadFactor * e.voltageScale[i] * e.currentScale[i]);
  const powerActive = powerActiveL[0] + powerActiveL[1] + powerActiveL[2];
  const ratio = v.powerActive === 0 ? 0 : Math.abs(powerActive) / v.powerActive;
  return { ...v, voltage, current, powerActiveL, powerActive, powerReactive: v.powerReactive * ratio };
}

/** The value effect of a scenario (NO_EFFECT for outage and clock drift, which act at edges). */
export function effectOf(s: ScenarioConfig): Effect {
  const on = (i: 1 | 2 | 3): boolean => s.phase === undefined || s.phase === 'all' || s.phase === `l${i}`;
  const phases = (value: number): Phases => [on(1) ? value : 1, on(2) ? value : 1, on(3) ? value : 1];
  switch (s.kind) {
    case 'overload': return { ...NO_EFFECT, loadFactor: s.factor ?? 1 };
    case 'voltage-sag': return { ...NO_EFFECT, voltageScale: phases((s.percentOfNominal ?? 100) / 100) };
    case 'voltage-loss': return { ...NO_EFFECT, voltageScale: phases(0), currentScale: phases(0) };
    case 'reverse-power': return { ...NO_EFFECT, reverse: true, loadFactor: s.factor ?? 1 };
    case 'register-stuck': return { ...NO_EFFECT, registersStuck: true };
    case 'outage':
    case 'clock-drift': return NO_EFFECT;
  }
}

/** The scenarios acting on one meter: their effects combine while their windows overlap. */
export class MeterEffects implements EffectSource {
  private readonly entries: { readonly schedule: ScenarioSchedule; readonly effect: Effect }[] = [];

  add(schedule: ScenarioSchedule, effect: Effect): void {
    if (effect !== NO_EFFECT) this.entries.push({ schedule, effect });
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  at(ts: number): Effect {
    let out = NO_EFFECT;
    for (const { schedule, effect } of this.entries) {
      if (schedule.windowAt(ts) !== undefined) out = out === NO_EFFECT ? effect : combine(out, effect);
    }
    return out;
  }

  nextChangeAfter(ts: number): number {
    let next = Infinity;
    for (const { schedule } of this.entries) next = Math.min(next, schedule.nextEdgeAfter(ts));
    return next;
  }
}

function combine(a: Effect, b: Effect): Effect {
  const times = (x: Phases, y: Phases): Phases => [x[0] * y[0], x[1] * y[1], x[2] * y[2]];
  return {
    loadFactor: a.loadFactor * b.loadFactor,
    voltageScale: times(a.voltageScale, b.voltageScale),
    currentScale: times(a.currentScale, b.currentScale),
    reverse: a.reverse || b.reverse,
    registersStuck: a.registersStuck || b.registersStuck,
  };
}
