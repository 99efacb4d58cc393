/**
 * The broker's dropped-message counter as last seen, in PostgreSQL: the embedded store's one
 * row (dropMonitor.ts, `SqliteDropCounterStore`), shared by the nodes, each of which watches
 * the one broker they share.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { DropCounterStore } from './dropMonitor.js';
import type { DropCounterMark } from './dropWatch.js';

export class PostgresDropCounterStore implements DropCounterStore {
  constructor(private readonly db: PostgresDatabase) {}

  async get(): Promise<DropCounterMark | undefined> {
    const [row] = await this.db.run((sql) => sql<{ value: number; confirmed_at: number }[]>`SELECT value, confirmed_at FROM broker_drop_counter WHERE id = 1`);
    return row === undefined ? undefined : { value: row.value, confirmedAt: row.confirmed_at };
  }

  async put(mark: DropCounterMark): Promise<void> {
    await this.db.run((sql) => sql`INSERT INTO broker_drop_counter (id, value, confirmed_at) VALUES (1, ${mark.value}, ${mark.confirmedAt})
      ON CONFLICT (id) DO UPDATE SET value = excluded.value, confirmed_at = excluded.confirmed_at`);
  }
}
