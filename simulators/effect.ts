/**
 * What can alter a simulated meter's values: one model shared by the Modbus, MQTT and DLMS
 * simulators, all of which compute their values from a MeterModel (loadShape.ts). The model
 * asks its `EffectSource` for the effect in force at an instant and applies it to the load
 * shape's values; energy registers integrate the altered power (loadShape.ts for Modbus and
 * MQTT, dlms/meterSimulation.ts for DLMS), cutting their integration at every change.
 * Scenarios (scenarios/effects.ts) are what sets effects on a meter.
 */
import type { MeterInstant } from './loadShape.js';

export type Phases = readonly [number, number, number];

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
