/**
 * Aggregations over the readings table for load analysis: an area's summed active
 * power per time bucket, and each meter's energy-register advance over a period. Both run as
 * SQL over the primary key (meter_key, quantity, ts), so a day of 1-minute readings of an
 * area of thousands of meters is aggregated in SQLite, not row by row in JavaScript.
 *
 * Meter sets travel as one JSON array (json_each): an area may hold more meters than SQLite
 * allows bound parameters.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

export interface AreaLoadQuery {
  /** Compact keys (`meters.key`) of the meters whose power is summed. */
  readonly meterKeys: readonly number[];
  /** Inclusive, ms since epoch. */
  readonly from: number;
  /** Exclusive, ms since epoch. */
  readonly to: number;
  readonly stepMs: number;
  /**
   * Buckets start at `origin + k × stepMs` (ms since epoch); e.g. a local midnight so that
   * 15-minute buckets line up with the station's quarter hours.
   */
  readonly origin: number;
}

/** One bucket: the sum over meters of each meter's average power in the bucket. */
export interface LoadPoint {
  /** Bucket start, ms since epoch. */
  readonly ts: number;
  /** kW. */
  readonly value: number;
  /** Meters that had at least one usable reading in the bucket. */
  readonly meters: number;
}

export interface EnergyWindow {
  readonly meterKeys: readonly number[];
  readonly from: number;
  readonly to: number;
  /** A register value counts for an edge when read within this distance of it. */
  readonly toleranceMs: number;
}

/** A meter's import register at the two edges of a period; null where no reading was close enough. */
export interface EnergyEdges {
  readonly meterKey: number;
  readonly start: { readonly ts: number; readonly value: number } | null;
  readonly end: { readonly ts: number; readonly value: number } | null;
}

export class AnalysisQueryError extends Error {
  readonly code = 'ANALYSIS_QUERY';
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisQueryError';
  }
}

export class AnalysisQueries {
  readonly #load: Statement<[number, number, string, number, number, number], { b: number; value: number; meters: number }>;
  readonly #edges: Statement<(number | string)[], EdgeRow>;
  readonly #power: number;
  readonly #energy: number;

  constructor(db: Db) {
    this.#power = quantityCode(db, 'power.active');
    this.#energy = quantityCode(db, 'energy.active.import');
    // Inner query: one average per meter and bucket; outer: the sum over meters per bucket.
    // `bad` values (quality 2) are kept for the record but never aggregated.
    this.#load = db.prepare(`
      SELECT b, SUM(v) AS value, COUNT(*) AS meters FROM (
        SELECT (r.ts - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS b, AVG(r.value) AS v
        FROM json_each(?) AS k JOIN readings AS r ON r.meter_key = k.value
        WHERE r.quantity = ? AND r.ts >= ? AND r.ts < ? AND r.quality < 2
        GROUP BY r.meter_key, b
      ) GROUP BY b ORDER BY b`);
    // Each edge: the reading nearest to it within the tolerance (a short range scan per meter).
    const nearest = (col: 'ts' | 'value'): string => `(SELECT r.${col} FROM readings r
        WHERE r.meter_key = k.value AND r.quantity = ? AND r.ts >= ? AND r.ts <= ? AND r.quality < 2
        ORDER BY ABS(r.ts - ?), r.ts LIMIT 1)`;
    this.#edges = db.prepare(`
      SELECT k.value AS meterKey,
        ${nearest('ts')} AS startTs, ${nearest('value')} AS startValue,
        ${nearest('ts')} AS endTs, ${nearest('value')} AS endValue
      FROM json_each(?) AS k`);
  }

  /** Summed active power of a set of meters per bucket; buckets without any reading are absent. */
  areaLoad(q: AreaLoadQuery): LoadPoint[] {
    if (!Number.isInteger(q.stepMs) || q.stepMs < 1) throw new AnalysisQueryError('stepMs must be a positive integer');
    if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from > q.to) throw new AnalysisQueryError('from/to must be finite with from <= to');
    if (q.meterKeys.length === 0) return [];
    // Bucket index relative to an origin at or before `from`, so integer division never sees a negative.
    const origin = q.origin - Math.ceil(Math.max(0, q.origin - q.from) / q.stepMs) * q.stepMs;
    const rows = this.#load.all(origin, q.stepMs, JSON.stringify(q.meterKeys), this.#power, Math.floor(q.from), Math.floor(q.to));
    return rows.map((r) => ({ ts: origin + r.b * q.stepMs, value: r.value, meters: r.meters }));
  }

  /** The import register of each meter at the period's edges (nearest reading within the tolerance). */
  energyEdges(q: EnergyWindow): EnergyEdges[] {
    if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from >= q.to) throw new AnalysisQueryError('from must be before to');
    if (q.meterKeys.length === 0) return [];
    const edge = (at: number): number[] => [this.#energy, at - q.toleranceMs, at + q.toleranceMs, at];
    const rows = this.#edges.all(
      ...edge(q.from), ...edge(q.from), ...edge(q.to), ...edge(q.to), JSON.stringify(q.meterKeys),
    );
    return rows.map((r) => ({
      meterKey: r.meterKey,
      start: r.startTs === null || r.startValue === null ? null : { ts: r.startTs, value: r.startValue },
      end: r.endTs === null || r.endValue === null ? null : { ts: r.endTs, value: r.endValue },
    }));
  }
}

interface EdgeRow {
  meterKey: number;
  startTs: number | null;
  startValue: number | null;
  endTs: number | null;
  endValue: number | null;
}

function quantityCode(db: Db, name: string): number {
  const row = db.prepare<[string], { code: number }>('SELECT code FROM quantity_codes WHERE name = ?').get(name);
  // The reading store fills quantity_codes when it opens; it must be built first.
  if (row === undefined) throw new AnalysisQueryError(`quantity ${name} has no code yet: open the ReadingStore before AnalysisQueries`);
  return row.code;
}
