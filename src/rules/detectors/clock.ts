/** Meter clock drift over a limit, from `clock.drift` (meter minus station, seconds). */
import Type, { type Static } from 'typebox';
import { TimingFields, levelAbove, step, type ConditionState, type DetectorResult } from './condition.js';
import { clause, duration, say, value } from '../explanation.js';

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
  const s = value(Math.round(Math.abs(driftS)), 0, 's');
  const size = clause(Math.abs(driftS) >= 60 ? say('clock-drift.size')`${s} (${duration(Math.abs(driftS) * 1000)})` : say('clock-drift.seconds')`${s}`);
  const side = clause(driftS >= 0 ? say('clock-drift.ahead')`ahead of` : say('clock-drift.behind')`behind`);
  return step(state, {
    level: levelAbove(Math.abs(driftS), params.maxDriftS, params.hysteresisS),
    value: driftS,
    describe: (kind) => kind === 'raise'
      ? say('clock-drift.raise')`meter clock ${size} ${side} station time (limit ${value(Math.round(params.maxDriftS), 0, 's')})`
      : say('clock-drift.clear')`meter clock back within ${value(Math.round(params.maxDriftS - params.hysteresisS), 0, 's')} of station time (${size} ${side})`,
  }, now, params);
}
