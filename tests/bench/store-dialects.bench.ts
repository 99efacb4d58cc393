/**
 * One readings workload (tests/bench/readingsWorkload.ts) written into each store the
 * station could use, to choose between SQLite embedded + PostgreSQL (two dialects) and
 * PGlite embedded + PostgreSQL (one dialect), and between the `pg` and `postgres` clients:
 *
 * - the embedded store as shipped (src/storage/readingStore.ts, better-sqlite3, WAL,
 *   durability `full`: an fsync per commit);
 * - PGlite (PostgreSQL compiled to WASM, in this process) persisted to a directory, with a
 *   multi-row unnest insert and with COPY from a blob;
 * - a PostgreSQL 15 server (tests/helpers/postgres.ts, fsync on, as in production) through
 *   `pg` (unnest insert; it has no COPY without pg-copy-streams) and through `postgres`
 *   (unnest insert, and COPY FROM STDIN into a staging table).
 *
 * Every PostgreSQL path is idempotent on (meter, quantity, ts) and writes a table
 * range-partitioned by day (tests/bench/postgresReadings.ts), one transaction per batch,
 * one batch at a time, as the ingest pipeline drains. CPU per reading is printed for this
 * process (the station: for PGlite that includes the database) and, for the server, for
 * the PostgreSQL processes (from /proc/<pid>/stat of the postmaster and its children, see
 * the helper's `serverCpuSeconds`).
 *
 * PGlite's start-up on an existing directory is timed, and a forked writer
 * (tests/bench/pgliteWriterProcess.ts) is killed with SIGKILL mid-write: reopened, the
 * directory must hold every batch the writer reported committed.
 *
 * GRIDHEAD_BENCH_DIALECT_READINGS sets the readings per store (default 400,000).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/db.js';
import { ReadingStore } from '../../src/storage/readingStore.js';
import type { MeterId } from '../../src/domain/ids.js';
import type { Reading } from '../../src/domain/reading.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { forkTypeScript, nextMessage } from './forkTs.js';
import { BATCH, METER_IDS, buildReadings, registerMeters, toColumns, toCopyText } from './readingsWorkload.js';
import type { WriterMessage } from './pgliteWriterProcess.js';
import { READINGS_DDL, STAGE_DDL, STAGE_MOVE, UNNEST_INSERT, dailyPartitionsDdl } from './postgresReadings.js';

const TOTAL = Number(process.env.GRIDHEAD_BENCH_DIALECT_READINGS ?? 400_000);
/** 15-minute intervals from 23:00 UTC, so the run crosses a day and writes two partitions. */
const FIRST_TS = Date.UTC(2024, 0, 1, 23);
const STEP_MS = 900_000;
const readings = buildReadings(TOTAL, FIRST_TS, STEP_MS);
const LAST_TS = readings.at(-1)?.ts ?? FIRST_TS;
/** The PostgreSQL stores key meters 1..N, as the embedded registry does. */
const KEYS = new Map<MeterId, number>(METER_IDS.map((id, i) => [id, i + 1]));
const keyOf = (id: MeterId): number | undefined => KEYS.get(id);

/** Rows in `readings`, and the bytes its partitions take with their indexes. */
const READINGS_SIZE = `
  SELECT (SELECT count(*)::int FROM readings) AS n,
         (SELECT sum(pg_total_relation_size(inhrelid))::float8 FROM pg_inherits WHERE inhparent = 'readings'::regclass) AS bytes`;

const unavailable = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-dialects-'));
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (unavailable === undefined) server = await startPostgres({ fsync: true });
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  /** Writes one batch and commits it. */
  write(batch: readonly Reading[]): Promise<void> | void;
  /** CPU seconds of the database server so far, when it runs in processes of its own. */
  serverCpu?: () => number;
}

/** Writes the workload batch after batch and prints throughput and CPU per reading. */
async function measure(name: string, run: Run): Promise<void> {
  const serverBefore = run.serverCpu?.() ?? 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < TOTAL; i += BATCH) await run.write(readings.slice(i, i + BATCH));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(`bench: ${name}.write = ${Math.round(TOTAL / seconds)} readings/s`);
  console.log(`bench: ${name}.cpu.station = ${((cpu.user + cpu.system) / TOTAL).toFixed(2)} µs/reading`);
  if (run.serverCpu !== undefined) {
    console.log(`bench: ${name}.cpu.postgres = ${(((run.serverCpu() - serverBefore) * 1e6) / TOTAL).toFixed(2)} µs/reading`);
  }
}

function bytesPerReading(name: string, bytes: number): void {
  console.log(`bench: ${name}.disk = ${Math.round(bytes / TOTAL)} bytes/reading`);
}

it('writes readings to the embedded store (SQLite)', async () => {
  // `normal` is there to compare with PGlite, which never fsyncs (see the PGlite case).
  for (const durability of ['full', 'normal'] as const) {
    const file = join(dir, `store-${durability}.db`);
    const db = openDatabase(file, { durability });
    const keys = registerMeters(db);
    const store = new ReadingStore(db, (id) => keys.get(id));
    await measure(`sqlite.${durability}`, { write: (batch) => { store.write(batch); } });
    const stored = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM readings').get()?.n;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    expect(stored).toBe(TOTAL);
    if (durability === 'full') bytesPerReading('sqlite', statSync(file).size);
  }
});

// PGlite's Node file system (Emscripten's NODEFS) has no fsync: a commit reaches the OS, never
// the disk (strace shows no fsync or fdatasync at all), so it survives a SIGKILL of the
// process but not a power cut, like the embedded store's `normal` durability at best.
it('writes readings to PGlite persisted to a directory, and survives a SIGKILL of its writer', async () => {
  const dataDir = join(dir, 'pglite');
  const created = performance.now();
  let db = await PGlite.create(dataDir);
  console.log(`bench: pglite.create-new = ${Math.round(performance.now() - created)} ms`);
  await db.exec(`${READINGS_DDL}; ${dailyPartitionsDdl(FIRST_TS, LAST_TS)}; ${STAGE_DDL}`);

  await measure('pglite.unnest', {
    write: async (batch) => {
      const c = toColumns(batch, keyOf);
      await db.query(UNNEST_INSERT, [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source]);
    },
  });
  await db.exec('TRUNCATE readings');
  await measure('pglite.copy', {
    write: async (batch) => {
      const blob = new Blob([toCopyText(toColumns(batch, keyOf))]);
      await db.transaction(async (tx) => {
        await tx.query(`COPY readings_stage FROM '/dev/blob'`, [], { blob });
        await tx.query(STAGE_MOVE);
      });
    },
  });
  const [stored] = (await db.query<{ n: number; bytes: number }>(READINGS_SIZE)).rows;
  expect(stored?.n).toBe(TOTAL);
  bytesPerReading('pglite', Number(stored?.bytes));
  await db.close();

  const reopened = performance.now();
  db = await PGlite.create(dataDir);
  await db.query('SELECT 1');
  console.log(`bench: pglite.startup.existing = ${Math.round(performance.now() - reopened)} ms`);
  await db.close();

  // The writer reports each commit; the kill lands a fraction of a batch after the 10th.
  const writer = await forkTypeScript('tests/bench/pgliteWriterProcess.ts', [dataDir, String(Date.UTC(2030, 0, 1))]);
  let acknowledged = 0;
  try {
    const isWriterMessage = (m: unknown): m is WriterMessage => typeof m === 'object' && m !== null && 'type' in m;
    const open = await nextMessage(writer.child, isWriterMessage);
    if (open.type === 'open') console.log(`bench: pglite.startup.writer-process = ${Math.round(open.ms)} ms`);
    const exited = new Promise((resolve) => writer.child.once('exit', resolve));
    writer.child.on('message', (m: unknown) => {
      if (!isWriterMessage(m) || m.type !== 'committed') return;
      acknowledged = m.rows;
      if (m.rows === 10 * BATCH) setTimeout(() => writer.child.kill('SIGKILL'), 15);
    });
    await exited;
  } finally {
    await writer.dispose();
  }
  const recovered = performance.now();
  db = await PGlite.create(dataDir);
  const found = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM readings WHERE ts >= ${Date.UTC(2030, 0, 1)}`)).rows[0]?.n);
  console.log(`bench: pglite.startup.after-sigkill = ${Math.round(performance.now() - recovered)} ms`);
  await db.close();
  console.log(`bench: pglite.sigkill.acknowledged = ${acknowledged} readings`);
  console.log(`bench: pglite.sigkill.found = ${found} readings`);
  console.log(`bench: pglite.sigkill.lost = ${Math.max(0, acknowledged - found)} readings`);
  // Every reported commit is there, and the batch in flight is there whole or not at all.
  expect(found).toBeGreaterThanOrEqual(acknowledged);
  expect(found % BATCH).toBe(0);
});

it.skipIf(unavailable !== undefined)('writes readings to a PostgreSQL server through pg and through postgres', async () => {
  const pgServer = server;
  if (pgServer === undefined) throw new Error('no PostgreSQL server');
  const serverCpu = () => pgServer.serverCpuSeconds();
  const prepare = async (url: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    await sql.unsafe(`${READINGS_DDL}; ${dailyPartitionsDdl(FIRST_TS, LAST_TS)}`).simple();
    await sql.end();
  };

  {
    const url = await pgServer.createDatabase();
    await prepare(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await measure('pgserver.pg.unnest', {
        serverCpu,
        write: async (batch) => {
          const c = toColumns(batch, keyOf);
          await client.query({ name: 'insert-readings', text: UNNEST_INSERT, values: [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source] });
        },
      });
      // A redelivered batch stores nothing twice.
      const c = toColumns(readings.slice(0, BATCH), keyOf);
      await client.query({ name: 'insert-readings', text: UNNEST_INSERT, values: [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source] });
      const { rows } = await client.query<{ n: number; bytes: number }>(READINGS_SIZE);
      expect(rows[0]?.n).toBe(TOTAL);
      bytesPerReading('pgserver', Number(rows[0]?.bytes));
    } finally {
      await client.end();
    }
  }

  for (const path of ['unnest', 'copy'] as const) {
    const url = await pgServer.createDatabase();
    await prepare(url);
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      await measure(`pgserver.postgres.${path}`, {
        serverCpu,
        write: path === 'unnest'
          ? async (batch) => {
            const c = toColumns(batch, keyOf);
            await sql.unsafe(UNNEST_INSERT, [c.meterKey, c.quantity, c.ts, c.value, c.quality, c.source], { prepare: true });
          }
          : async (batch) => {
            const text = toCopyText(toColumns(batch, keyOf));
            await sql.begin(async (tx) => {
              await tx.unsafe(STAGE_DDL);
              await pipeline(Readable.from([text]), await tx`COPY readings_stage FROM STDIN`.writable());
              await tx.unsafe(STAGE_MOVE);
            });
          },
      });
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM readings`;
      expect(row?.n).toBe(TOTAL);
    } finally {
      await sql.end();
    }
  }
});
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL server part of the dialect benchmark: ${unavailable}`);
