/**
 * The collection-statistics store's behaviour, one suite run against every driver: the
 * embedded store (SQLite) and PostgreSQL on a throw-away cluster (skipped, with the reason
 * printed, where PostgreSQL is not installed).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresCollectionStatsStore } from '../../../src/collect/postgresStatsStore.js';
import { SqliteCollectionStatsStore, type CollectionStatsStore } from '../../../src/collect/statsStore.js';
import { openDatabase } from '../../../src/storage/db.js';
import { migratedPostgres } from '../../helpers/postgresStore.js';

interface Opened {
  /** Two handles on one database, as two nodes (or two flushes) would hold. */
  readonly stores: readonly [CollectionStatsStore, CollectionStatsStore];
  close(): Promise<void>;
}

const pg = migratedPostgres();
afterAll(() => pg.dispose());

const drivers: readonly { name: string; unavailable: string | undefined; open(): Promise<Opened> }[] = [
  {
    name: 'embedded (SQLite)',
    unavailable: undefined,
    open: () => {
      const db = openDatabase(':memory:');
      return Promise.resolve({
        stores: [new SqliteCollectionStatsStore(db), new SqliteCollectionStatsStore(db)],
        close: () => { db.close(); return Promise.resolve(); },
      });
    },
  },
  {
    name: 'PostgreSQL',
    unavailable: pg.unavailable,
    open: async () => {
      const db = await pg.open();
      return { stores: [new PostgresCollectionStatsStore(db), new PostgresCollectionStatsStore(db)], close: () => db.close() };
    },
  },
];

describe.each(drivers)('collection statistics store on $name', (driver) => {
  let opened: Opened | undefined;
  const stores = (): Opened['stores'] => {
    if (opened === undefined) throw new Error('no store');
    return opened.stores;
  };

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    opened = await driver.open();
  }, 30_000);
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it('adds to stored rows instead of overwriting them', async () => {
    const [store] = stores();
    await store.add([{ day: '2025-01-15', terminalId: 'T1', expected: 10, collected: 9 }]);
    await store.add([{ day: '2025-01-15', terminalId: 'T1', expected: 5, collected: 5 }, { day: '2025-01-15', terminalId: 'T2', expected: 1, collected: 0 }]);
    expect(await store.query('2025-01-15')).toEqual([
      { day: '2025-01-15', terminalId: 'T1', expected: 15, collected: 14 },
      { day: '2025-01-15', terminalId: 'T2', expected: 1, collected: 0 },
    ]);
    expect(await store.query('2025-01-15', ['T2'])).toEqual([{ day: '2025-01-15', terminalId: 'T2', expected: 1, collected: 0 }]);
  });

  it('keeps days apart and answers a day nothing was counted with no rows', async () => {
    const [store] = stores();
    await store.add([{ day: '2025-01-15', terminalId: 'T1', expected: 2, collected: 2 }, { day: '2025-01-16', terminalId: 'T1', expected: 3, collected: 1 }]);
    expect(await store.query('2025-01-16')).toEqual([{ day: '2025-01-16', terminalId: 'T1', expected: 3, collected: 1 }]);
    expect(await store.query('2025-01-17')).toEqual([]);
    expect(await store.query('2025-01-15', [])).toEqual([]);
  });

  it('adds one day and terminal named twice in one flush', async () => {
    const [store] = stores();
    await store.add([{ day: '2025-01-15', terminalId: 'T1', expected: 4, collected: 3 }, { day: '2025-01-15', terminalId: 'T1', expected: 4, collected: 4 }]);
    expect(await store.query('2025-01-15', ['T1'])).toEqual([{ day: '2025-01-15', terminalId: 'T1', expected: 8, collected: 7 }]);
  });

  it('adds up flushes of two nodes to the same day and terminal made at once', async () => {
    const [a, b] = stores();
    const row = { day: '2025-01-15', terminalId: 'T1', expected: 1, collected: 1 };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).add([row])));
    expect(await a.query('2025-01-15')).toEqual([{ ...row, expected: 20, collected: 20 }]);
  });

  it('sorts terminals by id and finds more of them than SQLite binds parameters', async () => {
    const [store] = stores();
    const ids = Array.from({ length: 40_000 }, (_, i) => `T${String(i).padStart(5, '0')}`);
    await store.add([{ day: '2025-01-15', terminalId: 'b', expected: 1, collected: 1 }, { day: '2025-01-15', terminalId: 'B', expected: 1, collected: 0 }, { day: '2025-01-15', terminalId: 'T39999', expected: 2, collected: 2 }]);
    expect((await store.query('2025-01-15')).map((r) => r.terminalId)).toEqual(['B', 'T39999', 'b']);
    expect(await store.query('2025-01-15', ids)).toEqual([{ day: '2025-01-15', terminalId: 'T39999', expected: 2, collected: 2 }]);
  });
});
