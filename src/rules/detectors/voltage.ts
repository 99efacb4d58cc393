/**
 * Per-phase voltage detectors: out of limits against nominal, and voltage loss (a phase
 * collapsed while the supply is otherwise present). The engine keeps one state per
 * (rule, meter, phase) and passes the meter's latest values.
 */
import Type, { type Static } from 'typebox';
import { TimingFields, levelBelow, step, type ConditionState, type DetectorResult, type Level } from './condition.js';
import { clause, list, pct, say, signedPct, value, type ExplanationArg, type ExplanationPart } from '../explanation.js';
import { phaseLabel } from './format.js';
import { currentOf, otherPhases, voltageOf, type PhaseInput } from './snapshot.js';

const strict = { additionalProperties: false } as const;
const Pct = (extra: { default?: number } = {}) => Type.Number({ minimum: 0, maximum: 100, ...extra });

export const VoltageLimitsParams = Type.Object(
  {
    /** Nominal phase-to-neutral voltage, V (primary side). */
    nominalV: Type.Number({ exclusiveMinimum: 0, maximum: 1e6 }),
    /** Alarm below nominal by more than this, % (e.g. 10 for -10%). */
    lowPct: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    /** Alarm above nominal by more than this, % (e.g. 10 for +10%). */
    highPct: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    /** The alarm clears only this many points inside the limits, % of nominal. */
    hysteresisPct: Pct({ default: 1 }),
    ...TimingFields,
  },
  strict,
);
export type VoltageLimitsParams = Static<typeof VoltageLimitsParams>;

/** `voltage.lN` outside nominal -lowPct..+highPct for `forMs`. */
export function detectVoltageOutOfLimits(
  state: ConditionState,
  input: PhaseInput,
  params: VoltageLimitsParams,
  now: number,
): DetectorResult<ConditionState> {
  const { nominalV, lowPct, highPct, hysteresisPct: band } = params;
  const v = voltageOf(input.values, input.phase);
  const dev = v === undefined ? Number.NaN : ((v - nominalV) / nominalV) * 100;
  let level: Level = 'unknown';
  if (v !== undefined) {
    if (dev < -lowPct || dev > highPct) level = 'breach';
    else level = dev >= -lowPct + band && dev <= highPct - band ? 'normal' : 'hold';
  }
  const phase = phaseLabel(input.phase);
  return step(state, {
    level,
    value: v ?? Number.NaN,
    describe: (kind) => {
      if (kind === 'raise') {
        return dev < 0
          ? say('voltage-out-of-limits.low')`voltage ${phase} ${volts(v ?? 0)} is ${pct(-dev)} below nominal ${volts(nominalV, 0)} (limit ${signedPct(-lowPct)})`
          : say('voltage-out-of-limits.high')`voltage ${phase} ${volts(v ?? 0)} is ${pct(dev)} above nominal ${volts(nominalV, 0)} (limit ${signedPct(highPct)})`;
      }
      return say('voltage-out-of-limits.clear')`voltage ${phase} ${volts(v ?? 0)} is back within limits (${signedPct(dev)} of nominal ${volts(nominalV, 0)}; clears inside ${signedPct(-lowPct + band)}..${signedPct(highPct - band)})`;
    },
  }, now, params);
}

export const VoltageLossParams = Type.Object(
  {
    nominalV: Type.Number({ exclusiveMinimum: 0, maximum: 1e6 }),
    /** A phase below this share of nominal has lost voltage, % (typically 60). */
    lossBelowPct: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 60 }),
    /** The alarm clears only at or above `lossBelowPct + hysteresisPct` of nominal. */
    hysteresisPct: Pct({ default: 10 }),
    /** Another phase at or above this share of nominal counts as present, %. */
    presentAbovePct: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 80 }),
    /** Current at or above this on the lost phase, A, shows the load is still connected. */
    currentAboveA: Type.Number({ exclusiveMinimum: 0, maximum: 1e6, default: 0.5 }),
    ...TimingFields,
  },
  strict,
);
export type VoltageLossParams = Static<typeof VoltageLossParams>;

/**
 * Voltage loss (loss of one phase's voltage input): `voltage.lN` under `lossBelowPct` of
 * nominal while another phase is present or current still flows on this one. When every
 * phase is down with no current, that is a supply outage, not voltage loss: the condition
 * is absent (outages are reported by device events and communication loss).
 */
export function detectVoltageLoss(
  state: ConditionState,
  input: PhaseInput,
  params: VoltageLossParams,
  now: number,
): DetectorResult<ConditionState> {
  const { nominalV, lossBelowPct, hysteresisPct, presentAbovePct, currentAboveA } = params;
  const v = voltageOf(input.values, input.phase);
  const i = currentOf(input.values, input.phase);
  const presentV = (nominalV * presentAbovePct) / 100;
  const presentOthers = otherPhases(input.values, input.phase, voltageOf).filter((o) => o >= presentV);
  const currentFlows = i !== undefined && i >= currentAboveA;
  let level: Level = 'unknown';
  if (v !== undefined) {
    level = levelBelow(v, (nominalV * lossBelowPct) / 100, (nominalV * hysteresisPct) / 100);
    if (level === 'breach' && presentOthers.length === 0 && !currentFlows) level = 'normal';
  }
  const label = phaseLabel(input.phase);
  return step(state, {
    level,
    value: v ?? Number.NaN,
    describe: (kind) => {
      const share = clause(v === undefined ? say('empty')`` : say('voltage-loss.share')` (${pct((v / nominalV) * 100)} of nominal ${volts(nominalV, 0)})`);
      if (kind === 'clear') {
        return v !== undefined && v < (nominalV * lossBelowPct) / 100
          ? say('voltage-loss.outage')`voltage loss ${label} no longer applies: all phases down and no current (supply outage?)`
          : say('voltage-loss.clear')`voltage ${label} restored: ${volts(v ?? 0)}${share}`;
      }
      const others = say('voltage-loss.others')`other phases present at ${list(presentOthers.map((o) => volts(o)))}`;
      const current = say('voltage-loss.current')`current ${value(i ?? 0, 1, 'A')} still flowing`;
      const evidence: ExplanationPart = presentOthers.length > 0 && currentFlows
        ? say('voltage-loss.both')`${clause(others)} and ${clause(current)}`
        : presentOthers.length > 0 ? others : currentFlows ? current : say('empty')``;
      return say('voltage-loss.raise')`voltage loss ${label}: ${volts(v ?? 0)}${share} is under ${pct(lossBelowPct)} of nominal while ${clause(evidence)}`;
    },
  }, now, params);
}

function volts(v: number, decimals = 1): ExplanationArg {
  return value(v, decimals, 'V');
}
