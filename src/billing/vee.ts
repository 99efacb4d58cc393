/**
 * VEE (validation, estimation, editing) of cumulative energy registers, as pure functions
 * over sorted arrays: snapshots of a register at a boundary (frozen reads, interval edges),
 * deltas between boundaries with rollover and meter replacement handled, spike and
 * negative-delta checks against a baseline, and linear estimation of short gaps.
 * No clock, no store: the service feeds reads in, tests feed arrays in.
 */

/** `valid`: measured or interpolated between close reads; `estimated`: filled by VEE (raw kept beside); `suspect`: failed a check, raw value passed on; `missing`: nothing to report. */
export type ValueStatus = 'valid' | 'estimated' | 'suspect' | 'missing';
/** `profile`: a stored-profile entry at the boundary; `register`: a register read at the boundary (within tolerance); `interpolated`: between two reads. */
export type ValueSource = 'profile' | 'register' | 'interpolated';
export type VeeFlag = 'gap' | 'spike' | 'negative' | 'rollover' | 'replacement' | 'glitch';

export interface RegisterRead {
  readonly ts: number;
  readonly value: number;
}

/** A meter exchange: the old register ended at `oldFinal`, the new one started at `newInitial`, at `at` (ms). */
export interface MeterReplacement {
  readonly meterId: string;
  readonly at: number;
  readonly oldFinal: number;
  readonly newInitial: number;
}

export interface SnapshotOptions {
  /** A read this close to the boundary is taken as-is (not interpolated). */
  readonly toleranceMs: number;
  /** Interpolate only when there is a read within this bound on both sides; else `missing`. */
  readonly maxSpanMs: number;
  /** The register wraps to 0 at this value (10^digits, e.g. 1,000,000 for 999999.99); absent: never wraps. */
  readonly rolloverAt?: number;
  /** The meter keeps the stored profile whose capture time is this boundary. */
  readonly keepsProfile?: boolean;
  readonly replacements?: readonly MeterReplacement[];
}

export interface Snapshot {
  readonly ts: number;
  readonly value: number | null;
  readonly status: ValueStatus;
  readonly source: ValueSource | null;
}

export interface IntervalOptions {
  /** Gaps up to this length (ms) between known boundaries are estimated linearly; longer ones stay `missing`. */
  readonly maxEstimatedGapMs: number;
  /** A delta above `spikeFactor` × the median of the recent valid deltas is `suspect` … */
  readonly spikeFactor: number;
  /** … and above this absolute amount, so a near-idle meter's baseline does not flag ordinary use. */
  readonly spikeMinDelta: number;
  /** Recent valid deltas forming the baseline; fewer than 4 known: no spike check. */
  readonly baselineSize: number;
  readonly rolloverAt?: number;
  readonly replacements?: readonly MeterReplacement[];
}

export interface IntervalValue {
  readonly start: number;
  readonly end: number;
  readonly value: number | null;
  /** What was measured when the value was estimated or is suspect; null when nothing was. */
  readonly raw: number | null;
  readonly status: ValueStatus;
  readonly source: ValueSource | null;
  readonly flags: readonly VeeFlag[];
}

export type DeltaOutcome =
  | { readonly kind: 'ok'; readonly value: number; readonly flags: readonly VeeFlag[] }
  | { readonly kind: 'negative'; readonly value: number };

/**
 * The register value at `at` from the nearest reads on either side (reads sorted by ts,
 * `bad` ones already left out). A replacement between the two reads splits the line: the
 * old register runs to `oldFinal`, the new one starts at `newInitial`.
 */
export function snapshotAt(before: RegisterRead | undefined, after: RegisterRead | undefined, at: number, opts: SnapshotOptions): Snapshot {
  const exact = nearestWithin(before, after, at, opts.toleranceMs);
  if (exact !== undefined) return { ts: at, value: exact.value, status: 'valid', source: exact.ts === at && opts.keepsProfile === true ? 'profile' : 'register' };
  if (before === undefined || after === undefined || at - before.ts > opts.maxSpanMs || after.ts - at > opts.maxSpanMs) {
    return { ts: at, value: null, status: 'missing', source: null };
  }
  let lo = before;
  let hi = after;
  const r = replacementBetween(opts.replacements, before.ts, after.ts);
  if (r !== undefined) {
    if (at < r.at) hi = { ts: r.at, value: r.oldFinal };
    else lo = { ts: r.at, value: r.newInitial };
  }
  let hiValue = hi.value;
  const wraps = hiValue < lo.value && isRollover(lo.value, hiValue, opts.rolloverAt);
  if (wraps && opts.rolloverAt !== undefined) hiValue += opts.rolloverAt;
  let value = hi.ts === lo.ts ? lo.value : lo.value + ((hiValue - lo.value) * (at - lo.ts)) / (hi.ts - lo.ts);
  if (wraps && opts.rolloverAt !== undefined && value >= opts.rolloverAt) value -= opts.rolloverAt;
  // A register running backwards between the two reads gives no trustworthy value in between.
  const status: ValueStatus = hiValue < lo.value ? 'suspect' : 'valid';
  return { ts: at, value, status, source: 'interpolated' };
}

/** Snapshots at `from`, `from + stepMs`, … up to and including `to`, in one pass over sorted reads. */
export function boundarySeries(reads: readonly RegisterRead[], from: number, to: number, stepMs: number, opts: SnapshotOptions): Snapshot[] {
  const out: Snapshot[] = [];
  let i = 0;
  for (let t = from; t <= to; t += stepMs) {
    while (i < reads.length && (reads[i]?.ts ?? Infinity) <= t) i++;
    out.push(snapshotAt(reads[i - 1], reads[i], t, opts));
  }
  return out;
}

/**
 * The consumption between two register values: a replacement between them is accounted
 * per meter (old meter up to its final read, new one from its initial read); a drop near
 * the wrap value is a rollover; any other drop is `negative`.
 */
export function deltaBetween(a: { ts: number; value: number }, b: { ts: number; value: number }, rolloverAt: number | undefined, replacements?: readonly MeterReplacement[]): DeltaOutcome {
  const r = replacementBetween(replacements, a.ts, b.ts);
  if (r !== undefined) {
    const value = (r.oldFinal - a.value) + (b.value - r.newInitial);
    return value < 0 ? { kind: 'negative', value } : { kind: 'ok', value, flags: ['replacement'] };
  }
  const d = b.value - a.value;
  if (d >= 0) return { kind: 'ok', value: d, flags: [] };
  if (rolloverAt !== undefined && isRollover(a.value, b.value, rolloverAt)) return { kind: 'ok', value: b.value + rolloverAt - a.value, flags: ['rollover'] };
  return { kind: 'negative', value: d };
}

/**
 * Interval consumption from boundary snapshots (n + 1 boundaries → n intervals), with VEE:
 * a lone boundary off the line of its neighbours (a glitch) is replaced by their mean and
 * its two intervals estimated; runs of missing boundaries up to `maxEstimatedGapMs` are
 * estimated linearly; spikes and unexplained drops are `suspect` with the raw delta.
 */
export function validateIntervals(boundaries: readonly Snapshot[], opts: IntervalOptions): IntervalValue[] {
  const values = boundaries.map((b) => (b.status === 'missing' || b.status === 'suspect' ? null : b.value));
  const raws = boundaries.map((b) => b.value);
  const glitched = markGlitches(boundaries, values, opts);
  const out: IntervalValue[] = [];
  const baseline: number[] = [];
  for (let k = 0; k + 1 < boundaries.length; k++) {
    const a = boundaries[k];
    const b = boundaries[k + 1];
    if (a === undefined || b === undefined) break;
    const va = values[k] ?? null;
    const vb = values[k + 1] ?? null;
    if (va === null || vb === null) {
      k = fillGap(boundaries, values, k, opts, out) - 1;
      continue;
    }
    const d = deltaBetween({ ts: a.ts, value: va }, { ts: b.ts, value: vb }, opts.rolloverAt, opts.replacements);
    const source = weakest(a.source, b.source);
    if (glitched.has(k) || glitched.has(k + 1)) {
      const ra = raws[k] ?? va;
      const rb = raws[k + 1] ?? vb;
      out.push({ start: a.ts, end: b.ts, value: d.value, raw: rb - ra, status: 'estimated', source, flags: ['glitch'] });
      continue;
    }
    if (d.kind === 'negative') {
      out.push({ start: a.ts, end: b.ts, value: d.value, raw: d.value, status: 'suspect', source, flags: ['negative'] });
      continue;
    }
    if (isSpike(d.value, baseline, opts)) {
      out.push({ start: a.ts, end: b.ts, value: d.value, raw: d.value, status: 'suspect', source, flags: [...d.flags, 'spike'] });
      continue;
    }
    baseline.push(d.value);
    if (baseline.length > opts.baselineSize) baseline.shift();
    out.push({ start: a.ts, end: b.ts, value: d.value, raw: null, status: 'valid', source, flags: d.flags });
  }
  return out;
}

// ── helpers ────────────────────────────────────────────────────────────────

function nearestWithin(before: RegisterRead | undefined, after: RegisterRead | undefined, at: number, toleranceMs: number): RegisterRead | undefined {
  const db = before === undefined ? Infinity : at - before.ts;
  const da = after === undefined ? Infinity : after.ts - at;
  if (db <= da) return db <= toleranceMs ? before : undefined;
  return da <= toleranceMs ? after : undefined;
}

function replacementBetween(list: readonly MeterReplacement[] | undefined, from: number, to: number): MeterReplacement | undefined {
  return list?.find((r) => r.at > from && r.at <= to);
}

/** A drop from the top tenth of the register's range into its bottom tenth: the register wrapped. */
function isRollover(from: number, to: number, rolloverAt: number | undefined): boolean {
  return rolloverAt !== undefined && from >= rolloverAt * 0.9 && to >= 0 && to < rolloverAt * 0.1;
}

const RANK: Readonly<Record<ValueSource, number>> = { profile: 0, register: 1, interpolated: 2 };

/** The less direct of two sources (profile > register > interpolated); null when either is. */
export function weakest(a: ValueSource | null, b: ValueSource | null): ValueSource | null {
  if (a === null || b === null) return null;
  return RANK[a] >= RANK[b] ? a : b;
}

function isSpike(delta: number, baseline: readonly number[], opts: IntervalOptions): boolean {
  if (baseline.length < 4 || delta <= opts.spikeMinDelta) return false;
  const sorted = [...baseline].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return delta > opts.spikeFactor * median;
}

/**
 * Boundary k is a glitch when it breaks the order of neighbours that agree with each other
 * (v[k-1] ≤ v[k+1], no replacement or wrap between them): it is replaced in `values` by the
 * linear estimate, and its index returned.
 */
function markGlitches(boundaries: readonly Snapshot[], values: (number | null)[], opts: IntervalOptions): Set<number> {
  const out = new Set<number>();
  for (let k = 1; k + 1 < values.length; k++) {
    const p = values[k - 1] ?? null;
    const v = values[k] ?? null;
    const n = values[k + 1] ?? null;
    const bp = boundaries[k - 1];
    const bn = boundaries[k + 1];
    if (p === null || v === null || n === null || bp === undefined || bn === undefined) continue;
    if (replacementBetween(opts.replacements, bp.ts, bn.ts) !== undefined || n < p) continue;
    if (v < p || v > n) {
      values[k] = (p + n) / 2;
      out.add(k);
    }
  }
  return out;
}

/**
 * Handles the run of intervals from boundary `k` whose edges are missing: estimated when
 * known boundaries bound the run within `maxEstimatedGapMs` and the consumption across it
 * passes the delta checks, else `missing`. Returns the index of the boundary it stopped at.
 */
function fillGap(boundaries: readonly Snapshot[], values: readonly (number | null)[], k: number, opts: IntervalOptions, out: IntervalValue[]): number {
  let first = k;
  // The run starts at the last known boundary at or before k, which is k itself unless k is missing.
  if ((values[k] ?? null) === null) first = -1;
  let j = k + 1;
  while (j < values.length && (values[j] ?? null) === null) j++;
  const start = boundaries[k];
  const end = boundaries[Math.min(j, boundaries.length - 1)];
  if (start === undefined || end === undefined) return boundaries.length;
  const last = j < values.length ? j : -1;
  const va = first >= 0 ? (values[first] ?? null) : null;
  const vb = last >= 0 ? (values[last] ?? null) : null;
  const n = (last >= 0 ? last : boundaries.length - 1) - k;
  let each: number | null = null;
  if (va !== null && vb !== null && end.ts - start.ts <= opts.maxEstimatedGapMs) {
    const d = deltaBetween({ ts: start.ts, value: va }, { ts: end.ts, value: vb }, opts.rolloverAt, opts.replacements);
    if (d.kind === 'ok') each = d.value / n;
  }
  for (let i = 0; i < n; i++) {
    const s = boundaries[k + i];
    const e = boundaries[k + i + 1];
    if (s === undefined || e === undefined) break;
    out.push(each === null
      ? { start: s.ts, end: e.ts, value: null, raw: null, status: 'missing', source: null, flags: ['gap'] }
      : { start: s.ts, end: e.ts, value: each, raw: null, status: 'estimated', source: 'interpolated', flags: ['gap'] });
  }
  return k + n;
}
