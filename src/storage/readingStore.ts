import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { MeterId } from '../domain/ids.js';
import { QUANTITIES, QUANTITY_NAMES, isQuantity, type Quantity } from '../domain/quantity.js';
import type { LatestValue, Quality, Reading } from '../domain/reading.js';

export type { LatestValue };

/** Resolves a meter's compact integer key (`meters.key`); `undefined` for an unknown meter. */
export type MeterKeyResolver = (id: MeterId) => number | undefined;

export interface WriteResult {
  readonly written: number;
  /** Readings whose meter the registry does not know: skipped, not stored. */
  readonly unknownMeter: number;
  /** Readings with a non-finite value (NaN, ±Infinity): skipped, SQLite cannot hold them as REAL. */
  readonly invalidValue: number;
}


export type SeriesAgg = 'avg' | 'min' | 'max' | 'last';

export interface SeriesQuery {
  readonly meterId: MeterId;
  readonly quantity: Quantity;
  /** Inclusive, ms since epoch. */
  readonly from: number;
  /** Exclusive, ms since epoch. */
  readonly to: number;
  /** Bucket width in ms; buckets are aligned to multiples of the step since the epoch. Raw points when absent. */
  readonly stepMs?: number;
  /** Aggregate per bucket; default `avg`. Ignored for raw series. */
  readonly agg?: SeriesAgg;
  /** At most this many points, else `SeriesTooLarge`; default `DEFAULT_MAX_POINTS`. */
  readonly maxPoints?: number;
}

/** A series point; `ts` is the bucket start for a bucketed series. Raw points carry their quality. */
export interface SeriesPoint {
  readonly ts: number;
  readonly value: number;
  readonly quality?: Quality;
}

export interface ReadingStoreStats {
  readonly written: number;
  readonly unknownMeter: number;
  readonly invalidValue: number;
}

export const DEFAULT_MAX_POINTS = 10_000;

/**
 * The reading store as every driver offers it: the embedded store answers at once, the
 * PostgreSQL store (src/storage/postgres/readingStore.ts) over the network. Same semantics:
 * a later write of the same (meter, quantity, ts) wins; unknown meters and non-finite values
 * are counted and skipped; `series` throws `SeriesTooLarge` and `InvalidSeriesQuery` alike.
 */
export interface AsyncReadingStore {
  write(batch: readonly Reading[]): Promise<WriteResult>;
  latest(meterId: MeterId): Promise<LatestValue[]>;
  series(q: SeriesQuery): Promise<SeriesPoint[]>;
  stats(): ReadingStoreStats;
}

/**
 * The embedded store in the shape every driver offers: what the station's reading path and
 * API speak, so they never learn which driver they run on. A throw becomes a rejection.
 */
export function asyncReadingStore(store: ReadingStore): AsyncReadingStore {
  return {
    write: (batch) => new Promise((resolve) => { resolve(store.write(batch)); }),
    latest: (id) => new Promise((resolve) => { resolve(store.latest(id)); }),
    series: (q) => new Promise((resolve) => { resolve(store.series(q)); }),
    stats: () => store.stats(),
  };
}

export class SeriesTooLarge extends Error {
  readonly code = 'SERIES_TOO_LARGE';
  constructor(readonly maxPoints: number) {
    super(`series has more than ${maxPoints} points: narrow the range or widen the step`);
    this.name = 'SeriesTooLarge';
  }
}

export class InvalidSeriesQuery extends Error {
  readonly code = 'INVALID_SERIES_QUERY';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSeriesQuery';
  }
}

/**
 * The embedded reading store: one row per (meter, quantity, device timestamp) in the
 * `readings` table (WITHOUT ROWID, clustered on that key), so a re-read overwrites and the
 * queries below are range scans or single seeks on the primary key.
 */
export class ReadingStore {
  private readonly insert: Statement<[number, number, number, number, number, number]>;
  private readonly latestOne: Statement<[number, number], { ts: number; value: number; quality: number }>;
  private readonly rawSeries: Statement<[number, number, number, number, number], { ts: number; value: number; quality: number }>;
  private readonly bucketed: Record<SeriesAgg, Statement<[number, number, number, number, number, number], { bucket: number; value: number }>>;
  private readonly writeTx: (batch: readonly Reading[]) => WriteResult;
  /** Catalogue name → persisted code; codes are stable across releases (see `syncQuantityCodes`). */
  private readonly codes: ReadonlyMap<Quantity, number>;
  private readonly byCode: ReadonlyMap<number, Quantity>;
  private totals = { written: 0, unknownMeter: 0, invalidValue: 0 };

  constructor(private readonly db: Db, private readonly meterKey: MeterKeyResolver) {
    this.codes = syncQuantityCodes(db);
    this.byCode = new Map([...this.codes].map(([q, c]) => [c, q]));
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO readings (meter_key, quantity, ts, value, quality, source) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.latestOne = db.prepare(
      'SELECT ts, value, quality FROM readings WHERE meter_key = ? AND quantity = ? ORDER BY ts DESC LIMIT 1',
    );
    this.rawSeries = db.prepare(
      'SELECT ts, value, quality FROM readings WHERE meter_key = ? AND quantity = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?',
    );
    // `bad` values are kept for the record but never aggregated (see Quality in src/domain/reading.ts).
    const bucket = (expr: string): Statement<[number, number, number, number, number, number], { bucket: number; value: number }> =>
      db.prepare(
        `SELECT ts - (ts % ?) AS bucket, ${expr} AS value FROM readings
         WHERE meter_key = ? AND quantity = ? AND ts >= ? AND ts < ? AND quality < 2
         GROUP BY bucket ORDER BY bucket LIMIT ?`,
      );
    this.bucketed = {
      avg: bucket('AVG(value)'),
      min: bucket('MIN(value)'),
      max: bucket('MAX(value)'),
      // SQLite: with a lone MAX() aggregate, bare columns come from the row holding the maximum.
      last: db.prepare(
        `SELECT ts - (ts % ?) AS bucket, MAX(ts) AS maxTs, value FROM readings
         WHERE meter_key = ? AND quantity = ? AND ts >= ? AND ts < ? AND quality < 2
         GROUP BY bucket ORDER BY bucket LIMIT ?`,
      ),
    };
    this.writeTx = db.transaction((batch: readonly Reading[]) => this.insertAll(batch));
  }

  /** Stores a batch in one transaction; unknown meters and non-finite values are counted and skipped. */
  write(batch: readonly Reading[]): WriteResult {
    if (batch.length === 0) return { written: 0, unknownMeter: 0, invalidValue: 0 };
    const r = this.writeTx(batch);
    this.totals = {
      written: this.totals.written + r.written,
      unknownMeter: this.totals.unknownMeter + r.unknownMeter,
      invalidValue: this.totals.invalidValue + r.invalidValue,
    };
    return r;
  }

  /** The latest reading of each quantity of a meter, one primary-key seek per catalogue quantity. */
  latest(meterId: MeterId): LatestValue[] {
    const key = this.meterKey(meterId);
    if (key === undefined) return [];
    const out: LatestValue[] = [];
    for (const [quantity, code] of this.codes) {
      const row = this.latestOne.get(key, code);
      if (row === undefined) continue;
      out.push({ quantity, value: row.value, unit: QUANTITIES[quantity].unit, ts: row.ts, quality: qualityOf(row.quality) });
    }
    return out;
  }

  /** Points of one quantity in [from, to): raw, or bucketed by `stepMs` with `agg`. */
  series(q: SeriesQuery): SeriesPoint[] {
    const { from, to, limit, maxPoints } = seriesBounds(q);
    const key = this.meterKey(q.meterId);
    const code = this.codes.get(q.quantity);
    if (key === undefined || code === undefined) return [];
    let points: SeriesPoint[];
    if (q.stepMs === undefined) {
      points = this.rawSeries.all(key, code, from, to, limit).map((r) => ({ ts: r.ts, value: r.value, quality: qualityOf(r.quality) }));
    } else {
      points = this.bucketed[q.agg ?? 'avg'].all(q.stepMs, key, code, from, to, limit).map((r) => ({ ts: r.bucket, value: r.value }));
    }
    if (points.length > maxPoints) throw new SeriesTooLarge(maxPoints);
    return points;
  }

  stats(): ReadingStoreStats {
    return { ...this.totals };
  }

  private insertAll(batch: readonly Reading[]): WriteResult {
    let written = 0;
    let unknownMeter = 0;
    let invalidValue = 0;
    for (const r of batch) {
      const row = rowOf(r, this.meterKey, this.codes);
      if (row === 'unknownMeter') unknownMeter++;
      else if (row === 'invalidValue') invalidValue++;
      else {
        this.insert.run(row.meterKey, row.quantity, row.ts, r.value, row.quality, row.source);
        written++;
      }
    }
    return { written, unknownMeter, invalidValue };
  }
}

/** Quality as stored (every driver): `bad` is the highest, so `quality < 2` leaves it out of aggregates. */
export const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 0, suspect: 1, bad: 2 };

/** A reading as a row, by the rules every driver shares: its meter must be known, its quantity coded, its value and time finite. */
export interface ReadingRow {
  readonly meterKey: number;
  readonly quantity: number;
  /** Whole milliseconds. */
  readonly ts: number;
  readonly quality: number;
  /** 0 poll, 1 push. */
  readonly source: number;
}

export function rowOf(r: Reading, meterKey: MeterKeyResolver, codes: ReadonlyMap<Quantity, number>): ReadingRow | 'unknownMeter' | 'invalidValue' {
  const key = meterKey(r.meterId);
  if (key === undefined) return 'unknownMeter';
  const code = codes.get(r.quantity);
  if (code === undefined || !Number.isFinite(r.value) || !Number.isFinite(r.ts)) return 'invalidValue';
  return { meterKey: key, quantity: code, ts: Math.round(r.ts), quality: QUALITY_CODE[r.quality], source: r.source.mode === 'push' ? 1 : 0 };
}
const QUALITY_BY_CODE: readonly Quality[] = ['good', 'suspect', 'bad'];

export function qualityOf(code: number): Quality {
  return QUALITY_BY_CODE[code] ?? 'bad';
}

/** A series query checked, with its integer bounds and the row limit to ask a driver for. */
export interface SeriesBounds {
  readonly from: number;
  readonly to: number;
  readonly maxPoints: number;
  /** One more than allowed: its presence is the overflow signal, without a COUNT pass. */
  readonly limit: number;
}

/** Checks a series query the same way for every driver; throws `InvalidSeriesQuery`. */
export function seriesBounds(q: SeriesQuery): SeriesBounds {
  const maxPoints = q.maxPoints ?? DEFAULT_MAX_POINTS;
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new InvalidSeriesQuery('maxPoints must be a positive integer');
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.from > q.to) throw new InvalidSeriesQuery('from/to must be finite with from <= to');
  if (q.stepMs !== undefined && (!Number.isInteger(q.stepMs) || q.stepMs < 1)) throw new InvalidSeriesQuery('stepMs must be a positive integer');
  return { from: Math.floor(q.from), to: Math.floor(q.to), maxPoints, limit: maxPoints + 1 };
}

export interface QuantityCodeRow {
  readonly code: number;
  readonly name: string;
}

/**
 * The catalogue's codes given those already persisted: codes are reused by name, so a
 * catalogue reorder never relabels stored readings; a new name gets its catalogue index when
 * free, else the next unused code. `added` are the rows to persist.
 */
export function assignQuantityCodes(persisted: readonly QuantityCodeRow[]): { codes: Map<Quantity, number>; added: QuantityCodeRow[] } {
  const codes = new Map<Quantity, number>();
  const used = new Set<number>();
  for (const r of persisted) {
    used.add(r.code);
    if (isQuantity(r.name)) codes.set(r.name, r.code);
  }
  const added: QuantityCodeRow[] = [];
  let next = Math.max(QUANTITY_NAMES.length, ...used) + 1;
  QUANTITY_NAMES.forEach((name, index) => {
    if (codes.has(name)) return;
    const code = used.has(index) ? next++ : index;
    added.push({ code, name });
    used.add(code);
    codes.set(name, code);
  });
  return { codes, added };
}

/** Makes `quantity_codes` cover the catalogue (`assignQuantityCodes`) and returns the mapping. */
function syncQuantityCodes(db: Db): Map<Quantity, number> {
  return db.transaction(() => {
    const { codes, added } = assignQuantityCodes(db.prepare<[], QuantityCodeRow>('SELECT code, name FROM quantity_codes').all());
    const add = db.prepare<[number, string]>('INSERT INTO quantity_codes (code, name) VALUES (?, ?)');
    for (const r of added) add.run(r.code, r.name);
    return codes;
  })();
}
