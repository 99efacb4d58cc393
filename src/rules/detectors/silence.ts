/**
 * Communication loss is judged from time alone: no data for N expected intervals. The
 * engine calls this on a timer for each meter, with the time of its last reading.
 */
import Type, { type Static } from 'typebox';
import { TimingFields, step, type ConditionState, type DetectorResult } from './condition.js';
import { checkSilence, DEFAULT_MISSED_INTERVALS } from '../freshness.js';
import { clause, duration, instant, say, value } from '../explanation.js';

/** The shared freshness rule (src/rules/freshness.ts) is what this detector judges. */
export { checkSilence, type SilenceVerdict } from '../freshness.js';

export const CommunicationLossParams = Type.Object(
  {
    /** How often data is expected (the poll or push interval), ms. */
    expectedIntervalMs: Type.Integer({ minimum: 1000, maximum: 7 * 24 * 3600 * 1000 }),
    /** Alarm after this many expected intervals without data. */
    missedIntervals: Type.Integer({ minimum: 1, maximum: 10_000, default: DEFAULT_MISSED_INTERVALS }),
    /** Data must keep arriving this long before the alarm clears, ms. */
    clearForMs: TimingFields.clearForMs,
  },
  { additionalProperties: false },
);
export type CommunicationLossParams = Static<typeof CommunicationLossParams>;

/**
 * What `lastSeenTs` is: the last reading received, or, for a meter never heard from, when it
 * was added to the station, when watching it started (the rule's start), or when this node of
 * a cluster took it over from another (its area moved here).
 */
export type SilenceBasis = 'reading' | 'added' | 'started' | 'taken';

/** Communication loss as an alarm: raises when silent, clears once data flows again. */
export function detectCommunicationLoss(
  state: ConditionState,
  lastSeenTs: number,
  params: CommunicationLossParams,
  now: number,
  basis: SilenceBasis = 'reading',
): DetectorResult<ConditionState> {
  const v = checkSilence(lastSeenTs, now, params.expectedIntervalMs, params.missedIntervals);
  const last = clause(basis === 'reading'
    ? say('communication-loss.last-reading')`last reading ${instant(lastSeenTs)}`
    : basis === 'added'
      ? say('communication-loss.since-added')`no reading since it was added at ${instant(lastSeenTs)}`
      : basis === 'taken'
        ? say('communication-loss.since-taken')`no reading since this node took it over at ${instant(lastSeenTs)}`
        : say('communication-loss.since-started')`no reading since monitoring started at ${instant(lastSeenTs)}`);
  return step(state, {
    level: v.silent ? 'breach' : 'normal',
    value: v.silentForMs,
    describe: (kind) => kind === 'raise'
      ? say('communication-loss.raise')`communication loss: no data for ${duration(v.silentForMs)} (${last}; expected every ${duration(params.expectedIntervalMs)}, ${value(v.missed, 0, '')} intervals missed, limit ${value(params.missedIntervals, 0, '')})`
      : say('communication-loss.clear')`communication restored: data received ${instant(lastSeenTs)}`,
  }, now, { forMs: 0, clearForMs: params.clearForMs });
}
