/**
 * The readings table in PostgreSQL's dialect, as the storage benchmarks measure it (the same
 * SQL runs on a PostgreSQL server and in PGlite): the embedded store's `readings` columns and
 * primary key, range-partitioned by day on the device timestamp.
 *
 * `ts` stays integer milliseconds, as in the embedded store, so no reading is converted on
 * its way in and one key (meter, quantity, ts) serves both a meter's range and an area's
 * meters at one time. The primary key is the only index, as in the embedded store, so the
 * figures compare like with like.
 */
export const DAY_MS = 86_400_000;

export const READINGS_DDL = `
  CREATE TABLE readings (
    meter_key integer  NOT NULL,
    quantity  smallint NOT NULL,
    ts        bigint   NOT NULL,
    value     double precision NOT NULL,
    quality   smallint NOT NULL,
    source    smallint NOT NULL,
    PRIMARY KEY (meter_key, quantity, ts)
  ) PARTITION BY RANGE (ts)`;

/** One partition per UTC day that [fromMs, toMs] touches. */
export function dailyPartitionsDdl(fromMs: number, toMs: number): string {
  const out: string[] = [];
  for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day <= toMs; day += DAY_MS) {
    const name = `readings_${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
    out.push(`CREATE TABLE ${name} PARTITION OF readings FOR VALUES FROM (${day}) TO (${day + DAY_MS})`);
  }
  return out.join(';\n');
}

/** A redelivered reading (after a crash, a failover) is stored once: the first one wins. */
export const UNNEST_INSERT = `
  INSERT INTO readings (meter_key, quantity, ts, value, quality, source)
  SELECT * FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[], $5::int2[], $6::int2[])
  ON CONFLICT (meter_key, quantity, ts) DO NOTHING`;

/**
 * COPY cannot skip conflicting rows, so the idempotent COPY path copies into a per-session
 * staging table and moves the rows over with ON CONFLICT in the same transaction.
 */
export const STAGE_DDL = 'CREATE TEMP TABLE IF NOT EXISTS readings_stage (LIKE readings) ON COMMIT DELETE ROWS';
export const STAGE_MOVE = `
  INSERT INTO readings SELECT * FROM readings_stage
  ON CONFLICT (meter_key, quantity, ts) DO NOTHING`;
