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

  it('counts a meter once a day however often its outcomes come, read once any cycle read it', async () => {
    const [store] = stores();
    const d = '2025-01-15';
    await store.addMeterDays([{ day: d, meterId: 'm1', areaId: 'tx1', read: false }, { day: d, meterId: 'm2', areaId: 'tx1', read: true }]);
    await store.addMeterDays([{ day: d, meterId: 'm1', areaId: 'tx1', read: true }, { day: d, meterId: 'm2', areaId: 'tx1', read: false }, { day: d, meterId: 'm3', areaId: 'tx1', read: false }]);
    await store.addMeterDays([{ day: d, meterId: 'm1', areaId: 'tx1', read: true }, { day: d, meterId: 'm3', areaId: 'tx1', read: false }]);
    expect(await store.areaDays({ from: d, to: d })).toEqual([{ day: d, areaId: 'tx1', expected: 3, collected: 2 }]);
  });

  it('counts a meter moved mid-day in the area it was first read in, else where it was first expected', async () => {
    const [store] = stores();
    const d = '2025-01-15';
    // m1: expected in tx1, moved to tx2, read there. m2: read in tx1, then moved. m3: never read, moved.
    await store.addMeterDays([{ day: d, meterId: 'm1', areaId: 'tx1', read: false }, { day: d, meterId: 'm2', areaId: 'tx1', read: true }, { day: d, meterId: 'm3', areaId: 'tx1', read: false }]);
    await store.addMeterDays([{ day: d, meterId: 'm1', areaId: 'tx2', read: true }, { day: d, meterId: 'm2', areaId: 'tx2', read: true }, { day: d, meterId: 'm3', areaId: 'tx2', read: false }]);
    expect(await store.areaDays({ from: d, to: d })).toEqual([
      { day: d, areaId: 'tx1', expected: 2, collected: 1 },
      { day: d, areaId: 'tx2', expected: 1, collected: 1 },
    ]);
  });

  it('counts a meter once when two nodes write its day at once', async () => {
    const [a, b] = stores();
    const d = '2025-01-15';
    const outcomes = Array.from({ length: 200 }, (_, i) => ({ day: d, meterId: `m${i}`, areaId: 'tx1', read: i % 2 === 0 }));
    await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).addMeterDays(outcomes)));
    expect(await a.areaDays({ from: d, to: d })).toEqual([{ day: d, areaId: 'tx1', expected: 200, collected: 100 }]);
  });

  it('answers areas and days asked, sorted by day and area', async () => {
    const [store] = stores();
    await store.addMeterDays([
      { day: '2025-01-14', meterId: 'm1', areaId: 'tx2', read: true },
      { day: '2025-01-15', meterId: 'm1', areaId: 'tx2', read: false },
      { day: '2025-01-15', meterId: 'm2', areaId: 'tx1', read: true },
      { day: '2025-01-16', meterId: 'm2', areaId: 'tx1', read: true },
    ]);
    expect(await store.areaDays({ from: '2025-01-14', to: '2025-01-15' })).toEqual([
      { day: '2025-01-14', areaId: 'tx2', expected: 1, collected: 1 },
      { day: '2025-01-15', areaId: 'tx1', expected: 1, collected: 1 },
      { day: '2025-01-15', areaId: 'tx2', expected: 1, collected: 0 },
    ]);
    expect(await store.areaDays({ from: '2025-01-01', to: '2025-01-31', areaIds: ['tx1', 'none'] })).toEqual([
      { day: '2025-01-15', areaId: 'tx1', expected: 1, collected: 1 },
      { day: '2025-01-16', areaId: 'tx1', expected: 1, collected: 1 },
    ]);
    expect(await store.areaDays({ from: '2025-01-15', to: '2025-01-15', areaIds: [] })).toEqual([]);
  });

  it('keeps the counts of old days when it drops their marks', async () => {
    const [store] = stores();
    await store.addMeterDays([{ day: '2025-01-10', meterId: 'm1', areaId: 'tx1', read: true }]);
    await store.addMeterDays([{ day: '2025-01-15', meterId: 'm1', areaId: 'tx1', read: true }]);
    // The 10th's mark is gone; the 14th (yesterday of the newest day) would still be counted once.
    await store.addMeterDays([{ day: '2025-01-14', meterId: 'm1', areaId: 'tx1', read: false }, { day: '2025-01-14', meterId: 'm1', areaId: 'tx1', read: false }]);
    expect(await store.areaDays({ from: '2025-01-01', to: '2025-01-31' })).toEqual([
      { day: '2025-01-10', areaId: 'tx1', expected: 1, collected: 1 },
      { day: '2025-01-14', areaId: 'tx1', expected: 1, collected: 0 },
      { day: '2025-01-15', areaId: 'tx1', expected: 1, collected: 1 },
    ]);
  });
});
