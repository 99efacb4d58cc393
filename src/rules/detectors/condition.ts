/**
 * The condition state machine every detector shares: a condition must hold continuously for
 * `forMs` before it raises, and must be absent continuously for `clearForMs` before it
 * clears. Values inside the hysteresis band ("hold") neither start a raise nor a clear, so a
 * value flapping around the limit raises once and clears once.
 *
 * Pure and deterministic: time comes only from `now`, the state is a plain object the
 * engine can persist as JSON.
 */
import Type from 'typebox';
import { duration, instant, renderExplanation, say, type Explanation, type ExplanationPart } from '../explanation.js';

/**
 * What one observation says about the condition:
 * - `breach`: the condition holds (beyond the raise threshold);
 * - `normal`: the condition is absent (inside the clear threshold);
 * - `hold`: inside the hysteresis band, keeps whatever is going on;
 * - `unknown`: not enough data to judge (missing quantity, warm-up); the state is unchanged.
 */
export type Level = 'breach' | 'normal' | 'hold' | 'unknown';

export type ConditionPhase = 'idle' | 'pending' | 'active' | 'clearing';

export interface ConditionState {
  readonly phase: ConditionPhase;
  /** Start of the current `pending` or `clearing` stretch, else null. */
  readonly since: number | null;
  /** When the open alarm was raised (`active` and `clearing`), else null. */
  readonly raisedAt: number | null;
  /** Latest `now` seen; older observations are ignored so replays cannot rewind the state. */
  readonly lastAt: number | null;
}

export interface Observation {
  readonly level: Level;
  /** The value the event reports (the measured quantity, or the derived figure). */
  readonly value: number;
  /**
   * The clause that names the value and the limit, e.g. "voltage L2 184.0 V is 20% below
   * nominal 230 V (limit -10%)". Called only when an event is produced.
   */
  readonly describe: (kind: EventKind) => ExplanationPart;
}

export type EventKind = 'raise' | 'clear';

export interface DetectorEvent {
  readonly kind: EventKind;
  /** When the transition happened (the `now` of the deciding observation), ms since epoch. */
  readonly at: number;
  /** Start of the stretch that led to it (onset for a raise, return to normal for a clear). */
  readonly since: number;
  readonly value: number;
  /** The explanation in English, as logged and stored. */
  readonly explanation: string;
  /** The same as data, rendered in the reader's language (src/rules/explanation.ts). */
  readonly explanationData: Explanation;
}

export interface DetectorResult<S> {
  readonly state: S;
  readonly event?: DetectorEvent;
}

export interface Timing {
  readonly forMs: number;
  readonly clearForMs: number;
}

/** Seven days: longer durations are a configuration mistake, not a detector setting. */
const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;

/** TypeBox fields for the ON and OFF durations, spread into every detector's schema. */
export const TimingFields = {
  /** The condition must hold continuously this long before the alarm raises. */
  forMs: Type.Integer({ minimum: 0, maximum: MAX_DURATION_MS, default: 0 }),
  /** The condition must be absent continuously this long before the alarm clears. */
  clearForMs: Type.Integer({ minimum: 0, maximum: MAX_DURATION_MS, default: 0 }),
};

export const IDLE: ConditionState = Object.freeze({ phase: 'idle', since: null, raisedAt: null, lastAt: null });

export function initialCondition(): ConditionState {
  return IDLE;
}

/** Whether an alarm is open (raised and not yet cleared) in this state. */
export function isRaised(state: ConditionState): boolean {
  return state.phase === 'active' || state.phase === 'clearing';
}

/** Advance the machine by one observation made at `now`. */
export function step(
  state: ConditionState,
  obs: Observation,
  now: number,
  timing: Timing,
): DetectorResult<ConditionState> {
  if (obs.level === 'unknown' || (state.lastAt !== null && now < state.lastAt)) return { state };
  const s: ConditionState = { ...state, lastAt: now };
  switch (s.phase) {
    case 'idle':
      if (obs.level !== 'breach') return { state: s };
      return pending(s, obs, now, now, timing);
    case 'pending':
      // A raise needs the condition to hold continuously: anything else restarts the wait.
      if (obs.level !== 'breach') return { state: { ...s, phase: 'idle', since: null } };
      return pending(s, obs, s.since ?? now, now, timing);
    case 'active':
      if (obs.level !== 'normal') return { state: s };
      return clearing(s, obs, now, now, timing);
    case 'clearing':
      if (obs.level !== 'normal') return { state: { ...s, phase: 'active', since: null } };
      return clearing(s, obs, s.since ?? now, now, timing);
  }
}

function pending(
  s: ConditionState,
  obs: Observation,
  since: number,
  now: number,
  timing: Timing,
): DetectorResult<ConditionState> {
  if (now - since < timing.forMs) return { state: { ...s, phase: 'pending', since } };
  return {
    state: { phase: 'active', since: null, raisedAt: now, lastAt: now },
    event: event('raise', obs, since, now),
  };
}

function clearing(
  s: ConditionState,
  obs: Observation,
  since: number,
  now: number,
  timing: Timing,
): DetectorResult<ConditionState> {
  if (now - since < timing.clearForMs) return { state: { ...s, phase: 'clearing', since } };
  const ev = event('clear', obs, since, now, s.raisedAt);
  return { state: { phase: 'idle', since: null, raisedAt: null, lastAt: now }, event: ev };
}

function event(kind: EventKind, obs: Observation, since: number, now: number, raisedAt?: number | null): DetectorEvent {
  const parts = [obs.describe(kind)];
  if (now > since) parts.push(say('held')` for ${duration(now - since)} (since ${instant(since)})`);
  if (raisedAt !== null && raisedAt !== undefined) parts.push(raisedPart(raisedAt));
  return { kind, at: now, since, value: obs.value, ...explained(now, parts) };
}

/** `; raised 02:10:00Z`: the clause every clear ends with. */
export function raisedPart(raisedAt: number): ExplanationPart {
  return say('raised')`; raised ${instant(raisedAt)}`;
}

/** An event's explanation: the data and its English text. */
export function explained(ref: number, parts: readonly ExplanationPart[]): Pick<DetectorEvent, 'explanation' | 'explanationData'> {
  const explanationData: Explanation = { ref, parts };
  return { explanation: renderExplanation(explanationData, 'en'), explanationData };
}

/**
 * The level of a value against an upper limit with a hysteresis band: above `limit` is a
 * breach, at or below `limit - band` is normal, in between holds.
 */
export function levelAbove(value: number, limit: number, band: number): Level {
  if (value > limit) return 'breach';
  return value <= limit - band ? 'normal' : 'hold';
}

/** The mirror of `levelAbove`: below `limit` is a breach, at or above `limit + band` is normal. */
export function levelBelow(value: number, limit: number, band: number): Level {
  if (value < limit) return 'breach';
  return value >= limit + band ? 'normal' : 'hold';
}
