/**
 * PostgreSQL killed (SIGKILL of the whole server) and started again while readings flow
 * through the real ingest pipeline into the PostgreSQL reading store: the pipeline holds and
 * retries the batch it could not write, the pool reconnects, and afterwards the table holds
 * every reading offered exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawReading } from '../../protocols/adapter.js';
import { meterId, terminalId, type Meter, type MeterId } from '../../src/domain/index.js';
import { IngestPipeline } from '../../src/ingest/pipeline.js';
import { openPostgres, type PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { PgReadingStore } from '../../src/storage/postgres/readingStore.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { postgresTestConfig } from '../helpers/postgresStore.js';

const METERS = 200;
const BATCHES = 150;
const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL restart test: ${unavailable}`);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 3_000) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

describe.skipIf(unavailable !== undefined)('PostgreSQL restarting under ingest', () => {
  let server: TestPostgres;
  let db: PostgresDatabase;

  beforeAll(async () => {
    server = await startPostgres();
    db = await openPostgres({ url: await server.createDatabase(), config: postgresTestConfig({ reconnectMinMs: 20, reconnectMaxMs: 200 }) });
    await migratePostgres(db);
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await server.dispose();
  });

  it('loses nothing and stores nothing twice when PostgreSQL is killed and restarted mid-ingest', async () => {
    const meters = new Map<string, Meter>();
    const keys = new Map<MeterId, number>();
    for (let i = 1; i <= METERS; i++) {
      const id = meterId(`m-${i}`);
      meters.set(`t1/${i}`, { id, name: id, terminalId: terminalId('t1'), address: String(i), ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null });
      keys.set(id, i);
    }
    const store = await PgReadingStore.open(db, (id) => keys.get(id), { retentionDays: 7, partitionDaysAhead: 2, maintenanceIntervalMs: 3_600_000 });
    const sinkErrors: unknown[] = [];
    const pipeline = new IngestPipeline({
      capacity: 4 * METERS,
      drainBatch: 2 * METERS,
      sinks: [{ name: 'postgres', write: async (batch) => { await store.write(batch); } }],
      meterAt: (t, a) => meters.get(`${t}/${a}`),
      onSinkError: (_sink, err) => sinkErrors.push(err),
      retryMinMs: 20,
      retryMaxMs: 200,
    });

    // One reading per meter per second of device time, from an hour ago.
    const start = Date.now() - 3_600_000;
    let expectedSum = 0;
    const committed: Promise<void>[] = [];
    const produce = (async () => {
      for (let b = 0; b < BATCHES; b++) {
        const batch: RawReading[] = [];
        for (let i = 1; i <= METERS; i++) {
          const value = b + i / 1_000;
          expectedSum += value;
          batch.push({ terminalId: 't1', address: String(i), quantity: 'power.active', value, ts: start + b * 1_000 });
        }
        const offer = await pipeline.offer(batch, 'mqtt', 'push');
        expect(offer.accepted).toBe(METERS);
        committed.push(offer.committed);
        await sleep(2);
      }
    })();

    await until('the first readings stored', () => pipeline.stats().delivered >= 10 * METERS);
    await server.kill();
    const deliveredAtKill = pipeline.stats().delivered;
    expect(deliveredAtKill).toBeLessThan(BATCHES * METERS);
    await until('the pipeline to retry against the dead server', () => sinkErrors.length >= 3);
    await server.start();
    await produce;
    await Promise.all(committed);
    await pipeline.close();
    await store.close();

    const [row] = await db.sql<{ n: number; keys: number; sum: number }[]>`
      SELECT count(*) AS n, count(DISTINCT (meter_key, ts)) AS keys, sum(value) AS sum FROM readings`;
    expect(row?.n).toBe(BATCHES * METERS);
    expect(row?.keys).toBe(BATCHES * METERS);
    expect(row?.sum).toBeCloseTo(expectedSum, 3);
    expect(pipeline.stats().delivered).toBe(BATCHES * METERS);
    expect(store.stats()).toMatchObject({ unknownMeter: 0, invalidValue: 0, outsidePartitions: 0 });
    expect(sinkErrors.every((e) => (e as { code?: string }).code === 'DB_UNREACHABLE')).toBe(true);
  }, 120_000);
});
