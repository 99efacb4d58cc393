/**
 * What scenarios do to a simulated meter's values: each scenario kind as an effect
 * (../effect.ts), and the effects of the scenarios acting on one meter, combined while their
 * windows overlap.
 *
 * Outage, clock drift, tamper and firmware drop are not value effects: they act on the
 * terminal, the meter's clock, its events or its connection at the window's edges (runner.ts).
 */
import type { ScenarioConfig } from '../config.js';
import { NO_EFFECT, type Effect, type EffectSource, type Phases } from '../effect.js';
import type { ScenarioSchedule } from './schedule.js';

/** The value effect of a scenario (NO_EFFECT for the kinds that act at edges). */
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
    case 'clock-drift':
    case 'tamper':
    case 'firmware-drop': return NO_EFFECT;
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
