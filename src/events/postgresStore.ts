/**
 * Device events on PostgreSQL (table `device_events`, src/storage/postgres/migrations.ts),
 * with the embedded store's semantics (store.ts).
 *
 * A batch goes in one multi-row `unnest` insert (one statement, one transaction), so it is
 * stored whole or not at all. Retention deletes in chunks of `PRUNE_CHUNK` rows, one statement
 * each: every statement stays well inside the statement timeout and holds its locks briefly,
 * however far behind retention is.
 */
import type { DeviceEvent } from '../domain/index.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { pageOf, parseEventCursor, type DeviceEventPage, type DeviceEventQuery, type DeviceEventStore, type EventRow, type StoredDeviceEvent } from './store.js';

/** Rows one retention statement deletes at most. */
export const PRUNE_CHUNK = 10_000;

export class PostgresDeviceEventStore implements DeviceEventStore {
  constructor(private readonly db: PostgresDatabase) {}

  async insert(events: readonly DeviceEvent[]): Promise<StoredDeviceEvent[]> {
    if (events.length === 0) return [];
    const ids = await this.db.run((sql) => sql<{ id: number }[]>`
      INSERT INTO device_events (ts, received_at, meter_id, terminal_id, code, source, detail)
      SELECT ts, received_at, meter_id, terminal_id, code, source, detail FROM unnest(
        ${events.map((e) => e.ts)}::int8[], ${events.map((e) => e.receivedAt)}::int8[], ${events.map((e) => e.meterId)}::text[],
        ${events.map((e) => e.terminalId)}::text[], ${events.map((e) => e.code)}::text[], ${events.map((e) => e.source)}::text[],
        ${events.map((e) => e.detail)}::text[]
      ) WITH ORDINALITY AS e(ts, received_at, meter_id, terminal_id, code, source, detail, n)
      ORDER BY n
      RETURNING id`);
    // Identity values are drawn in the order of the rows inserted, which ORDER BY n makes the batch's.
    const sorted = ids.map((r) => r.id).sort((a, b) => a - b);
    return events.map((e, i) => ({ ...e, id: String(sorted[i]) }));
  }

  async query(q: DeviceEventQuery): Promise<DeviceEventPage> {
    const cursor = q.cursor === undefined ? undefined : parseEventCursor(q.cursor);
    const rows = await this.db.run((sql) => {
      const none = sql``;
      return sql<EventRow[]>`
        SELECT * FROM device_events WHERE true
          ${q.meterId === undefined ? none : sql`AND meter_id = ${q.meterId}`}
          ${q.terminalId === undefined ? none : sql`AND terminal_id = ${q.terminalId}`}
          ${q.code === undefined ? none : sql`AND code = ${q.code}`}
          ${q.from === undefined ? none : sql`AND ts >= ${q.from}`}
          ${q.to === undefined ? none : sql`AND ts < ${q.to}`}
          ${cursor === undefined ? none : sql`AND (ts, id) < (${cursor.ts}, ${cursor.id})`}
        ORDER BY ts DESC, id DESC LIMIT ${q.limit + 1}`;
    });
    return pageOf(rows, q.limit);
  }

  async prune(receivedBefore: number, maxRows: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const n = await this.db.run(async (sql) => (await sql`
        DELETE FROM device_events WHERE id IN (
          SELECT id FROM device_events WHERE received_at < ${receivedBefore} LIMIT ${PRUNE_CHUNK})`).count);
      deleted += n;
      if (n < PRUNE_CHUNK) break;
    }
    const cut = await this.db.run((sql) => sql<{ id: number }[]>`SELECT id FROM device_events ORDER BY id DESC LIMIT 1 OFFSET ${maxRows}`);
    const cutId = cut[0]?.id;
    if (cutId === undefined) return deleted;
    for (;;) {
      const n = await this.db.run(async (sql) => (await sql`
        DELETE FROM device_events WHERE id IN (
          SELECT id FROM device_events WHERE id <= ${cutId} ORDER BY id LIMIT ${PRUNE_CHUNK})`).count);
      deleted += n;
      if (n < PRUNE_CHUNK) break;
    }
    return deleted;
  }
}
