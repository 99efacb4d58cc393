/**
 * Per-phase current detectors: current loss (one phase reads ~0 A while the others carry
 * load, typically an open or shorted CT circuit) and phase current imbalance.
 */
import Type, { type Static } from 'typebox';
import { TimingFields, levelAbove, step, type ConditionState, type DetectorResult, type Level } from './condition.js';
import { clause, list, pct, say, value, type ExplanationArg } from '../explanation.js';
import { phaseLabel } from './format.js';
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
      const load = clause(say('current-loss.others')`other phases at ${list(others.map((o) => amps(o)))}`);
      if (kind === 'raise') return say('current-loss.raise')`current loss ${label}: ${amps(i ?? 0)} while ${load}`;
      return i !== undefined && i <= lossBelowA
        ? say('current-loss.unloaded')`current loss ${label} no longer applies: ${load}, under ${amps(othersAboveA)} (load gone)`
        : say('current-loss.clear')`current ${label} restored: ${amps(i ?? 0)}`;
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
  const imbalance = max > 0 ? ((max - min) / max) * 100 : 0;
  let level: Level = 'unknown';
  if (phases.length >= 2) {
    level = max < params.minLoadA ? 'normal' : levelAbove(imbalance, params.maxImbalancePct, params.hysteresisPct);
  }
  return step(state, {
    level,
    value: imbalance,
    describe: (kind) => {
      const detail = list(phases.map(({ p, i }) => clause(say('phase-value')`${phaseLabel(p)} ${amps(i)}`)));
      if (kind === 'raise') {
        return say('current-imbalance.raise')`phase current imbalance ${pct(imbalance)} (${detail}) is over the limit ${pct(params.maxImbalancePct)}`;
      }
      if (max < params.minLoadA) {
        return say('current-imbalance.unjudged')`phase current imbalance no longer judged: load under ${amps(params.minLoadA)} (${detail})`;
      }
      return say('current-imbalance.clear')`phase current imbalance ${pct(imbalance)} (${detail}) is back at or under ${pct(params.maxImbalancePct - params.hysteresisPct)}`;
    },
  }, now, params);
}

function amps(a: number): ExplanationArg {
  return value(a, 1, 'A');
}
