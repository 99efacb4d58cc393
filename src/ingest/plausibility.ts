/**
 * Plausibility bounds of a reading, from physics: what a meter with its CT/PT ratios and its
 * rating can measure at all. A value outside them is not a surprising measurement but a
 * broken one (a garbled register, a wrong unit, a wrong ratio), and must never reach live
 * values, aggregates, rules or the store. Pure: the bounds are a function of the quantity,
 * the meter and the configured limits.
 *
 * Bounds on the primary side, in the catalogue unit (x = `overrange`, Un = nominal voltage,
 * Imax = maximum current, both at the meter's terminals):
 *
 *   voltage.lN              0 … x·Un·PT                                  V
 *   current.lN              0 … x·Imax·CT                                A
 *   power.active.lN        ±Pph,  Pph = (x·Un·PT)·(x·Imax·CT) / 1000     kW
 *   power.active, .reactive ±3·Pph                                       kW, kvar
 *   demand.active.max       0 … 3·Pph                                    kW
 *   power.factor           −1 … 1
 *   frequency               minFrequency … maxFrequency                  Hz
 *   energy registers        0 … finite                                   kWh, kvarh
 *   clock.drift             any finite value                             s
 *
 * A phase cannot deliver more than the largest plausible voltage times the largest plausible
 * current, so Pph is the tightest power bound consistent with the voltage and current bounds.
 * The total assumes three phases: for a single-phase meter it is looser, never too tight.
 */
import type { Meter, Quantity } from '../domain/index.js';

/** The configured limits (`ingest.plausibility`): defaults for meters without a rating of their own. */
export interface PlausibilityLimits {
  /** Un at the meter's terminals, V phase to neutral, when the meter declares none. */
  readonly nominalVoltage: number;
  /** Imax at the meter's terminals, A, when the meter declares none. */
  readonly maxCurrent: number;
  /** How far above Un and Imax a reading is still plausible (a factor; power gets its square). */
  readonly overrange: number;
  readonly minFrequency: number;
  readonly maxFrequency: number;
}

/** The configuration's defaults (src/config/schema.ts takes them from here). */
export const DEFAULT_PLAUSIBILITY: PlausibilityLimits = {
  nominalVoltage: 230,
  maxCurrent: 100,
  overrange: 2,
  minFrequency: 40,
  maxFrequency: 70,
};

/** A closed range of plausible values; either end may be infinite. */
export interface Bound {
  readonly min: number;
  readonly max: number;
}

export type MeterRating = Pick<Meter, 'ctRatio' | 'ptRatio' | 'nominalVoltage' | 'maxCurrent'>;

const PHASES = 3;

/** The range a primary-side value of `q` must lie in for this meter. */
export function plausibleRange(q: Quantity, meter: MeterRating, limits: PlausibilityLimits): Bound {
  const vMax = limits.overrange * (meter.nominalVoltage ?? limits.nominalVoltage) * meter.ptRatio;
  const iMax = limits.overrange * (meter.maxCurrent ?? limits.maxCurrent) * meter.ctRatio;
  const phaseKw = (vMax * iMax) / 1000;
  switch (q) {
    case 'voltage.l1': case 'voltage.l2': case 'voltage.l3':
      return { min: 0, max: vMax };
    case 'current.l1': case 'current.l2': case 'current.l3':
      return { min: 0, max: iMax };
    case 'power.active.l1': case 'power.active.l2': case 'power.active.l3':
      return { min: -phaseKw, max: phaseKw };
    case 'power.active': case 'power.reactive':
      return { min: -PHASES * phaseKw, max: PHASES * phaseKw };
    case 'demand.active.max':
      return { min: 0, max: PHASES * phaseKw };
    case 'power.factor':
      return { min: -1, max: 1 };
    case 'frequency':
      return { min: limits.minFrequency, max: limits.maxFrequency };
    case 'energy.active.import': case 'energy.active.import.t1': case 'energy.active.import.t2':
    case 'energy.active.import.t3': case 'energy.active.import.t4': case 'energy.active.export':
    case 'energy.reactive.import': case 'energy.reactive.export':
      return { min: 0, max: Number.POSITIVE_INFINITY };
    case 'clock.drift':
      return { min: Number.NEGATIVE_INFINITY, max: Number.POSITIVE_INFINITY };
  }
}

/** Whether `value` is finite and inside `bound`. */
export function withinBound(value: number, bound: Bound): boolean {
  return Number.isFinite(value) && value >= bound.min && value <= bound.max;
}
