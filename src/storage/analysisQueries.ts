/**
 * Aggregations over the readings table for load analysis: an area's summed active
 * power per time bucket, and each meter's energy-register advance over a period. Both run as
 * SQL over the primary key (meter_key, quantity, ts), so a day of 1-minute readings of an
 * area of thousands of meters is aggregated in the database, not row by row in JavaScript.
 * `AnalysisQueries` is the port; the embedded store's SQL is here, PostgreSQL's in
 * src/storage/postgres/analysisQueries.ts.
 *
 * In SQLite, meter sets travel as one JSON array (json_each): an area may hold more meters
 * than SQLite allows bound parameters.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from './db.js';

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

/** What area analysis asks of the store; every driver answers the same and refuses the same queries. */
export interface AnalysisQueries {
  /** Summed active power of a set of meters per bucket; buckets without any reading are absent. */
  areaLoad(q: AreaLoadQuery): Promise<LoadPoint[]>;
  /** The import register of each meter at the period's edges (nearest reading within the tolerance), in `meterKeys` order. */
  energyEdges(q: EnergyWindow): Promise<EnergyEdges[]>;
}

/** The quantities the analysis aggregates; their codes are looked up once, when a driver's queries are built. */
export const ANALYSIS_QUANTITIES = { power: 'power.active', energy: 'energy.active.import' } as const;

/**
 * Checks an area-load query for every driver; returns the bucket origin at or before `from`
 * (so integer division of `ts - origin` never sees a negative), or undefined when there is
 * nothing to ask (no meters).
 */
export function areaLoadOrigin(q: AreaLoadQuery): number | undefined {
  if (!Number.isInteger(q.stepMs) || q.stepMs < 1) throw new AnalysisQueryError('stepMs must be a positive integer');
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from > q.to) throw new AnalysisQueryError('from/to must be finite with from <= to');
  if (q.meterKeys.length === 0) return undefined;
  return q.origin - Math.ceil(Math.max(0, q.origin - q.from) / q.stepMs) * q.stepMs;
}

/** Checks an energy window for every driver; false when there is nothing to ask (no meters). */
export function checkEnergyWindow(q: EnergyWindow): boolean {
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from >= q.to) throw new AnalysisQueryError('from must be before to');
  return q.meterKeys.length > 0;
}

/** A row of either driver's edge query as the port answers it. */
export function edgesOf(r: EdgeRow): EnergyEdges {
  return {
    meterKey: r.meterKey,
    start: r.startTs === null || r.startValue === null ? null : { ts: r.startTs, value: r.startValue },
    end: r.endTs === null || r.endValue === null ? null : { ts: r.endTs, value: r.endValue },
  };
}

/** The reading store fills quantity_codes when it opens; the analysis queries must be built after it. */
export function quantityMissing(name: string): AnalysisQueryError {
  return new AnalysisQueryError(`quantity ${name} has no code yet: open the reading store before the analysis queries`);
}

export class SqliteAnalysisQueries implements AnalysisQueries {
  readonly #load: Statement<[number, number, string, number, number, number], { b: number; value: number; meters: number }>;
  readonly #edges: Statement<(number | string)[], EdgeRow>;
  readonly #power: number;
  readonly #energy: number;

  constructor(db: Db) {
    this.#power = quantityCode(db, ANALYSIS_QUANTITIES.power);
    this.#energy = quantityCode(db, ANALYSIS_QUANTITIES.energy);
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

  areaLoad(q: AreaLoadQuery): Promise<LoadPoint[]> {
    return settled(() => {
      const origin = areaLoadOrigin(q);
      if (origin === undefined) return [];
      const rows = this.#load.all(origin, q.stepMs, JSON.stringify(q.meterKeys), this.#power, Math.floor(q.from), Math.floor(q.to));
      return rows.map((r) => ({ ts: origin + r.b * q.stepMs, value: r.value, meters: r.meters }));
    });
  }

  energyEdges(q: EnergyWindow): Promise<EnergyEdges[]> {
    return settled(() => {
      if (!checkEnergyWindow(q)) return [];
      const edge = (at: number): number[] => [this.#energy, at - q.toleranceMs, at + q.toleranceMs, at];
      return this.#edges.all(...edge(q.from), ...edge(q.from), ...edge(q.to), ...edge(q.to), JSON.stringify(q.meterKeys)).map(edgesOf);
    });
  }
}

export interface EdgeRow {
  meterKey: number;
  startTs: number | null;
  startValue: number | null;
  endTs: number | null;
  endValue: number | null;
}

function quantityCode(db: Db, name: string): number {
  const row = db.prepare<[string], { code: number }>('SELECT code FROM quantity_codes WHERE name = ?').get(name);
  if (row === undefined) throw quantityMissing(name);
  return row.code;
}
