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
import { formatNumber, formatPct, formatValue } from './format.js';
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
      const p = `power ${kw(powerKw)}`;
      if (kind === 'raise') {
        return `${p} is over the limit ${kw(limitKw)} (${formatPct(((powerKw - limitKw) / limitKw) * 100)} over)`;
      }
      return `${p} is back under ${kw(limitKw - hysteresisKw)} (limit ${kw(limitKw)})`;
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
      ? `reverse power: ${kw(-powerKw)} flowing out (power ${kw(powerKw)}, limit ${kw(-thresholdKw)})`
      : `reverse power ended: power ${kw(powerKw)} (clears at or above ${kw(-thresholdKw + hysteresisKw)})`,
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
      const at = `at ${kw(load ?? 0)}`;
      if (kind === 'raise') {
        return `power factor ${formatNumber(pf, 2)} is below the limit ${formatNumber(params.minPowerFactor, 2)} ${at}`;
      }
      if (load !== undefined && Math.abs(load) < params.minLoadKw) {
        return `power factor no longer judged: load ${kw(load)} is under the minimum ${kw(params.minLoadKw)}`;
      }
      return `power factor ${formatNumber(pf, 2)} is back at or above ${formatNumber(params.minPowerFactor + params.hysteresis, 2)} ${at}`;
    },
  }, now, params);
}

function kw(value: number): string {
  return formatValue(value, Math.abs(value) < 10 ? 2 : 1, 'kW');
}
