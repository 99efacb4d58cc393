/**
 * Per-phase voltage detectors: out of limits against nominal, and voltage loss (a phase
 * collapsed while the supply is otherwise present). The engine keeps one state per
 * (rule, meter, phase) and passes the meter's latest values.
 */
import Type, { type Static } from 'typebox';
import { TimingFields, levelBelow, step, type ConditionState, type DetectorResult, type Level } from './condition.js';
import { formatPct, formatSignedPct, formatValue, phaseLabel } from './format.js';
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
  const name = `voltage ${phaseLabel(input.phase)} ${volts(v ?? 0)}`;
  return step(state, {
    level,
    value: v ?? Number.NaN,
    describe: (kind) => {
      const nominal = `nominal ${volts(nominalV, 0)}`;
      if (kind === 'raise') {
        return dev < 0
          ? `${name} is ${formatPct(-dev)} below ${nominal} (limit ${formatSignedPct(-lowPct)})`
          : `${name} is ${formatPct(dev)} above ${nominal} (limit ${formatSignedPct(highPct)})`;
      }
      const inside = `${formatSignedPct(-lowPct + band)}..${formatSignedPct(highPct - band)}`;
      return `${name} is back within limits (${formatSignedPct(dev)} of ${nominal}; clears inside ${inside})`;
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
      const pct = v === undefined ? '' : ` (${formatPct((v / nominalV) * 100)} of nominal ${volts(nominalV, 0)})`;
      if (kind === 'clear') {
        return v !== undefined && v < (nominalV * lossBelowPct) / 100
          ? `voltage loss ${label} no longer applies: all phases down and no current (supply outage?)`
          : `voltage ${label} restored: ${volts(v ?? 0)}${pct}`;
      }
      const evidence = [
        ...(presentOthers.length > 0 ? [`other phases present at ${presentOthers.map((o) => volts(o)).join(', ')}`] : []),
        ...(currentFlows ? [`current ${formatValue(i, 1, 'A')} still flowing`] : []),
      ].join(' and ');
      return `voltage loss ${label}: ${volts(v ?? 0)}${pct} is under ${formatPct(lossBelowPct)} of nominal while ${evidence}`;
    },
  }, now, params);
}

function volts(v: number, decimals = 1): string {
  return formatValue(v, decimals, 'V');
}
