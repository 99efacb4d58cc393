/**
 * What only the PostgreSQL reading store has: day partitions made ahead, retention by
 * dropping them, refusal of readings outside them, and the statement timeout. Its shared
 * behaviour with the embedded store is in tests/src/storage/readingStore.test.ts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { meterId, terminalId, type MeterId } from '../../../../src/domain/ids.js';
import type { Reading } from '../../../../src/domain/reading.js';
import { openPostgres, type PostgresDatabase } from '../../../../src/storage/postgres/connection.js';
import { StatementTimeout } from '../../../../src/storage/postgres/errors.js';
import { migratePostgres } from '../../../../src/storage/postgres/migrations.js';
import { DAY_MS, partitionName } from '../../../../src/storage/postgres/partitions.js';
import { PgReadingStore, ReadingsOutsidePartitions, type PgReadingStoreOptions } from '../../../../src/storage/postgres/readingStore.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../../helpers/postgres.js';
import { postgresTestConfig } from '../../../helpers/postgresStore.js';

const M1 = meterId('m-1');
const KEYS = new Map<MeterId, number>([[M1, 1]]);
const keyOf = (id: MeterId): number | undefined => KEYS.get(id);
/** Noon, so "today" is unambiguous. */
const NOW = Date.UTC(2024, 5, 15, 12);
const TODAY = Math.floor(NOW / DAY_MS);

function reading(ts: number, value = 1): Reading {
  return { meterId: M1, quantity: 'power.active', value, unit: 'kW', ts, quality: 'good', source: { protocol: 'mqtt', terminalId: terminalId('t-1'), mode: 'push' } };
}

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL reading-store tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('PostgreSQL reading store', () => {
  let server: TestPostgres;
  let db: PostgresDatabase;
  let now: number;
  let refused: ReadingsOutsidePartitions[];
  const stores: PgReadingStore[] = [];
  const open = async (changes: Partial<PgReadingStoreOptions> = {}): Promise<PgReadingStore> => {
    const store = await PgReadingStore.open(db, keyOf, {
      retentionDays: 10, partitionDaysAhead: 3, maintenanceIntervalMs: 3_600_000, now: () => now, onRefused: (e) => refused.push(e), ...changes,
    });
    stores.push(store);
    return store;
  };
  const partitions = async (): Promise<string[]> =>
    (await db.sql<{ name: string }[]>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'readings'::regclass AND c.relkind = 'r' ORDER BY 1`).map((r) => r.name);
  const count = async (): Promise<number> => (await db.sql<{ n: number }[]>`SELECT count(*) AS n FROM readings`)[0]?.n ?? -1;

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  beforeEach(async () => {
    now = NOW;
    refused = [];
    db = await openPostgres({ url: await server.createDatabase(), config: postgresTestConfig({ statementTimeoutMs: 300 }) });
    await migratePostgres(db);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await db.close();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('creates a partition per day from the retention start to the days ahead when it opens', async () => {
    await open();
    const expected = Array.from({ length: 10 + 3 }, (_, i) => partitionName(TODAY - 9 + i));
    expect(await partitions()).toEqual(expected);
    expect(expected.at(-1)).toBe('readings_20240618');
  });

  it('changes nothing when maintenance runs again the same day', async () => {
    const store = await open();
    const before = await partitions();
    const again = await store.maintain();
    expect(again.created).toEqual([]);
    expect(again.dropped).toEqual([]);
    expect(await partitions()).toEqual(before);
  });

  it('drops whole partitions past retention as days pass, and creates the new days ahead', async () => {
    const store = await open();
    await store.write([reading(NOW - 9 * DAY_MS), reading(NOW - 8 * DAY_MS), reading(NOW - 7 * DAY_MS), reading(NOW)]);
    now = NOW + 2 * DAY_MS;
    const result = await store.maintain();
    expect(result.dropped).toEqual([partitionName(TODAY - 9), partitionName(TODAY - 8)]);
    expect(result.created).toEqual([partitionName(TODAY + 4), partitionName(TODAY + 5)]);
    // The tables are gone, not emptied row by row.
    const [gone] = await db.sql<{ n: number }[]>`SELECT count(*) AS n FROM pg_class WHERE relname IN (${partitionName(TODAY - 9)}, ${partitionName(TODAY - 8)})`;
    expect(gone?.n).toBe(0);
    expect(await count()).toBe(2);
  });

  it('refuses and counts readings outside every partition and stores the rest of the batch', async () => {
    const store = await open();
    const result = await store.write([
      reading(NOW, 1),
      reading(NOW + 4 * DAY_MS, 2), // past the days ahead
      reading(NOW - 10 * DAY_MS, 3), // past retention
      reading(NOW - DAY_MS, 4),
    ]);
    expect(result).toEqual({ written: 2, unknownMeter: 0, invalidValue: 0, outsidePartitions: 2 });
    expect(store.stats().outsidePartitions).toBe(2);
    expect(await count()).toBe(2);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(ReadingsOutsidePartitions);
    expect(refused[0]).toMatchObject({ code: 'READINGS_OUTSIDE_PARTITIONS', count: 2, earliestTs: NOW - 10 * DAY_MS, latestTs: NOW + 4 * DAY_MS });
  });

  it('refuses a reading whose partition another node dropped, without failing its batch', async () => {
    const store = await open();
    await db.sql.unsafe(`DROP TABLE ${partitionName(TODAY - 9)}`);
    const result = await store.write([reading(NOW - 9 * DAY_MS), reading(NOW)]);
    expect(result).toMatchObject({ written: 1, outsidePartitions: 1 });
    expect(await count()).toBe(1);
  });

  it('reads one partition, by its primary key, for a meter\'s quantity over a range within a day', async () => {
    await open();
    const plan = await db.sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN SELECT ts, value FROM readings WHERE meter_key = 1 AND quantity = 4 AND ts >= ${NOW} AND ts < ${NOW + 3_600_000}`);
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain(`${partitionName(TODAY)}_pkey`);
    expect(text).not.toContain(partitionName(TODAY - 1));
  });

  it('gives the typed statement-timeout error when a write waits past storage.postgres.statementTimeoutMs', async () => {
    const store = await open();
    const blocker = await db.sql.reserve();
    try {
      await blocker`BEGIN`;
      await blocker`LOCK TABLE readings IN ACCESS EXCLUSIVE MODE`;
      const failure = await store.write([reading(NOW)]).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StatementTimeout);
      expect(failure).toMatchObject({ code: 'DB_STATEMENT_TIMEOUT', sqlState: '57014' });
    } finally {
      await blocker`ROLLBACK`;
      blocker.release();
    }
    // Nothing of the batch was stored; the same batch goes in once the lock is gone.
    expect(await count()).toBe(0);
    await store.write([reading(NOW)]);
    expect(await count()).toBe(1);
  });
});
