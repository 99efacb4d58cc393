/**
 * The meter-replacement store's behaviour, one suite run against every driver: the embedded
 * store (SQLite file) and PostgreSQL on a throw-away cluster (skipped, with the reason
 * printed, where PostgreSQL is not installed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresReplacementStore } from '../../../src/billing/postgresReplacements.js';
import { MAX_REPLACEMENTS, ReplacementLimitReached, SqliteReplacementStore, type ReplacementStore } from '../../../src/billing/replacements.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import type { PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratedPostgres } from '../../helpers/postgresStore.js';

interface Opened {
  /** A store on the same data, as after a restart or on another node. */
  reopen(): Promise<ReplacementStore>;
  /** Stops the stores of the current handle and opens the data again, as a restart does. */
  restart(): Promise<void>;
  readonly pg?: PostgresDatabase;
  /** Stores `count` replacements of meter `bulk` (at 1…count) straight into the table. */
  seed(count: number): Promise<void>;
  close(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  /** Several nodes share the store: one sees what another records while both run. */
  readonly shared: boolean;
  open(): Promise<Opened>;
}

const pg = migratedPostgres();
afterAll(() => pg.dispose());

const drivers: readonly Driver[] = [
  {
    name: 'embedded (SQLite)',
    unavailable: undefined,
    shared: false,
    open: () => {
      const dir = mkdtempSync(join(tmpdir(), 'gridhead-repl-'));
      let db: Db = openDatabase(join(dir, 'store.db'));
      return Promise.resolve({
        reopen: () => Promise.resolve(new SqliteReplacementStore(db)),
        seed: (count) => {
          db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                      INSERT INTO meter_replacements (meter_id, at, old_final, new_initial, created_at) SELECT 'bulk', i, 1, 0, 0 FROM n`).run(count);
          return Promise.resolve();
        },
        restart: () => {
          db.close();
          db = openDatabase(join(dir, 'store.db'));
          return Promise.resolve();
        },
        close: () => {
          db.close();
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      });
    },
  },
  {
    name: 'PostgreSQL',
    unavailable: pg.unavailable,
    shared: true,
    open: async () => {
      const db = await pg.open();
      const stores: PostgresReplacementStore[] = [];
      const stopAll = async (): Promise<void> => {
        await Promise.all(stores.splice(0).map((s) => s.close()));
      };
      return {
        pg: db,
        reopen: async () => {
          const s = await PostgresReplacementStore.open(db);
          stores.push(s);
          return s;
        },
        restart: stopAll,
        seed: async (count) => {
          await db.sql`INSERT INTO meter_replacements (meter_id, at, old_final, new_initial, created_at) SELECT 'bulk', i, 1, 0, 0 FROM generate_series(1, ${count}::int) i`;
        },
        close: async () => {
          await stopAll();
          await db.close();
        },
      };
    },
  },
];

describe.each(drivers)('meter replacements on $name', (driver) => {
  let opened: Opened | undefined;
  const current = (): Opened => {
    if (opened === undefined) throw new Error('no store');
    return opened;
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

  it('keeps replacements across a restart, oldest first, and corrects one recorded at the same time', async () => {
    const first = await current().reopen();
    await first.add({ meterId: 'm1', at: 2_000, oldFinal: 20, newInitial: 0 });
    await first.add({ meterId: 'm1', at: 1_000, oldFinal: 10, newInitial: 0 });
    await first.add({ meterId: 'm1', at: 2_000, oldFinal: 21, newInitial: 1 });
    expect(first.of('m1')).toHaveLength(2);
    await current().restart();
    const reopened = await current().reopen();
    expect(reopened.of('m1')).toEqual([
      { meterId: 'm1', at: 1_000, oldFinal: 10, newInitial: 0 },
      { meterId: 'm1', at: 2_000, oldFinal: 21, newInitial: 1 },
    ]);
    expect(reopened.of('m2')).toEqual([]);
  });

  it(`refuses a replacement beyond ${MAX_REPLACEMENTS}, and still corrects a recorded one`, async () => {
    // A node that loaded before the table filled up (on another node) is refused by the database.
    const early = driver.shared ? await current().reopen() : undefined;
    await current().seed(MAX_REPLACEMENTS);
    const store = await current().reopen();
    await expect(store.add({ meterId: 'm1', at: 1, oldFinal: 1, newInitial: 0 })).rejects.toBeInstanceOf(ReplacementLimitReached);
    if (early !== undefined) await expect(early.add({ meterId: 'm1', at: 1, oldFinal: 1, newInitial: 0 })).rejects.toBeInstanceOf(ReplacementLimitReached);
    expect(store.of('m1')).toEqual([]);
    await store.add({ meterId: 'bulk', at: 1, oldFinal: 2, newInitial: 0.5 });
    expect(store.of('bulk')[0]).toEqual({ meterId: 'bulk', at: 1, oldFinal: 2, newInitial: 0.5 });
  }, 30_000);

  // Only a shared store has other nodes: the embedded one belongs to one process, so these cases are not registered for it.
  if (driver.shared) it('counts a replacement recorded on another node in this node\'s list', async () => {
    const here = await current().reopen();
    const there = await current().reopen();
    await there.add({ meterId: 'm1', at: 5_000, oldFinal: 50.5, newInitial: 0.25 });
    await expect.poll(() => here.of('m1')).toEqual([{ meterId: 'm1', at: 5_000, oldFinal: 50.5, newInitial: 0.25 }]);
    await there.add({ meterId: 'm1', at: 5_000, oldFinal: 51, newInitial: 0 });
    await expect.poll(() => here.of('m1')).toEqual([{ meterId: 'm1', at: 5_000, oldFinal: 51, newInitial: 0 }]);
  });

  if (driver.shared) it('catches up on what it missed while its listening connection was down', async () => {
    const db = current().pg;
    if (db === undefined) throw new Error('a shared driver comes with its PostgreSQL handle');
    const here = await current().reopen();
    // Stored without a notification, as one sent while this node was not listening would be.
    await db.sql`INSERT INTO meter_replacements (meter_id, at, old_final, new_initial, created_at) VALUES ('m9', 7000, 70, 1, 0)`;
    expect(here.of('m9')).toEqual([]);
    const ended = await db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen %'`;
    expect(ended).toHaveLength(1);
    await expect.poll(() => here.of('m9'), { timeout: 15_000 }).toEqual([{ meterId: 'm9', at: 7_000, oldFinal: 70, newInitial: 1 }]);
  });
});
