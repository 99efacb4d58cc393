/**
 * `gridhead db import` rate: an embedded station written through the real SQLite stores
 * (tests/helpers/embeddedStation.ts: 1,000 meters × 3 quantities × 334 intervals ≈ 1,000,000
 * readings, and a few rows in every other store) copied into PostgreSQL 15 with fsync on, as in
 * production, with the default batch size.
 *
 * Printed: readings/s over the readings table, rows/s over the whole import, and the CPU per
 * row of the importing process and of the PostgreSQL server.
 *
 * GRIDHEAD_BENCH_IMPORT_METERS sets the meters (default 1,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MasterKey } from '../../src/security/masterKey.js';
import { importEmbeddedStore } from '../../src/storage/import/importer.js';
import { openPostgres } from '../../src/storage/postgres/connection.js';
import { QUANTITIES, writeEmbeddedStation } from '../helpers/embeddedStation.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_IMPORT_METERS ?? 1_000);
const PER_SERIES = 334;
const HOUR = 3_600_000;

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the db import benchmark: ${unavailable}`);
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-import-'));
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (unavailable !== undefined) return;
  server = await startPostgres({ fsync: true });
  const meters = Array.from({ length: METERS }, (_, i) => `m-${String(i + 1).padStart(6, '0')}`);
  await writeEmbeddedStation(dir, { meters, readingsPerSeries: PER_SERIES, endTs: Math.floor(Date.now() / HOUR) * HOUR, master: new MasterKey(Buffer.alloc(32, 1), 'environment') });
}, 300_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it.skipIf(unavailable !== undefined)('imports an embedded station of about 1,000,000 readings', async () => {
  const pgServer = server;
  if (pgServer === undefined) throw new Error('no PostgreSQL server');
  const db = await openPostgres({ url: await pgServer.createDatabase(), config: POSTGRES_TEST_CONFIG });
  try {
    let readingsStarted = 0;
    let readingsSeconds = 0;
    const serverBefore = pgServer.serverCpuSeconds();
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const summary = await importEmbeddedStore({
      dataDir: dir,
      db,
      retentionDays: 400,
      partitionDaysAhead: 7,
      listener: {
        tableStarted: (table) => { if (table === 'readings') readingsStarted = performance.now(); },
        tableFinished: (r) => { if (r.table === 'readings') readingsSeconds = (performance.now() - readingsStarted) / 1000; },
      },
    });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverCpu = pgServer.serverCpuSeconds() - serverBefore;
    const readings = summary.tables.find((t) => t.table === 'readings')?.copied ?? 0;
    const rows = summary.tables.reduce((n, t) => n + t.copied, 0);
    expect(readings).toBe(METERS * QUANTITIES.length * PER_SERIES);
    console.log(`bench: db-import.readings = ${Math.round(readings / readingsSeconds)} readings/s`);
    console.log(`bench: db-import.total = ${Math.round(rows / seconds)} rows/s`);
    console.log(`bench: db-import.rows = ${rows} rows`);
    console.log(`bench: db-import.cpu.importer = ${((cpu.user + cpu.system) / rows).toFixed(2)} µs/row`);
    console.log(`bench: db-import.cpu.postgres = ${((serverCpu * 1e6) / rows).toFixed(2)} µs/row`);
  } finally {
    await db.close();
  }
});
