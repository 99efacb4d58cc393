/**
 * Fee recovery reports for the API and the dashboard: the store's rows (src/fees/reports/store.ts)
 * with the station's calendar (months are local, `station.utcOffsetMinutes`), durations, the
 * recovery rate and the payment-to-reconnection percentiles.
 *
 * Payment-to-reconnection time: from the ledger `payment` row that brought a disconnected
 * account back to at least its reconnection threshold (the last such payment between the
 * disconnection and the reconnection, by its booking time `at`) to the decision recording the
 * verified reconnection (action `reconnect`, reason `reconnected`; the runner records it once the
 * reconnect command is read back). A reconnection no payment preceded (an operator's, a
 * protected flag set) has no such time and is not counted.
 */
import { ValidationError } from '../../domain/errors.js';
import {
  reportLimit,
  type ArrearsAreaRow, type ArrearsRow, type DisconnectionRow, type FeeReportStore, type MonthSpan, type ReconnectionRow,
  type RecoveryRow, type WatchedAccountRow,
} from './store.js';

/** Longest span of one recovery report, in months. */
export const MAX_RECOVERY_MONTHS = 36;
/** Most reconnections one percentile report reads; a longer period is cut, and says so. */
export const MAX_RECONNECTION_SAMPLES = 100_000;
/** The closed disconnections a report lists without a window: those of the last 30 days. */
export const DEFAULT_DISCONNECTION_DAYS = 30;

export interface FeeReportsOptions {
  readonly store: FeeReportStore;
  /** The station's offset from UTC (`station.utcOffsetMinutes`): where its months begin. */
  readonly utcOffsetMinutes: number;
  readonly now?: () => number;
}

export interface ArrearsPage {
  readonly asOf: number;
  /** Per area and currency, over every indebted account; on the first page only (no cursor). */
  readonly areas: ArrearsAreaRow[] | null;
  readonly items: ArrearsRow[];
  readonly next: string | null;
}

export type RecoveryRateRow = RecoveryRow & {
  /** paid / billed; null when nothing was billed. */
  readonly rate: number | null;
};

export type DisconnectionPeriod = DisconnectionRow & {
  /** Until the reconnection, or until now while open. */
  readonly durationMs: number;
};

export type Reconnection = ReconnectionRow & { readonly durationMs: number };

export interface ReconnectionTimes {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly medianMs: number | null;
  readonly p95Ms: number | null;
  /** The first MAX_RECONNECTION_SAMPLES were read: the figures cover those only. */
  readonly truncated: boolean;
  readonly items: Reconnection[];
}

export class FeeReports {
  readonly #store: FeeReportStore;
  readonly #offsetMs: number;
  readonly #now: () => number;

  constructor(o: FeeReportsOptions) {
    this.#store = o.store;
    this.#offsetMs = o.utcOffsetMinutes * 60_000;
    this.#now = o.now ?? Date.now;
  }

  /** A page of indebted accounts by area, then id; `cursor` is the `next` of the page before. */
  async arrears(q: { readonly areaId?: string; readonly cursor?: string; readonly limit: number }): Promise<ArrearsPage> {
    const asOf = this.#now();
    const limit = reportLimit(q.limit);
    const after = q.cursor === undefined ? undefined : cursorOf(q.cursor);
    const items = await this.#store.arrears({ asOf, limit: limit + 1, ...(q.areaId === undefined ? {} : { areaId: q.areaId }), ...(after === undefined ? {} : { after }) });
    const page = items.slice(0, limit);
    const last = page.at(-1);
    const next = items.length > limit && last !== undefined ? JSON.stringify([last.areaId ?? '', last.accountId]) : null;
    return { asOf, areas: after === undefined ? await this.#store.arrearsByArea(asOf) : null, items: page, next };
  }

  /** Every page of arrears from `cursor`, for a CSV export. */
  async *arrearsChunks(q: { readonly areaId?: string; readonly cursor?: string }): AsyncGenerator<ArrearsRow[]> {
    let cursor = q.cursor;
    for (;;) {
      const page = await this.arrears({ ...q, ...(cursor === undefined ? {} : { cursor }), limit: 1000 });
      yield page.items;
      if (page.next === null) return;
      cursor = page.next;
    }
  }

  /** Recovery per area and month from `from` to `to` (YYYY-MM, both included). */
  async recovery(from: string, to: string): Promise<RecoveryRateRow[]> {
    const months = monthSpans(from, to, this.#offsetMs);
    return (await this.#store.recovery(months)).map((r) => ({ ...r, rate: r.billedMinor > 0 ? r.paidMinor / r.billedMinor : null }));
  }

  /** Open disconnections, and those closed by a reconnection in [from, to) (default: the last DEFAULT_DISCONNECTION_DAYS days). */
  async disconnections(q: { readonly from?: number; readonly to?: number; readonly limit: number }): Promise<{ asOf: number; open: DisconnectionPeriod[]; closed: DisconnectionPeriod[] }> {
    const asOf = this.#now();
    const to = q.to ?? asOf;
    const from = q.from ?? to - DEFAULT_DISCONNECTION_DAYS * 86_400_000;
    const limit = q.limit;
    checkSpan(from, to);
    const { open, closed } = await this.#store.disconnections({ from, to, limit });
    const withDuration = (r: DisconnectionRow): DisconnectionPeriod => ({ ...r, durationMs: Math.max(0, (r.reconnectedAt ?? asOf) - r.disconnectedAt) });
    return { asOf, open: open.map(withDuration), closed: closed.map(withDuration) };
  }

  /** Payment-to-reconnection times of the reconnections in [from, to): median, p95 and the first `limit` of them (at most MAX_RECONNECTION_SAMPLES). */
  async reconnectionTimes(from: number, to: number, limit: number): Promise<ReconnectionTimes> {
    checkSpan(from, to);
    const rows = await this.#store.reconnections(from, to, MAX_RECONNECTION_SAMPLES + 1);
    const truncated = rows.length > MAX_RECONNECTION_SAMPLES;
    const items = rows.slice(0, MAX_RECONNECTION_SAMPLES).map((r) => ({ ...r, durationMs: r.reconnectedAt - r.paidAt }));
    const durations = items.map((r) => r.durationMs).sort((a, b) => a - b);
    return { from, to, count: items.length, medianMs: median(durations), p95Ms: nearestRank(durations, 95), truncated, items: items.slice(0, Math.max(1, Math.trunc(limit))) };
  }

  /** The accounts the fee-control overview shows. */
  watched(limit: number): Promise<WatchedAccountRow[]> {
    return this.#store.watched(limit);
  }
}

/** The local months from `from` to `to` (YYYY-MM, both included) as instants. */
export function monthSpans(from: string, to: string, offsetMs: number): MonthSpan[] {
  const start = monthIndex(from, 'from');
  const end = monthIndex(to, 'to');
  if (end < start) throw new ValidationError('`to` must not be before `from`', 'to');
  if (end - start + 1 > MAX_RECOVERY_MONTHS) throw new ValidationError(`at most ${MAX_RECOVERY_MONTHS} months per report`, 'to');
  const spans: MonthSpan[] = [];
  for (let i = start; i <= end; i++) {
    const y = Math.floor(i / 12);
    const m = i % 12;
    spans.push({ month: `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`, start: Date.UTC(y, m, 1) - offsetMs, end: Date.UTC(y, m + 1, 1) - offsetMs });
  }
  return spans;
}

/** The middle value, or the mean of the two middle ones (rounded down to the millisecond); null when empty. `sorted` ascending. */
export function median(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const hi = sorted[Math.floor(n / 2)] ?? 0;
  return n % 2 === 1 ? hi : Math.floor(((sorted[n / 2 - 1] ?? 0) + hi) / 2);
}

/** The nearest-rank percentile: the smallest value with at least p % of the values at or below it; null when empty. `sorted` ascending. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

function monthIndex(month: string, field: string): number {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (match === null) throw new ValidationError(`\`${field}\` must be a month, YYYY-MM`, field);
  return Number(match[1]) * 12 + Number(match[2]) - 1;
}

function checkSpan(from: number, to: number): void {
  if (!Number.isFinite(from)) throw new ValidationError('`from` must be a date-time', 'from');
  if (!Number.isFinite(to)) throw new ValidationError('`to` must be a date-time', 'to');
  if (!(from < to)) throw new ValidationError('`from` must be before `to`', 'from');
}

function cursorOf(cursor: string): { areaId: string | null; accountId: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') {
    throw new ValidationError('`cursor` is not the `next` of a previous page', 'cursor');
  }
  return { areaId: parsed[0] === '' ? null : parsed[0], accountId: parsed[1] };
}
