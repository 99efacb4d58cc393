/**
 * Security events (wrong key, tampered tag, wrong system title, replayed counter):
 * recorded in the embedded store for GET /api/v1/security-events, counted for /metrics,
 * logged at most once a minute per meter and kind.
 *
 * A misbehaving peer can raise events as fast as it sends: storage is bounded twice, by a
 * per (meter, kind) budget per minute (the rest are counted, not stored) and by a cap on
 * the rows kept (the oldest go first).
 */
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import type { MetricSource } from '../observe/metrics.js';
import type { Db } from '../storage/db.js';

export const SECURITY_EVENT_KINDS = [
  'tag-mismatch', 'bad-header', 'policy-violation', 'system-title-mismatch', 'replay',
  'counter-exhausted', 'hls-failed', 'unsupported-suite', 'unsupported-compression', 'bad-parameter',
] as const satisfies readonly SecurityEvent['kind'][];
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

export interface SecurityEventRecord {
  readonly id: number;
  readonly ts: number;
  readonly meterId: string | null;
  readonly terminalId: string | null;
  readonly kind: SecurityEventKind;
  readonly detail: string;
  /** The peer's system title, hex. */
  readonly systemTitle: string | null;
  readonly counter: number | null;
}

export interface SecurityEventFilter {
  readonly meterId?: string;
  readonly kind?: SecurityEventKind;
  /** Inclusive bounds, ms since the epoch. */
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
}

export interface SecurityEventLogOptions {
  readonly logger: Logger;
  readonly now?: () => number;
  /** Rows kept at most. */
  readonly maxRows?: number;
  /** Events stored per (meter, kind) per minute at most; the rest are only counted. */
  readonly storedPerMinute?: number;
}

const MAX_DETAIL = 500;
const WINDOW_MS = 60_000;
const MAX_WINDOW_KEYS = 10_000;
const PRUNE_EVERY = 1_000;

export class SecurityEventLog {
  private readonly now: () => number;
  private readonly maxRows: number;
  private readonly storedPerMinute: number;
  private readonly throttle: LogThrottle;
  private readonly windows = new Map<string, { start: number; stored: number }>();
  private readonly seen = new Map<SecurityEventKind, number>();
  private unstored = 0;
  private sincePrune = 0;

  constructor(private readonly db: Db, private readonly options: SecurityEventLogOptions) {
    this.now = options.now ?? Date.now;
    this.maxRows = options.maxRows ?? 100_000;
    this.storedPerMinute = options.storedPerMinute ?? 60;
    this.throttle = new LogThrottle(WINDOW_MS, this.now);
  }

  /** Records one event of the meter (or terminal) it concerns; never throws for a bad store, it logs. */
  record(event: SecurityEvent, where: { readonly meterId?: string | undefined; readonly terminalId?: string | undefined }): void {
    const ts = this.now();
    const kind = event.kind;
    this.seen.set(kind, (this.seen.get(kind) ?? 0) + 1);
    const subject = where.meterId ?? where.terminalId ?? event.systemTitle ?? '?';
    const key = `${subject}\u0000${kind}`;
    const suppressed = this.throttle.pass(key);
    if (suppressed >= 0) {
      this.options.logger.warn({
        meter: where.meterId, terminal: where.terminalId, kind, detail: event.detail.slice(0, MAX_DETAIL),
        systemTitle: event.systemTitle, counter: event.counter, suppressed,
      }, 'DLMS security event');
    }
    if (!this.withinBudget(key, ts)) {
      this.unstored += 1;
      return;
    }
    try {
      this.db.prepare('INSERT INTO security_events (ts, meter_id, terminal_id, kind, detail, system_title, counter) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(ts, where.meterId ?? null, where.terminalId ?? null, kind, event.detail.slice(0, MAX_DETAIL), event.systemTitle ?? null, event.counter ?? null);
      if (++this.sincePrune >= PRUNE_EVERY) this.prune();
    } catch (err) {
      this.unstored += 1;
      if (this.throttle.pass('store-failure') >= 0) this.options.logger.error({ err }, 'security event could not be stored; counted only');
    }
  }

  /** Newest first. */
  query(filter: SecurityEventFilter): SecurityEventRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.meterId !== undefined) { where.push('meter_id = ?'); args.push(filter.meterId); }
    if (filter.kind !== undefined) { where.push('kind = ?'); args.push(filter.kind); }
    if (filter.from !== undefined) { where.push('ts >= ?'); args.push(filter.from); }
    if (filter.to !== undefined) { where.push('ts <= ?'); args.push(filter.to); }
    const sql = `SELECT id, ts, meter_id, terminal_id, kind, detail, system_title, counter FROM security_events
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit) as {
      id: number; ts: number; meter_id: string | null; terminal_id: string | null; kind: SecurityEventKind;
      detail: string; system_title: string | null; counter: number | null;
    }[];
    return rows.map((r) => ({
      id: r.id, ts: r.ts, meterId: r.meter_id, terminalId: r.terminal_id, kind: r.kind, detail: r.detail, systemTitle: r.system_title, counter: r.counter,
    }));
  }

  /** Events seen by kind (stored or not) and events not stored, for /metrics. */
  metricSources(): MetricSource[] {
    return [
      {
        name: 'gridhead_security_events', help: 'DLMS security events seen, by kind', type: 'counter', labelNames: ['kind'],
        read: () => [...this.seen].map(([kind, value]) => ({ labels: { kind }, value })),
      },
      { name: 'gridhead_security_events_unstored', help: 'Security events counted but not stored (per-meter budget or store failure)', type: 'counter', read: () => [{ value: this.unstored }] },
    ];
  }

  private withinBudget(key: string, ts: number): boolean {
    const w = this.windows.get(key);
    if (w === undefined || ts - w.start >= WINDOW_MS) {
      this.windows.delete(key);
      this.windows.set(key, { start: ts, stored: 1 });
      if (this.windows.size > MAX_WINDOW_KEYS) {
        const oldest = this.windows.keys().next();
        if (oldest.done !== true) this.windows.delete(oldest.value);
      }
      return true;
    }
    if (w.stored >= this.storedPerMinute) return false;
    w.stored += 1;
    return true;
  }

  private prune(): void {
    this.sincePrune = 0;
    this.db.prepare('DELETE FROM security_events WHERE id <= (SELECT MAX(id) FROM security_events) - ?').run(this.maxRows);
  }
}
