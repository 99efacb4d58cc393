/**
 * What a tariff is asked to charge (a usage) and what it answers (a charge with its lines),
 * with the shared steps: checking a usage, cutting intervals into pieces with their Wh
 * apportioned exactly, and pricing a line.
 */
import { TariffUsageError } from './errors.js';
import { amountOf, formatScaled, priceMicros } from './money.js';

/** Intervals one usage may carry: a year of 15-minute intervals with room to spare. */
export const MAX_USAGE_INTERVALS = 100_000;

export interface UsageInterval {
  /** ms since the epoch, inclusive. */
  readonly start: number;
  /** ms since the epoch, exclusive. */
  readonly end: number;
  /** Active import energy of the interval, integer Wh (see kwhToWh for register kWh). */
  readonly importWh: number;
}

export interface Usage {
  readonly from: number;
  readonly to: number;
  /** In time order, end to start, covering exactly [from, to). */
  readonly intervals: readonly UsageInterval[];
  /** Tiered: Wh already charged in the cycle `from` lies in, before `from`; 0 when absent. */
  readonly cycleToDateWh?: number;
  /** Two-part with a power-factor standard: reactive energy of the month, integer varh. */
  readonly reactiveVarh?: number;
  /** Two-part by demand: the month's maximum demand, integer W. */
  readonly maxDemandW?: number;
}

export type ChargeLineKind = 'energy' | 'basic' | 'power-factor';

/** One priced line: amountMinor = quantity × price, rounded once, half away from zero. */
export interface ChargeLine {
  readonly kind: ChargeLineKind;
  /** English, e.g. `energy, peak`, `energy, tier 2`, `basic charge, contracted capacity`. */
  readonly label: string;
  /** TOU bucket of an energy line. */
  readonly bucket?: string;
  /** Tier of a tiered energy line, 1 for the first. */
  readonly tier?: number;
  /** The first and last moment that went into the line. */
  readonly from: number;
  readonly to: number;
  /** Decimal string: kWh for energy, kVA or kW for basic, the adjusted amount in currency units for power-factor. */
  readonly quantity: string;
  /** `kWh`, `kVA-month`, `kW-month`, or the currency code for power-factor. */
  readonly unit: string;
  /** Decimal string: currency units per unit; the power-factor rate (0.0250 = +2.5 %) for power-factor. */
  readonly price: string;
  readonly amountMinor: number;
}

/** The month's power factor and its adjustment (两部制 with a standard). */
export interface PowerFactorExplanation {
  readonly activeWh: number;
  readonly reactiveVarh: number;
  /** cos φ = P / √(P² + Q²), rounded to two decimals half up as the rules say: `0.85`. */
  readonly value: string;
  /** `0.90`, `0.85` or `0.80`. */
  readonly standard: string;
  /** Rate applied to basic + energy charges: `0.0250` surcharge, `-0.0075` reduction. */
  readonly rate: string;
}

export interface Charge {
  readonly tariffId: string;
  readonly currency: string;
  readonly from: number;
  readonly to: number;
  /** The sum of the lines' amounts. */
  readonly amountMinor: number;
  readonly lines: readonly ChargeLine[];
  readonly powerFactor?: PowerFactorExplanation;
}

/** A stretch of an interval with its share of the interval's Wh. */
export interface EnergyPiece {
  readonly start: number;
  readonly end: number;
  /** Whole Wh; a usage's total is at most 2⁵³ − 1 (checkUsage), so sums of them are exact. */
  readonly wh: number;
  readonly bucket?: string;
}

/** Throws TariffUsageError naming the field when `u` cannot be charged. */
export function checkUsage(u: Usage): void {
  integer(u.from, 'from');
  integer(u.to, 'to');
  if (u.from >= u.to) throw new TariffUsageError('to', 'empty-period', 'must be after from');
  if (u.intervals.length === 0) throw new TariffUsageError('intervals', 'no-intervals', 'give at least one interval covering the period');
  if (u.intervals.length > MAX_USAGE_INTERVALS) throw new TariffUsageError('intervals', 'too-many-intervals', `at most ${MAX_USAGE_INTERVALS} intervals per usage`);
  let expected = u.from;
  let total = 0;
  u.intervals.forEach((iv, i) => {
    const f = `intervals[${i}]`;
    integer(iv.start, `${f}.start`);
    integer(iv.end, `${f}.end`);
    nonNegative(iv.importWh, `${f}.importWh`);
    if (iv.start !== expected) {
      throw new TariffUsageError(`${f}.start`, 'not-covering', i === 0 ? 'the first interval must start at from' : 'must equal the previous interval\'s end: intervals cover the period without gaps or overlaps');
    }
    if (iv.end <= iv.start) throw new TariffUsageError(`${f}.end`, 'empty-interval', 'must be after start');
    expected = iv.end;
    total += iv.importWh;
    if (total > Number.MAX_SAFE_INTEGER) throw new TariffUsageError(`${f}.importWh`, 'bad-quantity', 'the intervals hold more energy than one usage may (2⁵³ − 1 Wh)');
  });
  if (expected !== u.to) throw new TariffUsageError(`intervals[${u.intervals.length - 1}].end`, 'not-covering', 'the last interval must end at to');
  if (u.cycleToDateWh !== undefined) nonNegative(u.cycleToDateWh, 'cycleToDateWh');
  if (u.reactiveVarh !== undefined) nonNegative(u.reactiveVarh, 'reactiveVarh');
  if (u.maxDemandW !== undefined) nonNegative(u.maxDemandW, 'maxDemandW');
}

/**
 * Cuts each interval where `cut` says and gives each piece its share of the interval's Wh in
 * proportion to time, exactly: whole Wh by floor, then the Wh left over one each to the
 * pieces with the largest remainders (the earlier piece on a tie), so the pieces sum to the
 * interval.
 */
export function piecesOf(intervals: readonly UsageInterval[], cut: (start: number, end: number) => readonly { start: number; end: number; bucket?: string }[]): EnergyPiece[] {
  const out: EnergyPiece[] = [];
  for (const iv of intervals) {
    const parts = cut(iv.start, iv.end);
    if (parts.length === 1) {
      const p = parts[0];
      if (p !== undefined) out.push({ start: p.start, end: p.end, wh: iv.importWh, ...(p.bucket === undefined ? {} : { bucket: p.bucket }) });
      continue;
    }
    const shares = apportion(iv.importWh, parts.map((p) => p.end - p.start));
    parts.forEach((p, i) => { out.push({ start: p.start, end: p.end, wh: shares[i] ?? 0, ...(p.bucket === undefined ? {} : { bucket: p.bucket }) }); });
  }
  return out;
}

/** `total` Wh split in proportion to `weights` (positive integers), largest remainder, ties to the earlier. */
export function apportion(total: number, weights: readonly number[]): number[] {
  // total × weight may pass 2⁵³ (Wh × ms): BigInt.
  const t = BigInt(total);
  const sum = BigInt(weights.reduce((a, b) => a + b, 0));
  const floors = weights.map((w) => (t * BigInt(w)) / sum);
  let left = t - floors.reduce((a, b) => a + b, 0n);
  const order = weights.map((w, i) => ({ i, r: (t * BigInt(w)) % sum })).sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    floors[i] = (floors[i] ?? 0n) + 1n;
    left -= 1n;
  }
  return floors.map(Number);
}

/** An energy line: `wh` at `price` per kWh. */
export function energyLine(o: { label: string; bucket?: string; tier?: number; from: number; to: number; wh: number | bigint; price: string; digits: number }): ChargeLine {
  return {
    kind: 'energy', label: o.label,
    ...(o.bucket === undefined ? {} : { bucket: o.bucket }),
    ...(o.tier === undefined ? {} : { tier: o.tier }),
    from: o.from, to: o.to, quantity: formatScaled(BigInt(o.wh), 3), unit: 'kWh', price: o.price,
    amountMinor: safeAmount(amountOf(BigInt(o.wh), priceMicros(o.price), o.digits)),
  };
}

/** An amount that fits a JSON number exactly, or a usage error (absurd consumption). */
export function safeAmount(amount: bigint): number {
  if (amount > BigInt(Number.MAX_SAFE_INTEGER) || amount < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TariffUsageError('intervals', 'amount-too-large', 'the charge exceeds what an amount in minor units can hold');
  }
  return Number(amount);
}

export function totalOf(tariffId: string, currency: string, u: Usage, lines: readonly ChargeLine[], powerFactor?: PowerFactorExplanation): Charge {
  return {
    tariffId, currency, from: u.from, to: u.to,
    amountMinor: safeAmount(lines.reduce((a, l) => a + BigInt(l.amountMinor), 0n)),
    lines,
    ...(powerFactor === undefined ? {} : { powerFactor }),
  };
}

function integer(v: number, field: string): void {
  if (!Number.isSafeInteger(v)) throw new TariffUsageError(field, 'not-an-integer', 'must be an integer (ms since the epoch)');
}

function nonNegative(v: number, field: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new TariffUsageError(field, 'bad-quantity', 'must be a non-negative integer');
}
