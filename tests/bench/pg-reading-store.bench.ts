/**
 * The station's two reading stores on one workload (tests/bench/readingsWorkload.ts: 10,000
 * meters × 8 quantities per 15-minute interval, batches of 5,000 as the pipeline drains):
 *
 * - the embedded store (src/storage/readingStore.ts, SQLite, durability `full`);
 * - the PostgreSQL store (src/storage/postgres/readingStore.ts: day partitions, one unnest
 *   upsert per batch) on a PostgreSQL 15 server with fsync on, as in production.
 *
 * Printed per store: readings/s, the station's CPU per reading, and for PostgreSQL the
 * server's own CPU per reading (its processes' /proc stat). Then the PostgreSQL store takes
 * the first 100,000 readings again, as a redelivery after a crash would: nothing changes.
 *
 * GRIDHEAD_BENCH_PG_STORE_READINGS sets the readings per store (default 400,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MeterId } from '../../src/domain/ids.js';
import type { Reading } from '../../src/domain/reading.js';
import { openDatabase } from '../../src/storage/db.js';
import { openPostgres } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { PgReadingStore } from '../../src/storage/postgres/readingStore.js';
import { ReadingStore } from '../../src/storage/readingStore.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';
import { BATCH, METER_IDS, buildReadings, registerMeters } from './readingsWorkload.js';

const TOTAL = Number(process.env.GRIDHEAD_BENCH_PG_STORE_READINGS ?? 400_000);
const REDELIVERED = Math.min(TOTAL, 100_000);
/** 15-minute intervals from 23:00 UTC, so the run crosses a day and writes two partitions. */
const FIRST_TS = Date.UTC(2024, 0, 1, 23);
const readings = buildReadings(TOTAL, FIRST_TS, 900_000);
const KEYS = new Map<MeterId, number>(METER_IDS.map((id, i) => [id, i + 1]));

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL part of the reading-store benchmark: ${unavailable}`);
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-pgstore-'));
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (unavailable === undefined) server = await startPostgres({ fsync: true });
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `batches` one after the other, as the pipeline drains, and prints the figures. */
async function measure(name: string, all: readonly Reading[], write: (batch: readonly Reading[]) => Promise<unknown>, serverCpu?: () => number): Promise<void> {
  const serverBefore = serverCpu?.() ?? 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < all.length; i += BATCH) await write(all.slice(i, i + BATCH));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(`bench: ${name}.write = ${Math.round(all.length / seconds)} readings/s`);
  console.log(`bench: ${name}.cpu.station = ${((cpu.user + cpu.system) / all.length).toFixed(2)} µs/reading`);
  if (serverCpu !== undefined) console.log(`bench: ${name}.cpu.postgres = ${(((serverCpu() - serverBefore) * 1e6) / all.length).toFixed(2)} µs/reading`);
}

it('writes the workload into the embedded store', async () => {
  const db = openDatabase(join(dir, 'store.db'), { durability: 'full' });
  try {
    const keys = registerMeters(db);
    const store = new ReadingStore(db, (id) => keys.get(id));
    await measure('store.embedded', readings, (batch) => Promise.resolve(store.write(batch)));
    expect(db.prepare<[], { n: number }>('SELECT count(*) AS n FROM readings').get()?.n).toBe(TOTAL);
  } finally {
    db.close();
  }
});

it.skipIf(unavailable !== undefined)('writes the workload into the PostgreSQL store, then redelivers part of it', async () => {
  const pgServer = server;
  if (pgServer === undefined) throw new Error('no PostgreSQL server');
  const db = await openPostgres({ url: await pgServer.createDatabase(), config: POSTGRES_TEST_CONFIG });
  try {
    await migratePostgres(db);
    const store = await PgReadingStore.open(db, (id) => KEYS.get(id), { retentionDays: 7, partitionDaysAhead: 2, maintenanceIntervalMs: 3_600_000, now: () => FIRST_TS });
    const serverCpu = () => pgServer.serverCpuSeconds();
    await measure('store.postgres', readings, (batch) => store.write(batch), serverCpu);
    await measure('store.postgres.redelivery', readings.slice(0, REDELIVERED), (batch) => store.write(batch), serverCpu);
    await store.close();
    const [row] = await db.sql<{ n: number; bytes: number }[]>`
      SELECT (SELECT count(*) FROM readings) AS n,
             (SELECT sum(pg_total_relation_size(inhrelid))::float8 FROM pg_inherits WHERE inhparent = 'readings'::regclass) AS bytes`;
    expect(row?.n).toBe(TOTAL);
    console.log(`bench: store.postgres.disk = ${Math.round((row?.bytes ?? 0) / TOTAL)} bytes/reading`);
  } finally {
    await db.close();
  }
});
