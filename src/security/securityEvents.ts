/**
 * Security events (wrong key, tampered tag, wrong system title, replayed counter):
 * recorded in the station's store for GET /api/v1/security-events, counted for /metrics,
 * logged at most once a minute per meter and kind.
 *
 * A misbehaving peer can raise events as fast as it sends: storage is bounded twice, by a
 * per (meter, kind) budget per minute (the rest are counted, not stored) and by a cap on
 * the rows kept (the oldest go first).
 *
 * `record` is called from inside the DLMS engines, which are synchronous, so it never waits
 * for the store: events go through the ordered write-behind queue of src/storage/writeBehind.ts,
 * at most `maxQueued`, written in batches of WRITE_BATCH, retried after `retryDelayMs` (a fixed
 * delay; failures counted, logged throttled), drained by `flush()` at shutdown; `query` waits
 * for it first, so a node reads what it recorded. A crash loses what is still queued, at most
 * one batch's worth of milliseconds: acceptable for a diagnostic log whose every event is also
 * counted and logged, and nothing waits on an event being stored.
 *
 * `SecurityEventStore` is the storage port: `SqliteSecurityEventStore` here,
 * `PostgresSecurityEventStore` in postgresSecurityEvents.ts.
 */
import { refusedForGood } from '../storage/refusedRows.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import type { MetricSource } from '../observe/metrics.js';
import type { Db } from '../storage/db.js';
import { WriteBehindQueue, WritesAbandoned } from '../storage/writeBehind.js';
import { answer } from './embeddedAnswer.js';

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
  /** The `next` of the previous page: events older than it. */
  readonly cursor?: number;
  readonly limit: number;
}

/** An event as it is written; the store assigns the id. */
export type NewSecurityEvent = Omit<SecurityEventRecord, 'id'>;

/** Where security events are kept, on any driver. */
export interface SecurityEventStore {
  /** Writes the events in order, all or none. */
  append(events: readonly NewSecurityEvent[]): Promise<void>;
  /** Newest first. */
  query(filter: SecurityEventFilter): Promise<SecurityEventRecord[]>;
  /** Deletes all but the newest `maxRows`. */
  prune(maxRows: number): Promise<void>;
}

export interface SecurityEventLogOptions {
  readonly logger: Logger;
  readonly now?: () => number;
  /** Rows kept at most. */
  readonly maxRows?: number;
  /** Events stored per (meter, kind) per minute at most; the rest are only counted. */
  readonly storedPerMinute?: number;
  /** Events waiting for the store at most; past it, new ones are only counted. */
  readonly maxQueued?: number;
  /** Wait before a failed write is tried again. */
  readonly retryDelayMs?: number;
}

export const DEFAULT_MAX_QUEUED_SECURITY_EVENTS = 10_000;
/** How long `flush` at shutdown keeps retrying what is queued before it gives it up (counted as unstored). */
export const SECURITY_EVENTS_FLUSH_MS = 5_000;
const MAX_DETAIL = 500;
const WINDOW_MS = 60_000;
const MAX_WINDOW_KEYS = 10_000;
const PRUNE_EVERY = 1_000;
const WRITE_BATCH = 500;

export class SecurityEventLog {
  private readonly now: () => number;
  private readonly maxRows: number;
  private readonly storedPerMinute: number;
  private readonly maxQueued: number;
  private readonly queue: WriteBehindQueue<NewSecurityEvent>;
  private readonly throttle: LogThrottle;
  private readonly windows = new Map<string, { start: number; stored: number }>();
  private readonly seen = new Map<SecurityEventKind, number>();
  private unstored = 0;
  private pruneFailures = 0;
  private sincePrune = 0;

  constructor(private readonly store: SecurityEventStore, private readonly options: SecurityEventLogOptions) {
    this.now = options.now ?? Date.now;
    this.maxRows = options.maxRows ?? 100_000;
    this.storedPerMinute = options.storedPerMinute ?? 60;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED_SECURITY_EVENTS;
    const retryDelayMs = options.retryDelayMs ?? 1_000;
    this.throttle = new LogThrottle(WINDOW_MS, this.now);
    this.queue = new WriteBehindQueue<NewSecurityEvent>({
      write: (events) => this.write(events),
      max: this.maxQueued,
      maxBatch: WRITE_BATCH,
      retryMinMs: retryDelayMs,
      retryMaxMs: retryDelayMs,
      what: 'security event',
      // A row the database refuses is counted and dropped, so it cannot hold up every event behind it.
      refusedForGood,
      onFailure: (err, _attempt, waiting) => { this.failed(err, waiting); },
    });
  }

  /** Records one event of the meter (or terminal) it concerns; never throws, never waits for the store. */
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
    if (!this.queue.hasRoom()) {
      this.unstored += 1;
      const dropped = this.throttle.pass('queue-full');
      if (dropped >= 0) this.options.logger.error({ maxQueued: this.maxQueued, suppressed: dropped }, 'security event queue full (the store is not keeping up); counted only');
      return;
    }
    void this.queue.push({
      ts, meterId: where.meterId ?? null, terminalId: where.terminalId ?? null, kind, detail: event.detail.slice(0, MAX_DETAIL),
      systemTitle: event.systemTitle ?? null, counter: event.counter ?? null,
    });
  }

  /** Newest first, including every event recorded before the call. */
  async query(filter: SecurityEventFilter): Promise<SecurityEventRecord[]> {
    // Events given up at shutdown are counted already; the store answers with what it has.
    await this.queue.settled().catch(() => undefined);
    return this.store.query(filter);
  }

  /**
   * Writes what is queued, retrying for up to `deadlineMs`; at shutdown (later events are only
   * counted). Rejects with `WritesAbandoned` when the store cannot take it in time (the events
   * are counted as unstored).
   */
  async flush(deadlineMs = SECURITY_EVENTS_FLUSH_MS): Promise<void> {
    const abandoned = await this.queue.drain(deadlineMs);
    if (abandoned > 0) {
      this.unstored += abandoned;
      throw new WritesAbandoned(abandoned, 'security event');
    }
  }

  /** Events seen by kind (stored or not) and events not stored, for /metrics. */
  metricSources(): MetricSource[] {
    return [
      {
        name: 'gridhead_security_events', help: 'DLMS security events seen, by kind', type: 'counter', labelNames: ['kind'],
        read: () => [...this.seen].map(([kind, value]) => ({ labels: { kind }, value })),
      },
      { name: 'gridhead_security_events_unstored', help: 'Security events counted but not stored (per-meter budget, full queue or store failure)', type: 'counter', read: () => [{ value: this.unstored }] },
      { name: 'gridhead_security_event_write_failures', help: 'Writes of security events that failed and were retried', type: 'counter', read: () => [{ value: this.queue.stats().failures + this.pruneFailures }] },
    ];
  }

  /** One batch, in order, all or none; a failure has the queue write the same batch again. */
  private async write(events: readonly NewSecurityEvent[]): Promise<void> {
    await this.store.append(events);
    this.sincePrune += events.length;
    if (this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      // The batch is stored: a failed prune must not have it written twice, the next one prunes.
      await this.store.prune(this.maxRows).catch((err: unknown) => {
        this.pruneFailures += 1;
        this.failed(err, this.queue.stats().waiting);
      });
    }
  }

  private failed(err: unknown, queued: number): void {
    const suppressed = this.throttle.pass('store-failure');
    if (suppressed >= 0) this.options.logger.error({ err, queued, suppressed }, 'security events could not be stored; retrying');
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
}

/** The embedded store (SQLite). */
export class SqliteSecurityEventStore implements SecurityEventStore {
  constructor(private readonly db: Db) {}

  append(events: readonly NewSecurityEvent[]): Promise<void> {
    return answer(() => {
      const insert = this.db.prepare('INSERT INTO security_events (ts, meter_id, terminal_id, kind, detail, system_title, counter) VALUES (?, ?, ?, ?, ?, ?, ?)');
      this.db.transaction(() => {
        for (const e of events) insert.run(e.ts, e.meterId, e.terminalId, e.kind, e.detail, e.systemTitle, e.counter);
      })();
    });
  }

  query(filter: SecurityEventFilter): Promise<SecurityEventRecord[]> {
    return answer(() => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (filter.meterId !== undefined) { where.push('meter_id = ?'); args.push(filter.meterId); }
      if (filter.kind !== undefined) { where.push('kind = ?'); args.push(filter.kind); }
      if (filter.from !== undefined) { where.push('ts >= ?'); args.push(filter.from); }
      if (filter.to !== undefined) { where.push('ts <= ?'); args.push(filter.to); }
      if (filter.cursor !== undefined) { where.push('id < ?'); args.push(filter.cursor); }
      const sql = `SELECT id, ts, meter_id, terminal_id, kind, detail, system_title, counter FROM security_events
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return (this.db.prepare(sql).all(...args, filter.limit) as SecurityEventRow[]).map(recordOf);
    });
  }

  prune(maxRows: number): Promise<void> {
    return answer(() => {
      this.db.prepare('DELETE FROM security_events WHERE id <= (SELECT MAX(id) FROM security_events) - ?').run(maxRows);
    });
  }
}

/** A row of `security_events` as either driver returns it. */
export interface SecurityEventRow {
  id: number; ts: number; meter_id: string | null; terminal_id: string | null; kind: SecurityEventKind;
  detail: string; system_title: string | null; counter: number | null;
}

export function recordOf(r: SecurityEventRow): SecurityEventRecord {
  return { id: r.id, ts: r.ts, meterId: r.meter_id, terminalId: r.terminal_id, kind: r.kind, detail: r.detail, systemTitle: r.system_title, counter: r.counter };
}
