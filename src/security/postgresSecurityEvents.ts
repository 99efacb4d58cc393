/**
 * Security events in PostgreSQL, shared by every node: the embedded store's table and queries
 * (securityEvents.ts). A batch is one multi-row insert; ids come from one identity column, so
 * "newest first" and the row cap mean the same across nodes.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { recordOf, type NewSecurityEvent, type SecurityEventFilter, type SecurityEventRecord, type SecurityEventRow, type SecurityEventStore } from './securityEvents.js';

export class PostgresSecurityEventStore implements SecurityEventStore {
  constructor(private readonly db: PostgresDatabase) {}

  async append(events: readonly NewSecurityEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((e) => ({
      ts: e.ts, meter_id: e.meterId, terminal_id: e.terminalId, kind: e.kind, detail: e.detail, system_title: e.systemTitle, counter: e.counter,
    }));
    await this.db.run((sql) => sql`INSERT INTO security_events ${sql(rows, 'ts', 'meter_id', 'terminal_id', 'kind', 'detail', 'system_title', 'counter')}`);
  }

  async query(filter: SecurityEventFilter): Promise<SecurityEventRecord[]> {
    const rows = await this.db.run((sql) => sql<SecurityEventRow[]>`
      SELECT id, ts, meter_id, terminal_id, kind, detail, system_title, counter FROM security_events
      WHERE true
        ${filter.meterId === undefined ? sql`` : sql`AND meter_id = ${filter.meterId}`}
        ${filter.kind === undefined ? sql`` : sql`AND kind = ${filter.kind}`}
        ${filter.from === undefined ? sql`` : sql`AND ts >= ${filter.from}`}
        ${filter.to === undefined ? sql`` : sql`AND ts <= ${filter.to}`}
        ${filter.cursor === undefined ? sql`` : sql`AND id < ${filter.cursor}`}
      ORDER BY id DESC LIMIT ${filter.limit}`);
    return rows.map(recordOf);
  }

  async prune(maxRows: number): Promise<void> {
    await this.db.run((sql) => sql`DELETE FROM security_events WHERE id <= (SELECT max(id) FROM security_events) - ${maxRows}`);
  }
}
