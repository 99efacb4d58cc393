/**
 * Active-power detectors: over a kW limit, reverse flow, and low power factor under load.
 * All power values are primary-side kW (`power.active`, catalogue sign: positive = import).
 */
import Type, { type Static } from 'typebox';
import {
  TimingFields,
  levelAbove,
  levelBelow,
  step,
  type ConditionState,
  type DetectorResult,
  type Level,
} from './condition.js';
import { pct, say, value, type ExplanationArg } from '../explanation.js';
import type { Snapshot } from './snapshot.js';

const strict = { additionalProperties: false } as const;

export const PowerOverLimitParams = Type.Object(
  {
    /** Alarm when power exceeds this, kW. */
    limitKw: Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
    /** The alarm clears only at or below `limitKw - hysteresisKw`. */
    hysteresisKw: Type.Number({ minimum: 0, maximum: 1e7, default: 0 }),
    ...TimingFields,
  },
  strict,
);
export type PowerOverLimitParams = Static<typeof PowerOverLimitParams>;

/** `power.active` (kW) over `limitKw` for `forMs`. */
export function detectPowerOverLimit(
  state: ConditionState,
  powerKw: number,
  params: PowerOverLimitParams,
  now: number,
): DetectorResult<ConditionState> {
  const { limitKw, hysteresisKw } = params;
  return step(state, {
    level: levelAbove(powerKw, limitKw, hysteresisKw),
    value: powerKw,
    describe: (kind) => {
      if (kind === 'raise') {
        return say('power-over-limit.raise')`power ${kw(powerKw)} is over the limit ${kw(limitKw)} (${pct(((powerKw - limitKw) / limitKw) * 100)} over)`;
      }
      return say('power-over-limit.clear')`power ${kw(powerKw)} is back under ${kw(limitKw - hysteresisKw)} (limit ${kw(limitKw)})`;
    },
  }, now, params);
}

export const ReversePowerParams = Type.Object(
  {
    /** Alarm when power is below minus this, kW (export beyond noise). */
    thresholdKw: Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
    /** The alarm clears only once reverse flow is at most `thresholdKw - hysteresisKw`. */
    hysteresisKw: Type.Number({ minimum: 0, maximum: 1e7, default: 0 }),
    ...TimingFields,
  },
  strict,
);
export type ReversePowerParams = Static<typeof ReversePowerParams>;

/** `power.active` below `-thresholdKw` for `forMs`: energy flowing out of a consumer meter. */
export function detectReversePower(
  state: ConditionState,
  powerKw: number,
  params: ReversePowerParams,
  now: number,
): DetectorResult<ConditionState> {
  const { thresholdKw, hysteresisKw } = params;
  return step(state, {
    level: levelBelow(powerKw, -thresholdKw, hysteresisKw),
    value: powerKw,
    describe: (kind) => kind === 'raise'
      ? say('reverse-power.raise')`reverse power: ${kw(-powerKw)} flowing out (power ${kw(powerKw)}, limit ${kw(-thresholdKw)})`
      : say('reverse-power.clear')`reverse power ended: power ${kw(powerKw)} (clears at or above ${kw(-thresholdKw + hysteresisKw)})`,
  }, now, params);
}

export const LowPowerFactorParams = Type.Object(
  {
    /** Alarm when |power factor| is below this. */
    minPowerFactor: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    /** The alarm clears only at or above `minPowerFactor + hysteresis`. */
    hysteresis: Type.Number({ minimum: 0, maximum: 1, default: 0.02 }),
    /** Below this |active power| (kW) the power factor means nothing; the condition is absent. */
    minLoadKw: Type.Number({ minimum: 0, maximum: 1e7, default: 0 }),
    ...TimingFields,
  },
  strict,
);
export type LowPowerFactorParams = Static<typeof LowPowerFactorParams>;

/**
 * `power.factor` below a limit while `power.active` is above a minimum load. The magnitude is
 * used: meters differ on the sign convention for leading or exporting power factor.
 */
export function detectLowPowerFactor(
  state: ConditionState,
  values: Snapshot,
  params: LowPowerFactorParams,
  now: number,
): DetectorResult<ConditionState> {
  const pfRaw = values['power.factor'];
  const load = values['power.active'];
  const pf = pfRaw === undefined ? Number.NaN : Math.abs(pfRaw);
  let level: Level = 'unknown';
  if (pfRaw !== undefined && load !== undefined) {
    level = Math.abs(load) < params.minLoadKw ? 'normal' : levelBelow(pf, params.minPowerFactor, params.hysteresis);
  }
  return step(state, {
    level,
    value: pf,
    describe: (kind) => {
      if (kind === 'raise') {
        return say('low-power-factor.raise')`power factor ${value(pf, 2, '')} is below the limit ${value(params.minPowerFactor, 2, '')} at ${kw(load ?? 0)}`;
      }
      if (load !== undefined && Math.abs(load) < params.minLoadKw) {
        return say('low-power-factor.unjudged')`power factor no longer judged: load ${kw(load)} is under the minimum ${kw(params.minLoadKw)}`;
      }
      return say('low-power-factor.clear')`power factor ${value(pf, 2, '')} is back at or above ${value(params.minPowerFactor + params.hysteresis, 2, '')} at ${kw(load ?? 0)}`;
    },
  }, now, params);
}

function kw(v: number): ExplanationArg {
  return value(v, Math.abs(v) < 10 ? 2 : 1, 'kW');
}
