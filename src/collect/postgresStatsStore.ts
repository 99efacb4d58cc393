/**
 * Collection statistics in PostgreSQL: the embedded store's `collection_stats` and
 * `collection_area_stats` (src/collect/statsStore.ts) with the same meaning. A flush adds its
 * counts in one statement, so nodes flushing the same day and terminal at once add up, never
 * overwrite. Meter outcomes are counted under an advisory lock: two nodes that both read a
 * meter on the day its area moved between them count it once.
 */
import { ADVISORY_LOCK_SPACE, type PostgresDatabase } from '../storage/postgres/connection.js';
import { MARK_CHUNK, countMeterDays, meterDayKey, oldestMarkDay, type AreaDayCount, type MeterDayMark, type MeterDayOutcome } from './meterDays.js';
import type { AreaDaysQuery, CollectionStatsStore, DayCount } from './statsStore.js';

/** pg_advisory_xact_lock key under ADVISORY_LOCK_SPACE: 'mday'. */
const LOCK_METER_DAYS = 0x6d646179;

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
  day: string;
  meter_id: string;
  area_id: string;
  read: boolean;
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

  async addMeterDays(outcomes: readonly MeterDayOutcome[]): Promise<void> {
    // A transaction per chunk; a chunk written before a failure is not counted twice on retry, the marks see to that.
    for (let i = 0; i < outcomes.length; i += MARK_CHUNK) await this.#addMeterDays(outcomes.slice(i, i + MARK_CHUNK));
  }

  async areaDays(query: AreaDaysQuery): Promise<AreaDayCount[]> {
    const { from, to, areaIds } = query;
    const rows = await this.db.run((sql) => (areaIds === undefined
      ? sql<AreaRow[]>`SELECT day, area_id, expected, collected FROM collection_area_stats
                       WHERE day BETWEEN ${from} AND ${to} ORDER BY day, area_id COLLATE "C"`
      : sql<AreaRow[]>`SELECT day, area_id, expected, collected FROM collection_area_stats
                       WHERE area_id = ANY(${[...areaIds]}::text[]) AND day BETWEEN ${from} AND ${to} ORDER BY day, area_id COLLATE "C"`));
    return rows.map((r) => ({ day: r.day, areaId: r.area_id, expected: r.expected, collected: r.collected }));
  }

  #addMeterDays(outcomes: readonly MeterDayOutcome[]): Promise<void> {
    return this.db.run((sql) => sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_METER_DAYS})`;
      const found = await tx<MarkRow[]>`
        SELECT m.day, m.meter_id, m.area_id, m.read FROM collection_meter_days m
        JOIN unnest(${outcomes.map((o) => o.day)}::text[], ${outcomes.map((o) => o.meterId)}::text[]) AS o(day, meter_id)
          ON m.day = o.day AND m.meter_id = o.meter_id`;
      const stored = new Map<string, MeterDayMark>();
      for (const m of found) stored.set(meterDayKey(m.day, m.meter_id), { day: m.day, meterId: m.meter_id, areaId: m.area_id, read: m.read });
      const { marks, deltas } = countMeterDays(outcomes, stored);
      if (marks.length > 0) {
        await tx`
          INSERT INTO collection_meter_days (day, meter_id, area_id, read)
          SELECT * FROM unnest(${marks.map((m) => m.day)}::text[], ${marks.map((m) => m.meterId)}::text[],
                               ${marks.map((m) => m.areaId)}::text[], ${marks.map((m) => m.read)}::boolean[])
          ON CONFLICT (day, meter_id) DO UPDATE SET area_id = excluded.area_id, read = excluded.read`;
      }
      if (deltas.length > 0) {
        await tx`
          INSERT INTO collection_area_stats (day, area_id, expected, collected)
          SELECT * FROM unnest(${deltas.map((d) => d.day)}::text[], ${deltas.map((d) => d.areaId)}::text[],
                               ${deltas.map((d) => d.expected)}::int8[], ${deltas.map((d) => d.collected)}::int8[])
          ON CONFLICT (day, area_id) DO UPDATE SET
            expected = collection_area_stats.expected + excluded.expected,
            collected = collection_area_stats.collected + excluded.collected`;
      }
      const oldest = oldestMarkDay(outcomes);
      if (oldest !== undefined) await tx`DELETE FROM collection_meter_days WHERE day < ${oldest}`;
    }));
  }
}
