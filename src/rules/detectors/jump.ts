/**
 * Sudden jump against the recent baseline. The baseline is an exponentially weighted moving
 * average (EWMA) of the value with an EWMA of the absolute deviation as its spread, both O(1)
 * state that serialises as four numbers. A deviation counts as a jump when it exceeds both
 * `k` spreads and `minDeviation`, so a flat signal does not alarm on its first wobble.
 */
import Type, { type Static } from 'typebox';
import { QuantityName } from '../../config/schema.js';
import { QUANTITIES } from '../../domain/quantity.js';
import { TimingFields, initialCondition, isRaised, step, type ConditionState, type DetectorResult, type Level } from './condition.js';
import { say, term, value as valueArg, type ExplanationArg } from '../explanation.js';

export const SuddenJumpParams = Type.Object(
  {
    /** The quantity judged; names the unit in explanations. */
    quantity: QuantityName,
    /** EWMA weight of a new value, 0 < alpha <= 1 (0.2 ≈ the last ~10 values). */
    alpha: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.2 }),
    /** A jump deviates from the baseline by more than `k` times the usual deviation... */
    k: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 4 }),
    /** ...and by more than this, in the quantity's unit. */
    minDeviation: Type.Number({ exclusiveMinimum: 0, maximum: 1e9 }),
    /** The alarm clears at or below this share of the threshold below it, %. */
    hysteresisPct: Type.Number({ minimum: 0, maximum: 100, default: 20 }),
    /** Values needed to build a baseline before anything is judged. */
    warmupSamples: Type.Integer({ minimum: 1, maximum: 10_000, default: 8 }),
    ...TimingFields,
  },
  { additionalProperties: false },
);
export type SuddenJumpParams = Static<typeof SuddenJumpParams>;

export interface JumpState {
  readonly condition: ConditionState;
  /** EWMA of the value; null before the first value. */
  readonly mean: number | null;
  /** EWMA of |value - mean|. */
  readonly spread: number;
  readonly count: number;
}

export function initialJumpState(): JumpState {
  return { condition: initialCondition(), mean: null, spread: 0, count: 0 };
}

export function detectSuddenJump(
  state: JumpState,
  value: number,
  params: SuddenJumpParams,
  now: number,
): DetectorResult<JumpState> {
  if (state.condition.lastAt !== null && now < state.condition.lastAt) return { state };
  const { mean, spread } = state;
  const threshold = Math.max(params.k * spread, params.minDeviation);
  const deviation = mean === null ? 0 : value - mean;
  let level: Level = 'unknown';
  if (mean !== null && state.count >= params.warmupSamples) {
    const d = Math.abs(deviation);
    if (d > threshold) level = 'breach';
    else level = d <= threshold * (1 - params.hysteresisPct / 100) ? 'normal' : 'hold';
  }
  const unit = QUANTITIES[params.quantity].unit;
  const fmt = (v: number) => valueArg(v, 2, unit);
  const r = step(state.condition, {
    level,
    value,
    describe: (kind) => kind === 'raise'
      ? say('sudden-jump.raise')`sudden jump in ${term(params.quantity)}: ${fmt(value)} against a recent baseline of ${fmt(mean ?? 0)} (${deviation > 0 ? '+' : ''}${fmt(deviation)}, ${times(Math.abs(deviation) / Math.max(spread, Number.EPSILON))}x the usual deviation ${fmt(spread)}; threshold ${fmt(threshold)})`
      : say('sudden-jump.clear')`${term(params.quantity)} ${fmt(value)} is back near its baseline ${fmt(mean ?? 0)}`,
  }, now, params);
  // An unconfirmed jump does not feed the baseline, or a pending jump would erode its own
  // evidence; once raised, the baseline follows so that a lasting new level clears in time.
  const freeze = level === 'breach' && !isRaised(r.state);
  const next: JumpState = freeze
    ? { ...state, condition: r.state }
    : mean === null
      ? { condition: r.state, mean: value, spread: 0, count: 1 }
      : {
          condition: r.state,
          mean: mean + params.alpha * (value - mean),
          spread: spread + params.alpha * (Math.abs(value - mean) - spread),
          count: Math.min(state.count + 1, params.warmupSamples),
        };
  return r.event === undefined ? { state: next } : { state: next, event: r.event };
}

/** A multiple, whole from 10 up: `3.2`, `101`. */
function times(ratio: number): ExplanationArg {
  return valueArg(ratio, ratio >= 10 ? 0 : 1, '');
}
