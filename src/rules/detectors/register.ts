/**
 * Energy-register detectors: zero consumption while the supply is present, register stuck
 * while power flows, and register going backwards. The window ("unchanged over N hours") is
 * judged here from the time of the last advance, not from the first reading that noticed.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../../config/schema.js';
import { QUANTITIES, QUANTITY_NAMES, type Quantity } from '../../domain/quantity.js';
import {
  TimingFields,
  initialCondition,
  step,
  type ConditionState,
  type DetectorResult,
  type Level,
} from './condition.js';
import { clause, duration, instant, list, say, term, value as valueArg, type ExplanationPart } from '../explanation.js';
import { phaseLabel } from './format.js';
import { LINE_PHASES, voltageOf, type Snapshot } from './snapshot.js';

const strict = { additionalProperties: false } as const;
const REGISTERS = QUANTITY_NAMES.filter((q) => q.startsWith('energy.'));
const RegisterName = OneOf<Quantity>(REGISTERS, { default: 'energy.active.import' });
const MAX_WINDOW_MS = 31 * 24 * 3600 * 1000;

/** The last time the register advanced (or the judging restarted), and its value then. */
export interface RegisterBaseline {
  readonly value: number;
  readonly at: number;
}

export interface RegisterState {
  readonly condition: ConditionState;
  readonly baseline: RegisterBaseline | null;
}

export function initialRegisterState(): RegisterState {
  return { condition: initialCondition(), baseline: null };
}

export const ZeroConsumptionParams = Type.Object(
  {
    register: RegisterName,
    /** The register must stay within this of its value (register unit) over the window. */
    toleranceKwh: Type.Number({ minimum: 0, maximum: 1e6, default: 0 }),
    /** How long the register must stay unchanged while voltage is present, ms. */
    windowMs: Type.Integer({ minimum: 60_000, maximum: MAX_WINDOW_MS, default: 24 * 3600 * 1000 }),
    /** Supply counts as present when any reported phase voltage is at or above this, V. */
    minVoltageV: Type.Number({ exclusiveMinimum: 0, maximum: 1e6 }),
    clearForMs: TimingFields.clearForMs,
  },
  strict,
);
export type ZeroConsumptionParams = Static<typeof ZeroConsumptionParams>;

/**
 * Zero consumption: the register has not advanced for `windowMs` while the supply was present
 * throughout (a vacant site, a bypass, a failed register). Any stretch without voltage restarts
 * the window; an advance clears the alarm (after `clearForMs`).
 */
export function detectZeroConsumption(
  state: RegisterState,
  values: Snapshot,
  params: ZeroConsumptionParams,
  now: number,
): DetectorResult<RegisterState> {
  const value = values[params.register];
  const present = LINE_PHASES.flatMap((p) => {
    const v = voltageOf(values, p);
    return v !== undefined && v >= params.minVoltageV ? [clause(say('phase-value')`${phaseLabel(p)} ${valueArg(v, 1, 'V')}`)] : [];
  });
  return judgeUnchanged(state, value, present.length > 0, params, now, (kind, b, unit, moved) => {
    if (kind === 'raise') {
      return say('zero-consumption.raise')`zero consumption: ${term(params.register)} unchanged at ${valueArg(b.value, 2, unit)} for ${duration(now - b.at)} (since ${instant(b.at)}) while voltage present (${list(present)})`;
    }
    return moved
      ? say('zero-consumption.clear')`consumption resumed: ${term(params.register)} now ${valueArg(b.value, 2, unit)}`
      : say('zero-consumption.unjudged')`zero consumption no longer judged: no phase voltage at or above ${valueArg(params.minVoltageV, 0, 'V')}`;
  });
}

export const RegisterStuckParams = Type.Object(
  {
    register: RegisterName,
    toleranceKwh: Type.Number({ minimum: 0, maximum: 1e6, default: 0 }),
    windowMs: Type.Integer({ minimum: 60_000, maximum: MAX_WINDOW_MS, default: 2 * 3600 * 1000 }),
    /** The register must advance while |power.active| is at or above this, kW. */
    minPowerKw: Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
    clearForMs: TimingFields.clearForMs,
  },
  strict,
);
export type RegisterStuckParams = Static<typeof RegisterStuckParams>;

/** Register stuck: unchanged for `windowMs` while power stayed at or above `minPowerKw`. */
export function detectRegisterStuck(
  state: RegisterState,
  values: Snapshot,
  params: RegisterStuckParams,
  now: number,
): DetectorResult<RegisterState> {
  const value = values[params.register];
  const power = values['power.active'];
  const loaded = power !== undefined && Math.abs(power) >= params.minPowerKw;
  return judgeUnchanged(state, value, loaded, params, now, (kind, b, unit, moved) => {
    if (kind === 'raise') {
      return say('register-stuck.raise')`register stuck: ${term(params.register)} unchanged at ${valueArg(b.value, 2, unit)} for ${duration(now - b.at)} (since ${instant(b.at)}) while power is ${valueArg(power ?? 0, 2, 'kW')}`;
    }
    return moved
      ? say('register-stuck.clear')`register moving again: ${term(params.register)} now ${valueArg(b.value, 2, unit)}`
      : say('register-stuck.unjudged')`register stuck no longer judged: power ${valueArg(power ?? 0, 2, 'kW')} is under ${valueArg(params.minPowerKw, 2, 'kW')}`;
  });
}

export const RegisterBackwardsParams = Type.Object(
  {
    register: RegisterName,
    /** Decreases up to this (register unit) are rounding noise, not a fault. */
    toleranceKwh: Type.Number({ minimum: 0, maximum: 1e6, default: 0.01 }),
    /** The register must keep from going backwards this long before the alarm clears, ms. */
    clearForMs: TimingFields.clearForMs,
  },
  strict,
);
export type RegisterBackwardsParams = Static<typeof RegisterBackwardsParams>;

/**
 * Register going backwards against the previous reading. The fault shows in one reading, so
 * it raises at once; it clears after the register has gone `clearForMs` without a decrease.
 */
export function detectRegisterBackwards(
  state: RegisterState,
  value: number,
  params: RegisterBackwardsParams,
  now: number,
): DetectorResult<RegisterState> {
  const prev = state.baseline;
  if (prev !== null && now < prev.at) return { state };
  const level: Level = prev === null ? 'unknown' : value < prev.value - params.toleranceKwh ? 'breach' : 'normal';
  const unit = QUANTITIES[params.register].unit;
  const r = step(state.condition, {
    level,
    value,
    describe: (kind) => kind === 'raise'
      ? say('register-backwards.raise')`${term(params.register)} went backwards from ${valueArg(prev?.value ?? 0, 2, unit)} to ${valueArg(value, 2, unit)} (${valueArg(value - (prev?.value ?? 0), 2, unit)}, tolerance ${valueArg(params.toleranceKwh, 2, unit)})`
      : say('register-backwards.clear')`${term(params.register)} no longer going backwards, now ${valueArg(value, 2, unit)}`,
  }, now, { forMs: 0, clearForMs: params.clearForMs });
  return withEvent({ condition: r.state, baseline: { value, at: now } }, r.event);
}

type Describe = (kind: 'raise' | 'clear', baseline: RegisterBaseline, unit: string, moved: boolean) => ExplanationPart;

function judgeUnchanged(
  state: RegisterState,
  value: number | undefined,
  active: boolean,
  params: ZeroConsumptionParams | RegisterStuckParams,
  now: number,
  describe: Describe,
): DetectorResult<RegisterState> {
  if (value === undefined || (state.baseline !== null && now < state.baseline.at)) return { state };
  const b = state.baseline;
  const moved = b === null || Math.abs(value - b.value) > params.toleranceKwh;
  // A moved register, or a stretch where the condition's premise is absent, restarts the window.
  const baseline: RegisterBaseline = moved || !active ? { value, at: now } : b;
  let level: Level = 'normal';
  if (!moved && active) level = now - baseline.at >= params.windowMs ? 'breach' : 'hold';
  const unit = QUANTITIES[params.register].unit;
  const r = step(state.condition, { level, value, describe: (kind) => describe(kind, baseline, unit, moved) }, now, {
    forMs: 0,
    clearForMs: params.clearForMs,
  });
  return withEvent({ condition: r.state, baseline }, r.event);
}

function withEvent<S>(state: S, event: DetectorResult<S>['event']): DetectorResult<S> {
  return event === undefined ? { state } : { state, event };
}
