/**
 * The analysis queries (src/storage/analysisQueries.ts) on PostgreSQL, over the readings table
 * range-partitioned by day (src/storage/postgres/partitions.ts).
 *
 * Both follow the access path "an area's meters at a time": the meter set is one int4[]
 * parameter, and each meter is a seek on the partitions' primary key (meter_key, quantity, ts)
 * bounded by the time range, so only the partitions of the range are read (pruned when the
 * statement starts) and only the rows of the area's meters in them. An area's load sums per
 * meter and bucket in the database; the register edges are one short range scan per meter and
 * edge (LATERAL, LIMIT 1).
 */
import {
  ANALYSIS_QUANTITIES, areaLoadOrigin, checkEnergyWindow, edgesOf, quantityMissing,
  type AnalysisQueries, type AreaLoadQuery, type EdgeRow, type EnergyEdges, type EnergyWindow, type LoadPoint,
} from '../analysisQueries.js';
import type { PostgresDatabase } from './connection.js';

// Inner query: one average per meter and bucket; outer: the sum over meters per bucket.
// `bad` values (quality 2) are kept for the record but never aggregated.
const AREA_LOAD = `
  SELECT b, sum(v) AS value, count(*) AS meters FROM (
    SELECT (r.ts - $1::int8) / $2::int8 AS b, avg(r.value) AS v
    FROM readings r
    WHERE r.meter_key = ANY($3::int4[]) AND r.quantity = $4::int2 AND r.ts >= $5::int8 AND r.ts < $6::int8 AND r.quality < 2
    GROUP BY r.meter_key, b
  ) per_meter GROUP BY b ORDER BY b`;

// Each edge: the reading nearest to it within the tolerance (ties: the earlier), as the embedded store.
const nearest = (lo: string, hi: string, at: string): string => `
  LEFT JOIN LATERAL (
    SELECT r.ts, r.value FROM readings r
    WHERE r.meter_key = k.key AND r.quantity = $2::int2 AND r.ts >= ${lo}::int8 AND r.ts <= ${hi}::int8 AND r.quality < 2
    ORDER BY abs(r.ts - ${at}::int8), r.ts LIMIT 1
  )`;
const ENERGY_EDGES = `
  SELECT k.key AS "meterKey", s.ts AS "startTs", s.value AS "startValue", e.ts AS "endTs", e.value AS "endValue"
  FROM unnest($1::int4[]) WITH ORDINALITY AS k(key, ord)
  ${nearest('$3', '$4', '$5')} s ON true
  ${nearest('$6', '$7', '$8')} e ON true
  ORDER BY k.ord`;

export class PostgresAnalysisQueries implements AnalysisQueries {
  /** Looks up the codes of the quantities analysed; the reading store must have opened on this database first. */
  static async open(db: PostgresDatabase): Promise<PostgresAnalysisQueries> {
    const names = Object.values(ANALYSIS_QUANTITIES);
    const rows = await db.run((sql) => sql<{ code: number; name: string }[]>`SELECT code, name FROM quantity_codes WHERE name = ANY(${names}::text[])`);
    const code = (name: string): number => {
      const row = rows.find((r) => r.name === name);
      if (row === undefined) throw quantityMissing(name);
      return row.code;
    };
    return new PostgresAnalysisQueries(db, code(ANALYSIS_QUANTITIES.power), code(ANALYSIS_QUANTITIES.energy));
  }

  private constructor(private readonly db: PostgresDatabase, private readonly power: number, private readonly energy: number) {}

  async areaLoad(q: AreaLoadQuery): Promise<LoadPoint[]> {
    const origin = areaLoadOrigin(q);
    if (origin === undefined) return [];
    const params = [origin, q.stepMs, [...q.meterKeys], this.power, Math.floor(q.from), Math.floor(q.to)];
    const rows = await this.db.run((sql) => sql.unsafe<{ b: number; value: number; meters: number }[]>(AREA_LOAD, params, { prepare: true }));
    return rows.map((r) => ({ ts: origin + r.b * q.stepMs, value: r.value, meters: r.meters }));
  }

  async energyEdges(q: EnergyWindow): Promise<EnergyEdges[]> {
    if (!checkEnergyWindow(q)) return [];
    const t = q.toleranceMs;
    const params = [[...q.meterKeys], this.energy, q.from - t, q.from + t, q.from, q.to - t, q.to + t, q.to];
    const rows = await this.db.run((sql) => sql.unsafe<EdgeRow[]>(ENERGY_EDGES, params, { prepare: true }));
    return rows.map(edgesOf);
  }
}
