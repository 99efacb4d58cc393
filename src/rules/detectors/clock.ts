/** Meter clock drift over a limit, from `clock.drift` (meter minus station, seconds). */
import Type, { type Static } from 'typebox';
import { TimingFields, levelAbove, step, type ConditionState, type DetectorResult } from './condition.js';
import { formatDuration } from './format.js';

export const ClockDriftParams = Type.Object(
  {
    /** Alarm when |drift| exceeds this, s. */
    maxDriftS: Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
    /** The alarm clears only at or below `maxDriftS - hysteresisS`. */
    hysteresisS: Type.Number({ minimum: 0, maximum: 1e7, default: 5 }),
    ...TimingFields,
  },
  { additionalProperties: false },
);
export type ClockDriftParams = Static<typeof ClockDriftParams>;

export function detectClockDrift(
  state: ConditionState,
  driftS: number,
  params: ClockDriftParams,
  now: number,
): DetectorResult<ConditionState> {
  const side = driftS >= 0 ? 'ahead of' : 'behind';
  const size = `${Math.round(Math.abs(driftS))} s${Math.abs(driftS) >= 60 ? ` (${formatDuration(Math.abs(driftS) * 1000)})` : ''}`;
  return step(state, {
    level: levelAbove(Math.abs(driftS), params.maxDriftS, params.hysteresisS),
    value: driftS,
    describe: (kind) => kind === 'raise'
      ? `meter clock ${size} ${side} station time (limit ${Math.round(params.maxDriftS)} s)`
      : `meter clock back within ${Math.round(params.maxDriftS - params.hysteresisS)} s of station time (${size} ${side})`,
  }, now, params);
}
