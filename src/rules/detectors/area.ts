/**
 * Area detectors: transformer overload, area line loss (台区线损) and abnormal area. Pure
 * like the meter detectors: the engine gathers the area's figures (sums, register deltas,
 * open alarms) and passes them in; these decide and explain.
 */
import Type, { type Static } from 'typebox';
import { QUANTITY_NAMES, type Quantity } from '../../domain/quantity.js';
import { OneOf } from '../../config/schema.js';
import { TimingFields, levelAbove, step, type ConditionState, type DetectorResult, type Level } from './condition.js';
import { clause, duration, list, pct as pctArg, say, term, value, type ExplanationArg } from '../explanation.js';

const strict = { additionalProperties: false } as const;
const MAX_FRESH_MS = 24 * 3600 * 1000;

export const TransformerOverloadParams = Type.Object(
  {
    /** Limit in kW; when absent, the area's `transformerKva` × `station.transformerPowerFactor`. */
    limitKw: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e7 })),
    /** Superseded by `station.transformerPowerFactor`; accepted only when equal to it (RuleService). */
    powerFactor: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    /** Alarm when the load exceeds this share of the limit, %. */
    maxLoadPct: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 100 }),
    /** The alarm clears only at or below `maxLoadPct - hysteresisPct`. */
    hysteresisPct: Type.Number({ minimum: 0, maximum: 100, default: 5 }),
    /** The area's supply (total) meter: its power is the load; otherwise the customer meters are summed. */
    supplyMeter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Superseded by `station.areaLoadFreshMs`; accepted only when equal to it (RuleService). */
    freshMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: MAX_FRESH_MS })),
    /** Below this share of the meters reporting, the sum is not judged (unknown), %. */
    minReportingPct: Type.Number({ minimum: 0, maximum: 100, default: 80 }),
    ...TimingFields,
  },
  strict,
);
export type TransformerOverloadParams = Static<typeof TransformerOverloadParams>;

/** What the engine measured for one area at one instant. */
export interface AreaLoadInput {
  readonly areaName: string;
  /** kW limit the detector judges against (configured or from the transformer rating). */
  readonly limitKw: number;
  /** How the limit was obtained, for the explanation: "400 kVA × PF 0.90". */
  readonly limitBasis: ExplanationArg;
  readonly loadKw: number;
  readonly reporting: number;
  readonly meters: number;
}

export function detectTransformerOverload(
  state: ConditionState,
  input: AreaLoadInput,
  params: TransformerOverloadParams,
  now: number,
): DetectorResult<ConditionState> {
  const loadPct = (input.loadKw / input.limitKw) * 100;
  const share = input.meters === 0 ? 0 : (input.reporting / input.meters) * 100;
  const level: Level = input.meters === 0 || share < params.minReportingPct
    ? 'unknown'
    : levelAbove(loadPct, params.maxLoadPct, params.hysteresisPct);
  return step(state, {
    level,
    value: input.loadKw,
    describe: (kind) => kind === 'raise'
      ? say('transformer-overload.raise')`transformer overload in ${input.areaName}: load ${kw(input.loadKw)} is ${pctArg(loadPct)} of ${kw(input.limitKw)} (${input.limitBasis}; bound ${pctArg(params.maxLoadPct)}; ${count(input.reporting)} of ${count(input.meters)} meters reporting)`
      : say('transformer-overload.clear')`transformer load in ${input.areaName} back to ${kw(input.loadKw)}, ${pctArg(loadPct)} of ${kw(input.limitKw)} (clears at or under ${pctArg(params.maxLoadPct - params.hysteresisPct)})`,
  }, now, params);
}

const RegisterName = OneOf<Quantity>(QUANTITY_NAMES.filter((q) => q.startsWith('energy.')), { default: 'energy.active.import' });

export const AreaLineLossParams = Type.Object(
  {
    /** The area's supply (total) meter; every other meter of the area is a customer. */
    supplyMeter: Type.String({ minLength: 1, maxLength: 64 }),
    register: RegisterName,
    /** Length of one loss interval, ms. */
    intervalMs: Type.Integer({ minimum: 60_000, maximum: 31 * 24 * 3600 * 1000, default: 24 * 3600 * 1000 }),
    /** A register value counts for an interval's start or end only if read at most this long before it, ms. */
    maxReadingAgeMs: Type.Integer({ minimum: 1000, maximum: 24 * 3600 * 1000, default: 15 * 60_000 }),
    /** Loss below this is out of bounds (negative loss: a customer meter or the mapping is wrong), %. */
    minLossPct: Type.Number({ minimum: -100, maximum: 100, default: -1 }),
    /** Loss above this is out of bounds (theft, faults), %. */
    maxLossPct: Type.Number({ minimum: -100, maximum: 100, default: 10 }),
    /** The alarm clears only this many points inside the bounds, %. */
    hysteresisPct: Type.Number({ minimum: 0, maximum: 100, default: 1 }),
    ...TimingFields,
  },
  strict,
);
export type AreaLineLossParams = Static<typeof AreaLineLossParams>;

/** Register advances over one interval; `missing` names meters without a start and end value. */
export interface LineLossInput {
  readonly areaName: string;
  readonly intervalMs: number;
  /** Supply meter's advance, or undefined when it lacks a start or end value. */
  readonly supplyDelta: number | undefined;
  readonly customersDelta: number;
  readonly customers: number;
  readonly missing: readonly string[];
}

/**
 * Line loss % = (supply - Σ customers) / supply over one interval. Incomplete data (a meter
 * without both ends of the interval, or a supply that did not advance) is unknown: a loss
 * computed from a partial sum would be a false alarm.
 */
export function detectAreaLineLoss(
  state: ConditionState,
  input: LineLossInput,
  params: AreaLineLossParams,
  now: number,
): DetectorResult<ConditionState> {
  const supply = input.supplyDelta;
  const complete = supply !== undefined && supply > 0 && input.missing.length === 0;
  const loss = complete ? ((supply - input.customersDelta) / supply) * 100 : Number.NaN;
  let level: Level = 'unknown';
  if (complete) {
    const { minLossPct: lo, maxLossPct: hi, hysteresisPct: band } = params;
    if (loss < lo || loss > hi) level = 'breach';
    else level = loss >= lo + band && loss <= hi - band ? 'normal' : 'hold';
  }
  const figures = clause(say('line-loss.figures')`supply ${kwh(supply ?? 0)}, customers ${kwh(input.customersDelta)} over ${duration(input.intervalMs)} (${count(input.customers)} customer meters)`);
  return step(state, {
    level,
    value: loss,
    describe: (kind) => {
      if (kind === 'clear') return say('line-loss.clear')`line loss in ${input.areaName} back within bounds: ${pctArg(loss)} (${figures})`;
      const side = clause(loss > params.maxLossPct
        ? say('line-loss.over')`over the bound ${pctArg(params.maxLossPct)}`
        : say('line-loss.under')`under the bound ${pctArg(params.minLossPct)}`);
      return say('line-loss.raise')`line loss in ${input.areaName} ${pctArg(loss)} is ${side} (${figures})`;
    },
  }, now, params);
}

export const AbnormalAreaParams = Type.Object(
  {
    /** Alarm when more than this share of the area's meters has an open alarm, %. */
    maxSharePct: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 30 }),
    /** The alarm clears only at or below `maxSharePct - hysteresisPct`. */
    hysteresisPct: Type.Number({ minimum: 0, maximum: 100, default: 5 }),
    /** Detectors whose open alarms count; empty: every meter detector. */
    detectors: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64, default: [] }),
    /** Areas with fewer meters are not judged (one meter in alarm is not an abnormal area). */
    minMeters: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5 }),
    ...TimingFields,
  },
  strict,
);
export type AbnormalAreaParams = Static<typeof AbnormalAreaParams>;

export interface AreaAlarmShare {
  readonly areaName: string;
  readonly meters: number;
  /** Meters with at least one counted open alarm. */
  readonly inAlarm: number;
  /** Open alarms per detector among the area's meters. */
  readonly byDetector: ReadonlyMap<string, number>;
}

export function detectAbnormalArea(
  state: ConditionState,
  input: AreaAlarmShare,
  params: AbnormalAreaParams,
  now: number,
): DetectorResult<ConditionState> {
  const sharePct = input.meters === 0 ? 0 : (input.inAlarm / input.meters) * 100;
  const level: Level = input.meters < params.minMeters ? 'unknown' : levelAbove(sharePct, params.maxSharePct, params.hysteresisPct);
  const counted = [...input.byDetector.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([d, n]) => clause(say('abnormal-area.count')`${term(d)} ×${count(n)}`));
  const counts = list(counted);
  const share = clause(say('abnormal-area.share')`${count(input.inAlarm)} of ${count(input.meters)} meters (${pctArg(sharePct)}) in alarm`);
  return step(state, {
    level,
    value: sharePct,
    describe: (kind) => kind === 'raise'
      ? say('abnormal-area.raise')`abnormal area ${input.areaName}: ${share}: ${counts}, bound ${pctArg(params.maxSharePct)}`
      : counted.length === 0
        ? say('abnormal-area.clear')`area ${input.areaName} back to normal: ${share}, clears at or under ${pctArg(params.maxSharePct - params.hysteresisPct)}`
        : say('abnormal-area.clear-counts')`area ${input.areaName} back to normal: ${share}: ${counts}, clears at or under ${pctArg(params.maxSharePct - params.hysteresisPct)}`,
  }, now, params);
}

function kw(v: number): ExplanationArg {
  return value(v, Math.abs(v) < 10 ? 2 : 1, 'kW');
}

function kwh(v: number): ExplanationArg {
  return value(v, 1, 'kWh');
}

function count(n: number): ExplanationArg {
  return value(n, 0, '');
}
