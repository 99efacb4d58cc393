/**
 * Per-phase current detectors: current loss (one phase reads ~0 A while the others carry
 * load, typically an open or shorted CT circuit) and phase current imbalance.
 */
import Type, { type Static } from 'typebox';
import { TimingFields, levelAbove, step, type ConditionState, type DetectorResult, type Level } from './condition.js';
import { formatPct, formatValue, phaseLabel } from './format.js';
import { LINE_PHASES, currentOf, otherPhases, type PhaseInput, type Snapshot } from './snapshot.js';

const strict = { additionalProperties: false } as const;

export const CurrentLossParams = Type.Object(
  {
    /** A phase at or under this current, A, carries nothing. */
    lossBelowA: Type.Number({ minimum: 0, maximum: 1e6, default: 0.05 }),
    /** The alarm clears only above `lossBelowA + hysteresisA`. */
    hysteresisA: Type.Number({ minimum: 0, maximum: 1e6, default: 0.1 }),
    /** Every other reported phase must carry at least this, A, for the loss to count. */
    othersAboveA: Type.Number({ exclusiveMinimum: 0, maximum: 1e6, default: 1 }),
    ...TimingFields,
  },
  strict,
);
export type CurrentLossParams = Static<typeof CurrentLossParams>;

/**
 * Current loss on `current.lN`. "The others carry load" means every other phase the meter
 * reports, so a single-phase load on a three-phase meter does not alarm its idle phases.
 * When the others go idle too the load is simply gone: the condition is absent.
 */
export function detectCurrentLoss(
  state: ConditionState,
  input: PhaseInput,
  params: CurrentLossParams,
  now: number,
): DetectorResult<ConditionState> {
  const { lossBelowA, hysteresisA, othersAboveA } = params;
  const i = currentOf(input.values, input.phase);
  const others = otherPhases(input.values, input.phase, currentOf);
  const othersLoaded = others.length > 0 && others.every((o) => o >= othersAboveA);
  let level: Level = 'unknown';
  if (i !== undefined) {
    if (i <= lossBelowA) level = othersLoaded ? 'breach' : 'normal';
    else level = i > lossBelowA + hysteresisA ? 'normal' : 'hold';
  }
  const label = phaseLabel(input.phase);
  return step(state, {
    level,
    value: i ?? Number.NaN,
    describe: (kind) => {
      const load = `other phases at ${others.map((o) => amps(o)).join(', ')}`;
      if (kind === 'raise') return `current loss ${label}: ${amps(i ?? 0)} while ${load}`;
      return i !== undefined && i <= lossBelowA
        ? `current loss ${label} no longer applies: ${load}, under ${amps(othersAboveA)} (load gone)`
        : `current ${label} restored: ${amps(i ?? 0)}`;
    },
  }, now, params);
}

export const CurrentImbalanceParams = Type.Object(
  {
    /** Alarm when (max - min) / max of the phase currents exceeds this, %. */
    maxImbalancePct: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    /** The alarm clears only at or below `maxImbalancePct - hysteresisPct`. */
    hysteresisPct: Type.Number({ minimum: 0, maximum: 100, default: 5 }),
    /** Below this largest phase current, A, imbalance is not judged (light load): condition absent. */
    minLoadA: Type.Number({ minimum: 0, maximum: 1e6, default: 5 }),
    ...TimingFields,
  },
  strict,
);
export type CurrentImbalanceParams = Static<typeof CurrentImbalanceParams>;

/** Phase current imbalance over the reported phases (at least two needed). */
export function detectCurrentImbalance(
  state: ConditionState,
  values: Snapshot,
  params: CurrentImbalanceParams,
  now: number,
): DetectorResult<ConditionState> {
  const phases = LINE_PHASES.flatMap((p) => {
    const i = currentOf(values, p);
    return i === undefined ? [] : [{ p, i }];
  });
  let max = 0;
  let min = Number.POSITIVE_INFINITY;
  for (const { i } of phases) {
    max = Math.max(max, i);
    min = Math.min(min, i);
  }
  const pct = max > 0 ? ((max - min) / max) * 100 : 0;
  let level: Level = 'unknown';
  if (phases.length >= 2) {
    level = max < params.minLoadA ? 'normal' : levelAbove(pct, params.maxImbalancePct, params.hysteresisPct);
  }
  return step(state, {
    level,
    value: pct,
    describe: (kind) => {
      const detail = `(${phases.map(({ p, i }) => `${phaseLabel(p)} ${amps(i)}`).join(', ')})`;
      if (kind === 'raise') {
        return `phase current imbalance ${formatPct(pct)} ${detail} is over the limit ${formatPct(params.maxImbalancePct)}`;
      }
      if (max < params.minLoadA) {
        return `phase current imbalance no longer judged: load under ${amps(params.minLoadA)} ${detail}`;
      }
      return `phase current imbalance ${formatPct(pct)} ${detail} is back at or under ${formatPct(params.maxImbalancePct - params.hysteresisPct)}`;
    },
  }, now, params);
}

function amps(a: number): string {
  return formatValue(a, 1, 'A');
}
