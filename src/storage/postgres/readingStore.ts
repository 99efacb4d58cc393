/**
 * The reading store on PostgreSQL: the embedded store's semantics (src/storage/readingStore.ts)
 * on a `readings` table range-partitioned by day (src/storage/postgres/partitions.ts).
 *
 * A batch goes in one multi-row `unnest` insert (one statement, one round trip, one
 * transaction), idempotent on (meter, quantity, ts): a later write of the same key wins, as
 * the embedded store's INSERT OR REPLACE, and a redelivery of the same reading changes no row
 * (the update is skipped when nothing differs), so a batch retried after a lost commit
 * acknowledgement stores nothing twice.
 *
 * A reading whose day has no partition (too far ahead, or past retention) is refused before
 * the insert, counted, and reported as a `ReadingsOutsidePartitions`: the rest of its batch is
 * stored. The store knows the partitions from its own maintenance; if another node changed them
 * since, the insert fails, the store re-reads the catalogue and sends the batch once more.
 */
import type { MeterId } from '../../domain/ids.js';
import { QUANTITIES, type Quantity } from '../../domain/quantity.js';
import type { LatestValue, Reading } from '../../domain/reading.js';
import {
  SeriesTooLarge, rowOf, assignQuantityCodes, qualityOf, seriesBounds,
  type AsyncReadingStore, type MeterKeyResolver, type QuantityCodeRow, type ReadingStoreStats, type SeriesAgg, type SeriesPoint, type SeriesQuery, type WriteResult,
} from '../readingStore.js';
import type { PostgresDatabase, Queryable } from './connection.js';
import { DatabaseError, codeOf, databaseError } from './errors.js';
import { ADVISORY_LOCK_SPACE } from './connection.js';
import { dayOf, maintainPartitions, partitionDays, partitionWindow, type MaintenanceResult, type PartitionWindow } from './partitions.js';

export interface PgWriteResult extends WriteResult {
  /** Readings refused because their day has no partition (see `ReadingsOutsidePartitions`). */
  readonly outsidePartitions: number;
}

export interface PgReadingStoreStats extends ReadingStoreStats {
  readonly outsidePartitions: number;
}

export interface PgReadingStoreOptions {
  /** `storage.retentionDays`: partitions older than this are dropped. */
  readonly retentionDays: number;
  /** `storage.postgres.partitionDaysAhead`. */
  readonly partitionDaysAhead: number;
  /** `storage.postgres.maintenanceIntervalMs`; the first run is part of `open`. */
  readonly maintenanceIntervalMs: number;
  readonly now?: () => number;
  /** Called with each refusal (one per batch that had any); log it throttled. */
  readonly onRefused?: (error: ReadingsOutsidePartitions) => void;
  /** A periodic maintenance run that failed; it is tried again at the next interval. */
  readonly onMaintenanceError?: (error: DatabaseError) => void;
  readonly onMaintenance?: (result: MaintenanceResult) => void;
}

/** Readings of one batch whose day has no partition: refused, not stored. */
export class ReadingsOutsidePartitions extends Error {
  readonly code = 'READINGS_OUTSIDE_PARTITIONS';
  constructor(readonly count: number, readonly earliestTs: number, readonly latestTs: number, readonly window: PartitionWindow) {
    super(`${count} reading(s) refused: their time (${iso(earliestTs)} … ${iso(latestTs)}) has no partition; `
      + `readings are kept from ${iso(window.firstDay * 86_400_000)} (storage.retentionDays) to the end of ${iso(window.lastDay * 86_400_000).slice(0, 10)} (storage.postgres.partitionDaysAhead)`);
    this.name = 'ReadingsOutsidePartitions';
  }
}

/** SQLSTATE 23514 check_violation: "no partition of relation found for row". */
const NO_PARTITION = '23514';
/** SQLSTATE 21000 cardinality_violation: one key twice in one ON CONFLICT DO UPDATE. */
const KEY_TWICE_IN_BATCH = '21000';
/** The advisory lock under which codes are added (the import adds a source's codes under it too). */
export const LOCK_QUANTITY_CODES = 3;

const UPSERT = `
  INSERT INTO readings (meter_key, quantity, ts, value, quality, source)
  SELECT * FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[], $5::int2[], $6::int2[])
  ON CONFLICT (meter_key, quantity, ts) DO UPDATE
    SET value = excluded.value, quality = excluded.quality, source = excluded.source
    WHERE (readings.value, readings.quality, readings.source) IS DISTINCT FROM (excluded.value, excluded.quality, excluded.source)`;

// One seek per quantity: each lateral scan walks the meter's partitions newest first and stops at the first row.
const LATEST = `
  SELECT q.code AS quantity, r.ts, r.value, r.quality
  FROM unnest($2::int2[]) AS q(code)
  CROSS JOIN LATERAL (
    SELECT ts, value, quality FROM readings
    WHERE meter_key = $1 AND quantity = q.code ORDER BY ts DESC LIMIT 1
  ) r`;

const RAW_SERIES = `
  SELECT ts, value, quality FROM readings
  WHERE meter_key = $1 AND quantity = $2 AND ts >= $3 AND ts < $4 ORDER BY ts LIMIT $5`;

// `bad` values are kept for the record but never aggregated (see Quality in src/domain/reading.ts).
const AGGREGATE: Readonly<Record<SeriesAgg, string>> = {
  avg: 'avg(value)',
  min: 'min(value)',
  max: 'max(value)',
  last: '(array_agg(value ORDER BY ts DESC))[1]',
};
const bucketed = (agg: SeriesAgg): string => `
  SELECT ts - ts % $1 AS bucket, ${AGGREGATE[agg]} AS value FROM readings
  WHERE meter_key = $2 AND quantity = $3 AND ts >= $4 AND ts < $5 AND quality < 2
  GROUP BY bucket ORDER BY bucket LIMIT $6`;

interface Columns {
  meterKey: number[];
  quantity: number[];
  ts: number[];
  value: number[];
  quality: number[];
  source: number[];
}

export class PgReadingStore implements AsyncReadingStore {
  private days: ReadonlySet<number> = new Set();
  private currentWindow: PartitionWindow;
  private totals = { written: 0, unknownMeter: 0, invalidValue: 0, outsidePartitions: 0 };
  private timer: NodeJS.Timeout | undefined;
  private maintaining: Promise<MaintenanceResult> | undefined;
  private readonly byCode: ReadonlyMap<number, Quantity>;
  private readonly now: () => number;

  /** Loads the quantity codes, runs the first partition maintenance and schedules the next ones. */
  static async open(db: PostgresDatabase, meterKey: MeterKeyResolver, options: PgReadingStoreOptions): Promise<PgReadingStore> {
    const codes = await db.run((sql) => sql.begin((tx) => syncQuantityCodes(tx)));
    const store = new PgReadingStore(db, meterKey, codes, options);
    await store.maintain();
    store.timer = setInterval(() => {
      store.maintain().catch((err: unknown) => options.onMaintenanceError?.(databaseError(err, db.target)));
    }, options.maintenanceIntervalMs);
    store.timer.unref();
    return store;
  }

  private constructor(
    private readonly db: PostgresDatabase,
    private readonly meterKey: MeterKeyResolver,
    private readonly codes: ReadonlyMap<Quantity, number>,
    private readonly options: PgReadingStoreOptions,
  ) {
    this.byCode = new Map([...codes].map(([q, c]) => [c, q]));
    this.now = options.now ?? Date.now;
    this.currentWindow = partitionWindow(this.now(), options.retentionDays, options.partitionDaysAhead);
  }

  /**
   * Stores a batch in one statement; unknown meters, non-finite values and readings outside
   * every partition are counted and skipped. Throws a `DatabaseError` when the database fails,
   * having stored nothing of the batch: the caller retries the same batch.
   */
  async write(batch: readonly Reading[]): Promise<PgWriteResult> {
    if (batch.length === 0) return { written: 0, unknownMeter: 0, invalidValue: 0, outsidePartitions: 0 };
    let prepared = this.columns(batch);
    try {
      await this.upsert(prepared.columns);
    } catch (err) {
      if (sqlState(err) !== NO_PARTITION) throw databaseError(err, this.db.target);
      // Another node's maintenance dropped or created partitions since ours: look again, once.
      this.days = await this.db.run((sql) => partitionDays(sql));
      prepared = this.columns(batch);
      await this.db.run(() => this.upsert(prepared.columns));
    }
    const { result, refused } = prepared;
    this.totals = {
      written: this.totals.written + result.written,
      unknownMeter: this.totals.unknownMeter + result.unknownMeter,
      invalidValue: this.totals.invalidValue + result.invalidValue,
      outsidePartitions: this.totals.outsidePartitions + result.outsidePartitions,
    };
    if (refused !== undefined) this.options.onRefused?.(refused);
    return result;
  }

  /** The latest reading of each quantity of a meter. */
  async latest(meterId: MeterId): Promise<LatestValue[]> {
    const key = this.meterKey(meterId);
    if (key === undefined) return [];
    const rows = await this.db.run((sql) =>
      sql.unsafe<{ quantity: number; ts: number; value: number; quality: number }[]>(LATEST, [key, [...this.codes.values()]], { prepare: true }));
    const out: LatestValue[] = [];
    for (const r of rows) {
      const quantity = this.byCode.get(r.quantity);
      if (quantity === undefined) continue;
      out.push({ quantity, value: r.value, unit: QUANTITIES[quantity].unit, ts: r.ts, quality: qualityOf(r.quality) });
    }
    return out;
  }

  /** Points of one quantity in [from, to): raw, or bucketed by `stepMs` with `agg`. */
  async series(q: SeriesQuery): Promise<SeriesPoint[]> {
    const { from, to, limit, maxPoints } = seriesBounds(q);
    const key = this.meterKey(q.meterId);
    const code = this.codes.get(q.quantity);
    if (key === undefined || code === undefined) return [];
    let points: SeriesPoint[];
    if (q.stepMs === undefined) {
      const rows = await this.db.run((sql) =>
        sql.unsafe<{ ts: number; value: number; quality: number }[]>(RAW_SERIES, [key, code, from, to, limit], { prepare: true }));
      points = rows.map((r) => ({ ts: r.ts, value: r.value, quality: qualityOf(r.quality) }));
    } else {
      const step = q.stepMs;
      const rows = await this.db.run((sql) =>
        sql.unsafe<{ bucket: number; value: number }[]>(bucketed(q.agg ?? 'avg'), [step, key, code, from, to, limit], { prepare: true }));
      points = rows.map((r) => ({ ts: r.bucket, value: r.value }));
    }
    if (points.length > maxPoints) throw new SeriesTooLarge(maxPoints);
    return points;
  }

  stats(): PgReadingStoreStats {
    return { ...this.totals };
  }

  /** The days readings are kept for, as of the last maintenance run. */
  window(): PartitionWindow {
    return this.currentWindow;
  }

  /**
   * Creates the partitions of the window ending `partitionDaysAhead` from today and drops those
   * past `retentionDays`; runs at `open` and every `maintenanceIntervalMs`, never twice at once.
   */
  maintain(): Promise<MaintenanceResult> {
    this.maintaining ??= (async () => {
      try {
        const window = partitionWindow(this.now(), this.options.retentionDays, this.options.partitionDaysAhead);
        const result = await this.db.run((sql) => sql.begin((tx) => maintainPartitions(tx, window)));
        this.currentWindow = window;
        this.days = result.days;
        this.options.onMaintenance?.(result);
        return result;
      } finally {
        this.maintaining = undefined;
      }
    })();
    return this.maintaining;
  }

  /** Stops the maintenance timer and waits for a run in progress; the pool belongs to its opener. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.maintaining?.catch(() => undefined);
  }

  private columns(batch: readonly Reading[]): { columns: Columns; result: PgWriteResult; refused: ReadingsOutsidePartitions | undefined } {
    const c: Columns = { meterKey: [], quantity: [], ts: [], value: [], quality: [], source: [] };
    let unknownMeter = 0;
    let invalidValue = 0;
    let outside = 0;
    let earliest = Infinity;
    let latest = -Infinity;
    for (const r of batch) {
      const row = rowOf(r, this.meterKey, this.codes);
      if (row === 'unknownMeter' || row === 'invalidValue') {
        if (row === 'unknownMeter') unknownMeter++;
        else invalidValue++;
        continue;
      }
      const ts = row.ts;
      if (!this.days.has(dayOf(ts))) {
        outside++;
        earliest = Math.min(earliest, ts);
        latest = Math.max(latest, ts);
        continue;
      }
      c.meterKey.push(row.meterKey);
      c.quantity.push(row.quantity);
      c.ts.push(ts);
      c.value.push(r.value);
      c.quality.push(row.quality);
      c.source.push(row.source);
    }
    return {
      columns: c,
      result: { written: c.meterKey.length, unknownMeter, invalidValue, outsidePartitions: outside },
      refused: outside > 0 ? new ReadingsOutsidePartitions(outside, earliest, latest, this.currentWindow) : undefined,
    };
  }

  private async upsert(c: Columns): Promise<void> {
    if (c.meterKey.length === 0) return;
    try {
      await this.send(c);
    } catch (err) {
      if (sqlState(err) !== KEY_TWICE_IN_BATCH) throw err;
      // The same key twice in one batch (a re-read queued behind the first read): the last one
      // wins, as it would in the embedded store's row-by-row INSERT OR REPLACE.
      await this.send(lastPerKey(c));
    }
  }

  private async send(c: Columns): Promise<void> {
    await this.db.sql.unsafe(UPSERT, [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source], { prepare: true });
  }
}

/** The catalogue's codes, adding what is missing under an advisory lock (nodes may start at once). */
async function syncQuantityCodes(tx: Queryable): Promise<Map<Quantity, number>> {
  await tx.unsafe(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_QUANTITY_CODES})`);
  const { codes, added } = assignQuantityCodes(await tx<QuantityCodeRow[]>`SELECT code, name FROM quantity_codes`);
  if (added.length > 0) {
    await tx`INSERT INTO quantity_codes (code, name) SELECT * FROM unnest(${added.map((r) => r.code)}::int2[], ${added.map((r) => r.name)}::text[])`;
  }
  return codes;
}

function lastPerKey(c: Columns): Columns {
  const last = new Map<string, number>();
  for (let i = 0; i < c.meterKey.length; i++) last.set(`${c.meterKey[i]}:${c.quantity[i]}:${c.ts[i]}`, i);
  const keep = [...last.values()].sort((a, b) => a - b);
  const pick = (xs: number[]): number[] => keep.map((i) => xs[i] ?? 0);
  return { meterKey: pick(c.meterKey), quantity: pick(c.quantity), ts: pick(c.ts), value: pick(c.value), quality: pick(c.quality), source: pick(c.source) };
}

function sqlState(err: unknown): string | undefined {
  return err instanceof DatabaseError ? err.sqlState : codeOf(err);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
