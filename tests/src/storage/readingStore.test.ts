/**
 * The reading store's behaviour, one suite run against every driver: the embedded store
 * (SQLite, wrapped in the async shape) and the PostgreSQL store on a throw-away cluster
 * (skipped, with the reason printed, where PostgreSQL is not installed).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { ReadingStore, SeriesTooLarge, InvalidSeriesQuery, asyncReadingStore, type AsyncReadingStore } from '../../../src/storage/readingStore.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { PgReadingStore } from '../../../src/storage/postgres/readingStore.js';
import { meterId, terminalId, type MeterId } from '../../../src/domain/ids.js';
import { QUANTITY_NAMES, type Quantity } from '../../../src/domain/quantity.js';
import type { Quality, Reading } from '../../../src/domain/reading.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const M1 = meterId('m-1');
const M2 = meterId('m-2');
const T0 = Date.UTC(2024, 0, 1);

function seedMeters(db: Db, ids: readonly string[]): Map<MeterId, number> {
  const now = Date.now();
  db.prepare(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at)
              VALUES ('t-1', 'T1', 'mqtt', 1, '[]', '{}', ?, ?)`).run(now, now);
  const add = db.prepare(`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, area_id, protected, created_at, updated_at)
                          VALUES (?, ?, 't-1', ?, 1, 1, NULL, 0, ?, ?)`);
  ids.forEach((id, i) => add.run(id, id, String(i + 1), now, now));
  const rows = db.prepare<[], { key: number; id: string }>('SELECT key, id FROM meters').all();
  return new Map(rows.map((r) => [meterId(r.id), r.key]));
}

function reading(m: MeterId, quantity: Quantity, ts: number, value: number, quality: Quality = 'good'): Reading {
  return { meterId: m, quantity, value, unit: 'x', ts, quality, source: { protocol: 'mqtt', terminalId: terminalId('t-1'), mode: 'push' } };
}

/** A store of one driver over meters M1 and M2, and the rows it holds per meter, counted in its table. */
interface Opened {
  readonly store: AsyncReadingStore;
  rowsOf(m: MeterId): Promise<number>;
  close(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  open(): Promise<Opened>;
}

const embedded: Driver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  open: () => {
    const db = openDatabase(':memory:');
    const keys = seedMeters(db, [M1, M2]);
    const store = new ReadingStore(db, (id) => keys.get(id));
    return Promise.resolve({
      store: asyncReadingStore(store),
      rowsOf: (m) => Promise.resolve(db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM readings r JOIN meters m ON m.key = r.meter_key WHERE m.id = ?').get(m)?.n ?? 0),
      close: () => {
        db.close();
        return Promise.resolve();
      },
    });
  },
};

let cluster: TestPostgres | undefined;
const pgUnavailable = postgresUnavailable();
if (pgUnavailable !== undefined) console.warn(`skipping the reading-store suite on PostgreSQL: ${pgUnavailable}`);

const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: pgUnavailable,
  open: async () => {
    cluster ??= await startPostgres();
    const db: PostgresDatabase = await openPostgres({ url: await cluster.createDatabase(), config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    // Meter keys as the registry assigns them (meters.key), injected as in the embedded store.
    const keys = new Map<MeterId, number>([[M1, 1], [M2, 2]]);
    const store = await PgReadingStore.open(db, (id) => keys.get(id), { retentionDays: 30, partitionDaysAhead: 7, maintenanceIntervalMs: 3_600_000, now: () => T0 });
    return {
      store,
      rowsOf: async (m) => (await db.sql<{ n: number }[]>`SELECT count(*) AS n FROM readings WHERE meter_key = ${keys.get(m) ?? -1}`)[0]?.n ?? 0,
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

describe.each([embedded, postgresDriver])('reading store on $name', (driver) => {
  let opened: Opened | undefined;
  let store: AsyncReadingStore;
  const rowsOf = (m: MeterId): Promise<number> => (opened === undefined ? Promise.reject(new Error('no store')) : opened.rowsOf(m));

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    opened = await driver.open();
    store = opened.store;
  }, 30_000);
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it('stores a batch and reports how many readings it wrote', async () => {
    const r = await store.write([reading(M1, 'power.active', T0, 1.5), reading(M1, 'voltage.l1', T0, 230), reading(M2, 'power.active', T0, 2)]);
    expect(r).toMatchObject({ written: 3, unknownMeter: 0, invalidValue: 0 });
    expect(await rowsOf(M1)).toBe(2);
    expect(await rowsOf(M2)).toBe(1);
  });

  it('overwrites a re-read of the same meter, quantity and timestamp instead of duplicating it', async () => {
    await store.write([reading(M1, 'power.active', T0, 1.5)]);
    await store.write([reading(M1, 'power.active', T0, 7.25, 'suspect')]);
    expect(await rowsOf(M1)).toBe(1);
    expect(await store.series({ meterId: M1, quantity: 'power.active', from: T0, to: T0 + 1 })).toEqual([{ ts: T0, value: 7.25, quality: 'suspect' }]);
  });

  it('stores a redelivered batch once', async () => {
    const batch = [reading(M1, 'power.active', T0, 1), reading(M1, 'power.active', T0 + 900_000, 2), reading(M2, 'voltage.l1', T0, 231)];
    await store.write(batch);
    await store.write(batch);
    expect(await rowsOf(M1)).toBe(2);
    expect(await rowsOf(M2)).toBe(1);
    expect(await store.series({ meterId: M1, quantity: 'power.active', from: T0, to: T0 + 1_000_000 })).toEqual([
      { ts: T0, value: 1, quality: 'good' },
      { ts: T0 + 900_000, value: 2, quality: 'good' },
    ]);
  });

  it('keeps the last of two readings of one key in the same batch', async () => {
    await store.write([reading(M1, 'power.active', T0, 1), reading(M2, 'power.active', T0, 5), reading(M1, 'power.active', T0, 2, 'suspect')]);
    expect(await rowsOf(M1)).toBe(1);
    expect(await store.series({ meterId: M1, quantity: 'power.active', from: T0, to: T0 + 1 })).toEqual([{ ts: T0, value: 2, quality: 'suspect' }]);
    expect(await rowsOf(M2)).toBe(1);
  });

  it('skips and counts readings of unknown meters and non-finite values', async () => {
    const r = await store.write([
      reading(meterId('nobody'), 'power.active', T0, 1),
      reading(M1, 'power.active', T0, Number.NaN),
      reading(M1, 'power.active', T0 + 1, Number.POSITIVE_INFINITY),
      reading(M1, 'power.active', T0 + 2, 3),
    ]);
    expect(r).toMatchObject({ written: 1, unknownMeter: 1, invalidValue: 2 });
    expect(store.stats()).toMatchObject({ written: 1, unknownMeter: 1, invalidValue: 2 });
    expect(await rowsOf(M1)).toBe(1);
  });

  it('returns the latest reading of each quantity with the catalogue unit', async () => {
    await store.write([
      reading(M1, 'power.active', T0, 1),
      reading(M1, 'power.active', T0 + 60_000, 2, 'suspect'),
      reading(M1, 'power.active', T0 + 30_000, 9),
      reading(M1, 'energy.active.import', T0, 100),
      reading(M2, 'power.active', T0 + 120_000, 5),
    ]);
    const latest = (await store.latest(M1)).sort((a, b) => a.quantity.localeCompare(b.quantity));
    expect(latest).toEqual([
      { quantity: 'energy.active.import', value: 100, unit: 'kWh', ts: T0, quality: 'good' },
      { quantity: 'power.active', value: 2, unit: 'kW', ts: T0 + 60_000, quality: 'suspect' },
    ]);
    expect(await store.latest(meterId('nobody'))).toEqual([]);
  });

  it('finds the latest reading across days', async () => {
    await store.write([reading(M1, 'frequency', T0 - 3 * 86_400_000, 49.9), reading(M1, 'frequency', T0 + 2 * 86_400_000 + 5, 50.1)]);
    expect(await store.latest(M1)).toEqual([{ quantity: 'frequency', value: 50.1, unit: 'Hz', ts: T0 + 2 * 86_400_000 + 5, quality: 'good' }]);
  });

  describe('series', () => {
    const STEP = 60_000;
    beforeEach(async () => {
      // Two one-minute buckets: values 1,2,3 then 10,20; a bad 999 that must not be aggregated.
      await store.write([
        reading(M1, 'power.active', T0 + 1_000, 1),
        reading(M1, 'power.active', T0 + 20_000, 3),
        reading(M1, 'power.active', T0 + 10_000, 2),
        reading(M1, 'power.active', T0 + 30_000, 999, 'bad'),
        reading(M1, 'power.active', T0 + STEP + 5_000, 20),
        reading(M1, 'power.active', T0 + STEP, 10),
        reading(M1, 'power.active', T0 + 10 * STEP, 50),
        reading(M1, 'voltage.l1', T0 + 1_000, 230),
      ]);
    });
    const q = { meterId: M1, quantity: 'power.active' as const, from: T0, to: T0 + 2 * STEP };

    it('returns raw points in time order within [from, to) when no step is given', async () => {
      expect(await store.series(q)).toEqual([
        { ts: T0 + 1_000, value: 1, quality: 'good' },
        { ts: T0 + 10_000, value: 2, quality: 'good' },
        { ts: T0 + 20_000, value: 3, quality: 'good' },
        { ts: T0 + 30_000, value: 999, quality: 'bad' },
        { ts: T0 + STEP, value: 10, quality: 'good' },
        { ts: T0 + STEP + 5_000, value: 20, quality: 'good' },
      ]);
    });

    it.each([
      ['avg', 2, 15],
      ['min', 1, 10],
      ['max', 3, 20],
      ['last', 3, 20],
    ] as const)('buckets by step with %s, excluding bad values', async (agg, first, second) => {
      expect(await store.series({ ...q, stepMs: STEP, agg })).toEqual([
        { ts: T0, value: first },
        { ts: T0 + STEP, value: second },
      ]);
    });

    it('aligns buckets to multiples of the step since the epoch', async () => {
      expect(await store.series({ ...q, from: T0 + 15_000, stepMs: STEP, agg: 'min' })).toEqual([
        { ts: T0, value: 3 },
        { ts: T0 + STEP, value: 10 },
      ]);
    });

    it('throws SeriesTooLarge when the result would exceed maxPoints', async () => {
      await expect(store.series({ ...q, maxPoints: 5 })).rejects.toThrow(SeriesTooLarge);
      expect(await store.series({ ...q, maxPoints: 6 })).toHaveLength(6);
      await expect(store.series({ ...q, to: T0 + 11 * STEP, stepMs: STEP, maxPoints: 2 })).rejects.toThrow(SeriesTooLarge);
      expect(await store.series({ ...q, to: T0 + 11 * STEP, stepMs: STEP, maxPoints: 3 })).toHaveLength(3);
    });

    it('rejects a non-positive step or an inverted range', async () => {
      await expect(store.series({ ...q, stepMs: 0 })).rejects.toThrow(InvalidSeriesQuery);
      await expect(store.series({ ...q, from: q.to + 1 })).rejects.toThrow(InvalidSeriesQuery);
    });

    it('returns nothing for an unknown meter', async () => {
      expect(await store.series({ ...q, meterId: meterId('nobody') })).toEqual([]);
    });
  });
});

describe('embedded quantity codes', () => {
  let db: Db;
  let store: ReadingStore;

  beforeEach(() => {
    db = openDatabase(':memory:');
    const seeded = seedMeters(db, [M1, M2]);
    store = new ReadingStore(db, (id) => seeded.get(id));
  });
  afterEach(() => {
    db.close();
  });

  it('persists quantity codes by name and reuses them when reopened', () => {
    const codes = db.prepare<[], { code: number; name: string }>('SELECT code, name FROM quantity_codes ORDER BY code').all();
    expect(codes.map((c) => c.name).sort()).toEqual([...QUANTITY_NAMES].sort());
    store.write([reading(M1, 'frequency', T0, 50)]);
    const keys = new Map([[M1, 1]]);
    const again = new ReadingStore(db, (id) => keys.get(id));
    expect(again.latest(M1)).toEqual([{ quantity: 'frequency', value: 50, unit: 'Hz', ts: T0, quality: 'good' }]);
    expect(db.prepare<[], { code: number; name: string }>('SELECT code, name FROM quantity_codes ORDER BY code').all()).toEqual(codes);
  });

  it('keeps an existing code for a name and gives new names an unused code', () => {
    const fresh = openDatabase(':memory:');
    try {
      // A store from an older release had 'frequency' at code 0.
      fresh.prepare("INSERT INTO quantity_codes (code, name) VALUES (0, 'frequency')").run();
      new ReadingStore(fresh, () => undefined);
      const rows = fresh.prepare<[], { code: number; name: string }>('SELECT code, name FROM quantity_codes').all();
      const byName = new Map(rows.map((r) => [r.name, r.code]));
      expect(byName.get('frequency')).toBe(0);
      expect(new Set(rows.map((r) => r.code)).size).toBe(QUANTITY_NAMES.length);
      expect(byName.get(QUANTITY_NAMES[0]!)).toBeGreaterThanOrEqual(QUANTITY_NAMES.length);
    } finally {
      fresh.close();
    }
  });
});
