/**
 * Where collection statistics are kept: table `collection_stats`, one row per station-local
 * day and terminal, in the embedded store (src/storage/migrations.ts) or in PostgreSQL
 * (src/collect/postgresStatsStore.ts).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../storage/db.js';

/** Counts for one terminal on one day (`YYYY-MM-DD`, station local). */
export interface DayCount {
  readonly day: string;
  readonly terminalId: string;
  readonly expected: number;
  readonly collected: number;
}

export interface CollectionStatsStore {
  /** Adds the counts to what is stored (increments, never overwrites). */
  add(rows: readonly DayCount[]): Promise<void>;
  /** Stored counts of `day`, for the given terminals or, without them, for every terminal, sorted by terminal id. */
  query(day: string, terminalIds?: readonly string[]): Promise<DayCount[]>;
}

interface Row {
  terminal_id: string;
  expected: number;
  collected: number;
}

export class SqliteCollectionStatsStore implements CollectionStatsStore {
  readonly #upsert: Statement<[string, string, number, number]>;
  readonly #byDay: Statement<[string], Row>;
  readonly #byDayAndTerminals: Statement<[string, string], Row>;
  readonly #addAll: (rows: readonly DayCount[]) => void;

  constructor(db: Db) {
    this.#upsert = db.prepare(`
      INSERT INTO collection_stats (day, terminal_id, expected, collected) VALUES (?, ?, ?, ?)
      ON CONFLICT (day, terminal_id) DO UPDATE SET
        expected = expected + excluded.expected,
        collected = collected + excluded.collected`);
    this.#byDay = db.prepare('SELECT terminal_id, expected, collected FROM collection_stats WHERE day = ? ORDER BY terminal_id');
    // The ids travel as one JSON array: an area may hold more terminals than SQLite allows bound parameters.
    this.#byDayAndTerminals = db.prepare(`
      SELECT terminal_id, expected, collected FROM collection_stats
      WHERE day = ? AND terminal_id IN (SELECT value FROM json_each(?)) ORDER BY terminal_id`);
    this.#addAll = db.transaction((rows: readonly DayCount[]) => {
      for (const r of rows) this.#upsert.run(r.day, r.terminalId, r.expected, r.collected);
    });
  }

  // better-sqlite3 answers at once; a throw becomes a rejection, as a network driver reports it.
  add(rows: readonly DayCount[]): Promise<void> {
    return new Promise((resolve) => {
      if (rows.length > 0) this.#addAll(rows);
      resolve();
    });
  }

  query(day: string, terminalIds?: readonly string[]): Promise<DayCount[]> {
    return new Promise((resolve) => {
      const rows = terminalIds === undefined ? this.#byDay.all(day) : this.#byDayAndTerminals.all(day, JSON.stringify(terminalIds));
      resolve(rows.map((r) => ({ day, terminalId: r.terminal_id, expected: r.expected, collected: r.collected })));
    });
  }
}
