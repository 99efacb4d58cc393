/**
 * Billing reads: daily and monthly frozen reads per meter (stored profile where the meter
 * keeps one, else a snapshot interpolated from register reads), 15-minute interval data
 * with VEE, and monthly consumption split into TOU buckets. Pages are keyset on the meter
 * id; `dailyChunks`/`monthlyChunks` walk page after page for streamed exports. Every read goes
 * through the store port (src/billing/store.ts), so the same service runs on either driver.
 */
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { registerRules, type RegisterRules, type ReplacementStore } from './replacements.js';
import { monthBounds, localMidnight } from './periods.js';
import type { BillingMeter, BillingStore } from './store.js';
import type { Tariff } from '../fees/tariffs/touCalendar.js';
import {
  boundarySeries, deltaBetween, snapshotAt, validateIntervals, weakest,
  type IntervalOptions, type MeterReplacement, type Snapshot, type SnapshotOptions, type ValueSource, type ValueStatus, type VeeFlag,
} from './vee.js';

export interface BillingOptions {
  readonly utcOffsetMinutes: number;
  /** Register billed by default. */
  readonly quantity: string;
  readonly unitOf: (quantity: string) => string;
  readonly snapshotToleranceMs: number;
  /** Frozen reads: interpolate from reads at most this far on each side. */
  readonly frozenMaxSpanMs: number;
  /** Interval edges: interpolate from reads at most this far on each side; beyond, the edge is a gap. */
  readonly intervalMaxSpanMs: number;
  readonly vee: Omit<IntervalOptions, 'replacements' | 'rolloverAt'>;
  readonly rolloverAt?: number;
  readonly replacements: readonly MeterReplacement[];
  readonly tariff: Tariff;
  /** Reads loaded per meter for a month of interval data, at most (the rest of the month is missing). */
  readonly maxReadsPerMeter: number;
  /** Meters per page when walking the whole fleet for an export. */
  readonly chunkSize: number;
  /** Resolves an area to itself and every area below it (throws for an unknown area). */
  readonly areaSubtree: (id: string) => ReadonlySet<string>;
}

export const INTERVAL_MS = 15 * 60_000;

export interface MeterRefs {
  readonly meter: string;
  readonly customerRef: string | null;
  readonly accountRef: string | null;
  readonly area: string | null;
}

export interface DailyRow extends MeterRefs {
  readonly date: string;
  readonly quantity: string;
  readonly value: number | null;
  readonly unit: string;
  readonly status: ValueStatus;
  readonly source: ValueSource | null;
  readonly raw: number | null;
}

export interface MonthlyRow extends MeterRefs {
  readonly month: string;
  readonly quantity: string;
  readonly startValue: number | null;
  readonly endValue: number | null;
  readonly consumption: number | null;
  readonly unit: string;
  readonly status: ValueStatus;
  readonly source: ValueSource | null;
  readonly raw: number | null;
  readonly flags: readonly VeeFlag[];
  /** Consumption per TOU bucket from the month's interval data (valid and estimated intervals). */
  readonly tou: Readonly<Record<string, number>>;
  /** 15-minute intervals of the month with no usable value: the buckets then sum to less than the consumption. */
  readonly intervalsMissing: number;
}

export interface IntervalRow {
  readonly meter: string;
  readonly start: number;
  readonly end: number;
  readonly quantity: string;
  readonly value: number | null;
  readonly unit: string;
  readonly status: ValueStatus;
  readonly source: ValueSource | null;
  readonly raw: number | null;
  readonly flags: readonly VeeFlag[];
}

export interface FleetQuery {
  readonly areaId?: string;
  readonly quantity?: string;
  readonly cursor?: string;
  readonly limit: number;
}

export interface Page<T> {
  readonly rows: T[];
  readonly next: string | null;
}

export class BillingService {
  private readonly rules: RegisterRules;

  constructor(private readonly store: BillingStore, private readonly opts: BillingOptions, private readonly recorded?: ReplacementStore) {
    this.rules = registerRules(opts.rolloverAt, opts.replacements, recorded);
  }

  /** A meter's replacements, configured and recorded, oldest first. */
  replacementsOf(meterId: string): readonly MeterReplacement[] {
    return this.rules.replacementsOf(meterId);
  }

  /** Records a meter exchange; resolves once it is stored, and later billing reads account for it. */
  async recordReplacement(r: MeterReplacement): Promise<void> {
    if (await this.store.meter(r.meterId, 'billing') === undefined) throw new NotFoundError('meter', r.meterId);
    if (this.recorded === undefined) throw new ConflictError('replacements cannot be recorded: no store');
    await this.recorded.add(r);
  }

  get buckets(): string[] {
    return this.opts.tariff.buckets();
  }

  async daily(date: string, q: FleetQuery): Promise<Page<DailyRow>> {
    const at = localMidnight(date, this.opts.utcOffsetMinutes);
    const quantity = q.quantity ?? this.opts.quantity;
    const code = await this.store.quantityCode(quantity);
    if (code === undefined) return this.pageOf(q, 'daily', (m) => this.dailyRow(m, date, quantity, missing(at)));
    const areaIds = this.areasOf(q.areaId);
    // One more than asked: its presence says another page follows.
    const meters = await this.store.metersAround({
      afterId: q.cursor ?? '', limit: q.limit + 1, profile: 'daily', code, at, spanMs: this.opts.frozenMaxSpanMs, ...(areaIds === undefined ? {} : { areaIds }),
    });
    const page = meters.slice(0, q.limit);
    const rows = page.map((m) => this.dailyRow(m, date, quantity, snapshotAt(m.before, m.after, at, this.snapshotOpts(m))));
    return { rows, next: nextCursor(page, meters.length > q.limit) };
  }

  monthly(month: string, q: FleetQuery): Promise<Page<MonthlyRow>> {
    const bounds = monthBounds(month, this.opts.utcOffsetMinutes);
    return this.pageOf(q, 'billing', (m, quantity, code) => this.monthlyRow(m, month, bounds, quantity, code));
  }

  /** Page after page from `q.cursor` to the end of the fleet, `chunkSize` meters at a time. */
  async *dailyChunks(date: string, q: Omit<FleetQuery, 'limit'>): AsyncGenerator<DailyRow[]> {
    yield* this.chunks(q, (qq) => this.daily(date, qq));
  }

  async *monthlyChunks(month: string, q: Omit<FleetQuery, 'limit'>): AsyncGenerator<MonthlyRow[]> {
    yield* this.chunks(q, (qq) => this.monthly(month, qq));
  }

  /** A meter's 15-minute intervals covering [from, to) (edges aligned to the local quarter hour). */
  async intervals(meterId: string, from: number, to: number, quantity = this.opts.quantity): Promise<IntervalRow[]> {
    const m = await this.store.meter(meterId, 'load');
    if (m === undefined) throw new NotFoundError('meter', meterId);
    const code = await this.store.quantityCode(quantity);
    const unit = this.opts.unitOf(quantity);
    const start = this.alignDown(from);
    const end = Math.max(start + INTERVAL_MS, this.alignDown(to + INTERVAL_MS - 1));
    const values = code === undefined ? [] : await this.intervalValues(m, code, start, end);
    return values.map((v) => ({ meter: m.id, start: v.start, end: v.end, quantity, value: round(v.value), unit, status: v.status, source: v.source, raw: round(v.raw), flags: v.flags }));
  }

  /**
   * A meter's consumption between two instants from the register snapshots there (a replacement
   * or a rollover between them accounted), for a span interval data leaves missing: a long gap
   * shows no shape, but the register still says how much went through it.
   */
  async consumption(meterId: string, from: number, to: number, quantity = this.opts.quantity): Promise<{ readonly value: number | null; readonly status: ValueStatus; readonly flags: readonly VeeFlag[] }> {
    const m = await this.store.meter(meterId, 'load');
    if (m === undefined) throw new NotFoundError('meter', meterId);
    const code = await this.store.quantityCode(quantity);
    if (code === undefined) return { value: null, status: 'missing', flags: [] };
    const [first, last] = await Promise.all([this.snapshot(m, code, from), this.snapshot(m, code, to)]);
    const d = this.registerDelta(m.id, first, last);
    return { value: round(d.consumption ?? d.raw), status: d.status, flags: d.flags };
  }

  // ── rows ─────────────────────────────────────────────────────────────────

  private dailyRow(m: BillingMeter, date: string, quantity: string, s: Snapshot): DailyRow {
    // A literal, not a spread: this runs once per meter of a fleet export.
    return {
      meter: m.id, customerRef: m.customerRef, accountRef: m.accountRef, area: m.areaId,
      date, quantity, value: round(s.value), unit: this.opts.unitOf(quantity), status: s.status, source: s.source, raw: null,
    };
  }

  private async monthlyRow(m: BillingMeter, month: string, b: { start: number; end: number }, quantity: string, code: number | undefined): Promise<MonthlyRow> {
    const first = code === undefined ? missing(b.start) : await this.snapshot(m, code, b.start);
    const last = code === undefined ? missing(b.end) : await this.snapshot(m, code, b.end);
    const { consumption, raw, status, flags } = this.registerDelta(m.id, first, last);
    const intervals = code === undefined ? [] : await this.intervalValues(m, code, b.start, b.end);
    const usable = intervals.filter((v) => v.status === 'valid' || v.status === 'estimated');
    const tou: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.opts.tariff.split(usable))) tou[k] = round(v) ?? 0;
    return {
      ...refs(m), month, quantity, startValue: round(first.value), endValue: round(last.value), consumption: round(consumption),
      unit: this.opts.unitOf(quantity), status, source: weakest(first.source, last.source), raw: round(raw), flags, tou,
      intervalsMissing: Math.round((b.end - b.start) / INTERVAL_MS) - usable.length,
    };
  }

  /** The consumption between two snapshots: a drop no replacement or rollover explains is suspect, its raw delta kept. */
  private registerDelta(meterId: string, first: Snapshot, last: Snapshot): { consumption: number | null; raw: number | null; status: ValueStatus; flags: readonly VeeFlag[] } {
    if (first.value === null || last.value === null) return { consumption: null, raw: null, status: 'missing', flags: [] };
    const d = deltaBetween({ ts: first.ts, value: first.value }, { ts: last.ts, value: last.value }, this.opts.rolloverAt, this.replacementsOf(meterId));
    if (d.kind === 'negative') return { consumption: null, raw: d.value, status: 'suspect', flags: ['negative'] };
    return { consumption: d.value, raw: null, status: first.status === 'suspect' || last.status === 'suspect' ? 'suspect' : 'valid', flags: d.flags };
  }

  private async snapshot(m: BillingMeter, code: number, at: number): Promise<Snapshot> {
    const span = this.opts.frozenMaxSpanMs;
    const [before, after] = await Promise.all([this.store.before(m.key, code, at, span), this.store.after(m.key, code, at, span)]);
    return snapshotAt(before, after, at, this.snapshotOpts(m));
  }

  private snapshotOpts(m: BillingMeter): SnapshotOptions {
    return { toleranceMs: this.opts.snapshotToleranceMs, maxSpanMs: this.opts.frozenMaxSpanMs, keepsProfile: m.keepsProfile, ...this.registerOpts(m.id) };
  }

  private async intervalValues(m: BillingMeter, code: number, start: number, end: number): Promise<ReturnType<typeof validateIntervals>> {
    const span = this.opts.intervalMaxSpanMs;
    const reads = await this.store.reads(m.key, code, start - span, end + span, this.opts.maxReadsPerMeter);
    const edges = boundarySeries(reads, start, end, INTERVAL_MS, {
      toleranceMs: this.opts.snapshotToleranceMs, maxSpanMs: span, keepsProfile: m.keepsLoadProfile === true, ...this.registerOpts(m.id),
    });
    return validateIntervals(edges, { ...this.opts.vee, ...this.registerOpts(m.id) });
  }

  private registerOpts(meterId: string): { rolloverAt?: number; replacements?: readonly MeterReplacement[] } {
    const replacements = this.replacementsOf(meterId);
    return {
      ...(this.opts.rolloverAt === undefined ? {} : { rolloverAt: this.opts.rolloverAt }),
      ...(replacements.length === 0 ? {} : { replacements }),
    };
  }

  // ── paging ───────────────────────────────────────────────────────────────

  private async pageOf<T>(q: FleetQuery, profile: 'daily' | 'billing', row: (m: BillingMeter, quantity: string, code: number | undefined) => T | Promise<T>): Promise<Page<T>> {
    const quantity = q.quantity ?? this.opts.quantity;
    const code = await this.store.quantityCode(quantity);
    const meters = await this.store.meters(q.cursor ?? '', q.limit + 1, profile, this.areasOf(q.areaId));
    const page = meters.slice(0, q.limit);
    const rows: T[] = [];
    // One meter after the other: a meter's reads are a few queries, and a page of them at once would crowd the pool.
    for (const m of page) rows.push(await row(m, quantity, code));
    return { rows, next: nextCursor(page, meters.length > q.limit) };
  }

  private areasOf(areaId: string | undefined): string[] | undefined {
    return areaId === undefined ? undefined : [...this.opts.areaSubtree(areaId)];
  }

  private async *chunks<T>(q: Omit<FleetQuery, 'limit'>, page: (q: FleetQuery) => Promise<Page<T>>): AsyncGenerator<T[]> {
    let cursor = q.cursor;
    for (;;) {
      const p = await page({ ...q, ...(cursor === undefined ? {} : { cursor }), limit: this.opts.chunkSize });
      if (p.rows.length > 0) yield p.rows;
      if (p.next === null) return;
      cursor = p.next;
    }
  }

  private alignDown(ts: number): number {
    const shift = this.opts.utcOffsetMinutes * 60_000;
    return Math.floor((ts + shift) / INTERVAL_MS) * INTERVAL_MS - shift;
  }
}

function refs(m: BillingMeter): MeterRefs {
  return { meter: m.id, customerRef: m.customerRef, accountRef: m.accountRef, area: m.areaId };
}

/** The last meter id of the page when another page follows, else null. */
function nextCursor(page: readonly { id: string }[], more: boolean): string | null {
  const last = page[page.length - 1];
  return more && last !== undefined ? last.id : null;
}

function missing(ts: number): Snapshot {
  return { ts, value: null, status: 'missing', source: null };
}

/** Values to the micro-unit (1 Wh/1000): interpolation leaves binary fractions nobody bills. */
function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1e6) / 1e6;
}
