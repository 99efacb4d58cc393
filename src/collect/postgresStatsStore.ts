/**
 * Collection statistics in PostgreSQL: the embedded store's `collection_stats`
 * (src/collect/statsStore.ts) with the same meaning. A flush adds its counts in one
 * statement, so nodes flushing the same day and terminal at once add up, never overwrite.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { CollectionStatsStore, DayCount } from './statsStore.js';

interface Row {
  terminal_id: string;
  expected: number;
  collected: number;
}

export class PostgresCollectionStatsStore implements CollectionStatsStore {
  constructor(private readonly db: PostgresDatabase) {}

  async add(rows: readonly DayCount[]): Promise<void> {
    if (rows.length === 0) return;
    // One key twice in one statement would be refused by ON CONFLICT DO UPDATE: sum them first.
    const merged = new Map<string, { day: string; terminalId: string; expected: number; collected: number }>();
    for (const r of rows) {
      const key = `${r.day}\u0000${r.terminalId}`;
      const m = merged.get(key);
      if (m === undefined) merged.set(key, { ...r });
      else {
        m.expected += r.expected;
        m.collected += r.collected;
      }
    }
    const all = [...merged.values()];
    await this.db.run((sql) => sql`
      INSERT INTO collection_stats (day, terminal_id, expected, collected)
      SELECT * FROM unnest(${all.map((r) => r.day)}::text[], ${all.map((r) => r.terminalId)}::text[],
                           ${all.map((r) => r.expected)}::int8[], ${all.map((r) => r.collected)}::int8[])
      ON CONFLICT (day, terminal_id) DO UPDATE SET
        expected = collection_stats.expected + excluded.expected,
        collected = collection_stats.collected + excluded.collected`);
  }

  async query(day: string, terminalIds?: readonly string[]): Promise<DayCount[]> {
    const rows = await this.db.run((sql) => (terminalIds === undefined
      ? sql<Row[]>`SELECT terminal_id, expected, collected FROM collection_stats WHERE day = ${day} ORDER BY terminal_id COLLATE "C"`
      : sql<Row[]>`SELECT terminal_id, expected, collected FROM collection_stats
                   WHERE day = ${day} AND terminal_id = ANY(${[...terminalIds]}::text[]) ORDER BY terminal_id COLLATE "C"`));
    return rows.map((r) => ({ day, terminalId: r.terminal_id, expected: r.expected, collected: r.collected }));
  }
}
