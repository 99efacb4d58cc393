/**
 * Device events, indexed by meter, terminal and time, newest first, bounded by age and by row
 * count: the port the event recorder writes through, and its embedded implementation (table
 * `device_events`, migration 5). The PostgreSQL one is in postgresStore.ts.
 */
import type { Db } from '../storage/db.js';
import { ValidationError, meterId, terminalId, type DeviceEvent, type DeviceEventCode } from '../domain/index.js';

export interface StoredDeviceEvent extends DeviceEvent {
  readonly id: string;
}

export interface DeviceEventQuery {
  readonly meterId?: string;
  readonly terminalId?: string;
  readonly code?: DeviceEventCode;
  /** ts ≥ from, ms. */
  readonly from?: number;
  /** ts < to, ms. */
  readonly to?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
  readonly limit: number;
}

export interface DeviceEventPage {
  readonly items: readonly StoredDeviceEvent[];
  readonly next: string | null;
}

export interface DeviceEventStore {
  /** Stores a batch in one transaction; resolves once it is committed, with each event's id. */
  insert(events: readonly DeviceEvent[]): Promise<StoredDeviceEvent[]>;
  /** Newest first by device time; the cursor is the last item's `<ts>.<id>`. */
  query(q: DeviceEventQuery): Promise<DeviceEventPage>;
  /** Deletes events received before `receivedBefore`, then the oldest beyond `maxRows`; resolves how many. */
  prune(receivedBefore: number, maxRows: number): Promise<number>;
}

export class SqliteDeviceEventStore implements DeviceEventStore {
  private readonly insertTx: (events: readonly DeviceEvent[]) => StoredDeviceEvent[];

  constructor(private readonly db: Db) {
    const insert = db.prepare(
      'INSERT INTO device_events (ts, received_at, meter_id, terminal_id, code, source, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertTx = db.transaction((events: readonly DeviceEvent[]) =>
      events.map((e) => {
        const r = insert.run(e.ts, e.receivedAt, e.meterId, e.terminalId, e.code, e.source, e.detail);
        return { ...e, id: String(r.lastInsertRowid) };
      }));
  }

  // Async only to meet the port: better-sqlite3 runs each statement at the call.
  /* eslint-disable @typescript-eslint/require-await */
  async insert(events: readonly DeviceEvent[]): Promise<StoredDeviceEvent[]> {
    return events.length === 0 ? [] : this.insertTx(events);
  }

  async query(q: DeviceEventQuery): Promise<DeviceEventPage> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.meterId !== undefined) { where.push('meter_id = ?'); params.push(q.meterId); }
    if (q.terminalId !== undefined) { where.push('terminal_id = ?'); params.push(q.terminalId); }
    if (q.code !== undefined) { where.push('code = ?'); params.push(q.code); }
    if (q.from !== undefined) { where.push('ts >= ?'); params.push(q.from); }
    if (q.to !== undefined) { where.push('ts < ?'); params.push(q.to); }
    if (q.cursor !== undefined) {
      const { ts, id } = parseEventCursor(q.cursor);
      // A row value, which SQLite turns into one index range; the OR of two terms it cannot.
      where.push('(ts, id) < (?, ?)');
      params.push(ts, id);
    }
    const sql = `SELECT * FROM device_events ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY ts DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare<(string | number)[], EventRow>(sql).all(...params, q.limit + 1);
    return pageOf(rows, q.limit);
  }

  async prune(receivedBefore: number, maxRows: number): Promise<number> {
    let deleted = this.db.prepare('DELETE FROM device_events WHERE received_at < ?').run(receivedBefore).changes;
    const cut = this.db.prepare<[number], { id: number }>('SELECT id FROM device_events ORDER BY id DESC LIMIT 1 OFFSET ?').get(maxRows);
    if (cut !== undefined) deleted += this.db.prepare('DELETE FROM device_events WHERE id <= ?').run(cut.id).changes;
    return deleted;
  }
  /* eslint-enable @typescript-eslint/require-await */
}

/** The `<ts>.<id>` of a page's last item; a ValidationError for anything else. */
export function parseEventCursor(cursor: string): { ts: number; id: number } {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(cursor);
  if (m === null) throw new ValidationError('cursor is not one this API returned', 'cursor');
  return { ts: Number(m[1]), id: Number(m[2]) };
}

/** A page of `limit` from rows fetched one beyond it: the extra row says there is a next page. */
export function pageOf(rows: readonly EventRow[], limit: number): DeviceEventPage {
  const items = rows.slice(0, limit).map(fromRow);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last !== undefined ? `${last.ts}.${last.id}` : null };
}

export interface EventRow {
  id: number;
  ts: number;
  received_at: number;
  meter_id: string | null;
  terminal_id: string;
  code: DeviceEventCode;
  source: DeviceEvent['source'];
  detail: string | null;
}

function fromRow(r: EventRow): StoredDeviceEvent {
  return {
    id: String(r.id),
    meterId: r.meter_id === null ? null : meterId(r.meter_id),
    terminalId: terminalId(r.terminal_id),
    code: r.code,
    ts: r.ts,
    receivedAt: r.received_at,
    source: r.source,
    detail: r.detail,
  };
}
