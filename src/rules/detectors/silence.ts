/**
 * Communication loss is judged from time alone: no data for N expected intervals. The
 * engine calls this on a timer for each meter, with the time of its last reading.
 */
import Type, { type Static } from 'typebox';
import { TimingFields, step, type ConditionState, type DetectorResult } from './condition.js';
import { formatDuration, formatInstant } from './format.js';

export interface SilenceVerdict {
  readonly silent: boolean;
  /** Whole expected intervals elapsed without data. */
  readonly missed: number;
  readonly silentForMs: number;
}

/** `lastSeenTs`: last reading received (or, for a meter never heard from, when it was registered). */
export function checkSilence(
  lastSeenTs: number,
  now: number,
  expectedIntervalMs: number,
  missedIntervals: number,
): SilenceVerdict {
  const silentForMs = Math.max(0, now - lastSeenTs);
  const missed = Math.floor(silentForMs / expectedIntervalMs);
  return { silent: missed >= missedIntervals, missed, silentForMs };
}

export const CommunicationLossParams = Type.Object(
  {
    /** How often data is expected (the poll or push interval), ms. */
    expectedIntervalMs: Type.Integer({ minimum: 1000, maximum: 7 * 24 * 3600 * 1000 }),
    /** Alarm after this many expected intervals without data. */
    missedIntervals: Type.Integer({ minimum: 1, maximum: 10_000, default: 3 }),
    /** Data must keep arriving this long before the alarm clears, ms. */
    clearForMs: TimingFields.clearForMs,
  },
  { additionalProperties: false },
);
export type CommunicationLossParams = Static<typeof CommunicationLossParams>;

/** Communication loss as an alarm: raises when silent, clears once data flows again. */
export function detectCommunicationLoss(
  state: ConditionState,
  lastSeenTs: number,
  params: CommunicationLossParams,
  now: number,
): DetectorResult<ConditionState> {
  const v = checkSilence(lastSeenTs, now, params.expectedIntervalMs, params.missedIntervals);
  const every = formatDuration(params.expectedIntervalMs);
  return step(state, {
    level: v.silent ? 'breach' : 'normal',
    value: v.silentForMs,
    describe: (kind) => kind === 'raise'
      ? `communication loss: no data for ${formatDuration(v.silentForMs)} (last reading ${formatInstant(lastSeenTs, now)}; expected every ${every}, ${v.missed} intervals missed, limit ${params.missedIntervals})`
      : `communication restored: data received ${formatInstant(lastSeenTs, now)}`,
  }, now, { forMs: 0, clearForMs: params.clearForMs });
}
