/**
 * Where collection statistics are kept, in the embedded store (src/storage/migrations.ts) or in
 * PostgreSQL (src/collect/postgresStatsStore.ts): table `collection_stats`, one row per
 * station-local day and terminal (items), and `collection_area_stats`, one row per day and area
 * (meters), with the marks that count each meter once a day (src/collect/meterDays.ts).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../storage/db.js';
import { MARK_CHUNK, countMeterDays, meterDayKey, oldestMarkDay, type AreaDayCount, type MeterDayMark, type MeterDayOutcome } from './meterDays.js';

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
  /** Counts each meter's outcomes once a day into its area's counts (src/collect/meterDays.ts). */
  addMeterDays(outcomes: readonly MeterDayOutcome[]): Promise<void>;
  /** Stored area counts of the days `from`..`to` (inclusive), for the given areas or every one, sorted by day and area id. */
  areaDays(query: AreaDaysQuery): Promise<AreaDayCount[]>;
}

export interface AreaDaysQuery {
  readonly from: string;
  readonly to: string;
  readonly areaIds?: readonly string[];
}

interface Row {
  terminal_id: string;
  expected: number;
  collected: number;
}

interface AreaRow {
  day: string;
  area_id: string;
  expected: number;
  collected: number;
}

interface MarkRow {
  area_id: string;
  read: number;
}

export class SqliteCollectionStatsStore implements CollectionStatsStore {
  readonly #upsert: Statement<[string, string, number, number]>;
  readonly #byDay: Statement<[string], Row>;
  readonly #byDayAndTerminals: Statement<[string, string], Row>;
  readonly #addAll: (rows: readonly DayCount[]) => void;
  readonly #mark: Statement<[string, string], MarkRow>;
  readonly #putMark: Statement<[string, string, string, number]>;
  readonly #pruneMarks: Statement<[string]>;
  readonly #addArea: Statement<[string, string, number, number]>;
  readonly #areaDays: Statement<[string, string], AreaRow>;
  readonly #areaDaysOf: Statement<[string, string, string], AreaRow>;
  readonly #addMeterDays: (outcomes: readonly MeterDayOutcome[]) => void;

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
    this.#mark = db.prepare('SELECT area_id, read FROM collection_meter_days WHERE day = ? AND meter_id = ?');
    this.#putMark = db.prepare('INSERT OR REPLACE INTO collection_meter_days (day, meter_id, area_id, read) VALUES (?, ?, ?, ?)');
    this.#pruneMarks = db.prepare('DELETE FROM collection_meter_days WHERE day < ?');
    this.#addArea = db.prepare(`
      INSERT INTO collection_area_stats (day, area_id, expected, collected) VALUES (?, ?, ?, ?)
      ON CONFLICT (day, area_id) DO UPDATE SET
        expected = expected + excluded.expected,
        collected = collected + excluded.collected`);
    this.#areaDays = db.prepare(`
      SELECT day, area_id, expected, collected FROM collection_area_stats
      WHERE day BETWEEN ? AND ? ORDER BY day, area_id`);
    this.#areaDaysOf = db.prepare(`
      SELECT day, area_id, expected, collected FROM collection_area_stats
      WHERE area_id IN (SELECT value FROM json_each(?)) AND day BETWEEN ? AND ? ORDER BY day, area_id`);
    this.#addMeterDays = db.transaction((outcomes: readonly MeterDayOutcome[]) => {
      const stored = new Map<string, MeterDayMark>();
      for (const o of outcomes) {
        const m = this.#mark.get(o.day, o.meterId);
        if (m !== undefined) stored.set(meterDayKey(o.day, o.meterId), { day: o.day, meterId: o.meterId, areaId: m.area_id, read: m.read === 1 });
      }
      const changes = countMeterDays(outcomes, stored);
      for (const m of changes.marks) this.#putMark.run(m.day, m.meterId, m.areaId, m.read ? 1 : 0);
      for (const d of changes.deltas) this.#addArea.run(d.day, d.areaId, d.expected, d.collected);
      const oldest = oldestMarkDay(outcomes);
      if (oldest !== undefined) this.#pruneMarks.run(oldest);
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

  addMeterDays(outcomes: readonly MeterDayOutcome[]): Promise<void> {
    return new Promise((resolve) => {
      // A transaction per chunk, so a flush of a whole round never holds the writer for long; a
      // chunk written before a failure is not counted twice on retry, the marks see to that.
      for (let i = 0; i < outcomes.length; i += MARK_CHUNK) this.#addMeterDays(outcomes.slice(i, i + MARK_CHUNK));
      resolve();
    });
  }

  areaDays(query: AreaDaysQuery): Promise<AreaDayCount[]> {
    return new Promise((resolve) => {
      const rows = query.areaIds === undefined
        ? this.#areaDays.all(query.from, query.to)
        : this.#areaDaysOf.all(JSON.stringify(query.areaIds), query.from, query.to);
      resolve(rows.map((r) => ({ day: r.day, areaId: r.area_id, expected: r.expected, collected: r.collected })));
    });
  }
}
