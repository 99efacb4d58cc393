/**
 * The invocation counter store's behaviour, one suite run against every driver: the embedded
 * store (SQLite) and the PostgreSQL store on a throw-away cluster (skipped, with the reason
 * printed, where PostgreSQL is not installed). A "process" is a store with its own connection
 * to the same database: a restart, or another node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CounterExhaustedError, CounterReplayError, MAX_INVOCATION_COUNTER, SqliteCounterStore, type CounterStore, type CounterStoreOptions,
} from '../../../src/security/counterStore.js';
import { PostgresCounterStore } from '../../../src/security/postgresCounterStore.js';
import type { SecurityCounters } from '../../../protocols/dlms/security/settings.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

/** One process's store on the suite's database. */
interface Process {
  readonly store: CounterStore;
  /** The process dies: its connection is gone, nothing more is written (no flush). */
  crash(): Promise<void>;
}

/** A fresh database of one driver, which processes open. */
interface Database {
  open(options?: CounterStoreOptions): Promise<Process>;
  /** Sets a key's outgoing reservation directly, as a long-lived station would have it. */
  setReserved(scope: string, generation: number, reserved: number): Promise<void>;
  dispose(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  /** Whether an accepted incoming counter is on disk when acceptIncoming returns (else at the next drain or flush). */
  readonly acceptIsDurable: boolean;
  /** Whether several processes may share the database (the embedded one belongs to one station process). */
  readonly shared: boolean;
  database(): Promise<Database>;
}

const embedded: Driver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  acceptIsDurable: true,
  shared: false,
  database: () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-ctr-'));
    const path = join(dir, 'store.db');
    const open: Db[] = [];
    const connect = (): Db => {
      const db = openDatabase(path);
      open.push(db);
      return db;
    };
    return Promise.resolve({
      open: (options) => {
        const db = connect();
        return Promise.resolve({ store: new SqliteCounterStore(db, options), crash: () => { db.close(); return Promise.resolve(); } });
      },
      setReserved: (scope, generation, reserved) => {
        const db = connect();
        db.prepare('INSERT OR REPLACE INTO dlms_outgoing_counters (scope, generation, reserved) VALUES (?, ?, ?)').run(scope, generation, reserved);
        db.close();
        return Promise.resolve();
      },
      dispose: () => {
        for (const db of open) if (db.open) db.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
};

let cluster: TestPostgres | undefined;
const pgUnavailable = postgresUnavailable();

const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: pgUnavailable,
  acceptIsDurable: false,
  shared: true,
  database: async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const pools: PostgresDatabase[] = [];
    const connect = async (): Promise<PostgresDatabase> => {
      const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
      pools.push(db);
      return db;
    };
    const admin = await connect();
    await migratePostgres(admin);
    return {
      open: async (options) => {
        const db = await connect();
        return { store: new PostgresCounterStore(db, options), crash: () => db.sql.end({ timeout: 0 }) };
      },
      setReserved: async (scope, generation, reserved) => {
        await admin.sql`INSERT INTO dlms_outgoing_counters (scope, generation, reserved) VALUES (${scope}, ${generation}, ${reserved})
                      ON CONFLICT (scope, generation) DO UPDATE SET reserved = excluded.reserved`;
      },
      dispose: async () => {
        await Promise.all(pools.map((p) => p.close()));
      },
    };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

const take = (n: number, c: SecurityCounters) => Array.from({ length: n }, () => c.nextOutgoing());
/** `n` numbers over associations of `perAssociation`, each opened anew as the DLMS adapter does. */
async function takeInAssociations(n: number, perAssociation: number, open: () => Promise<SecurityCounters>): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) out.push(...take(Math.min(perAssociation, n - out.length), await open()));
  return out;
}
const strictlyIncreasing = (xs: readonly number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? Infinity));

describe.each([embedded, postgresDriver])('invocation counters on $name', (driver) => {
  let database: Database;

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    database = await driver.database();
  }, 30_000);
  afterEach(async () => {
    await database.dispose();
  });

  it('hand out strictly increasing outgoing numbers across a clean close and reopen, skipping none', async () => {
    const first = await database.open({ blockSize: 10 });
    const before = await takeInAssociations(25, 5, () => first.store.countersFor('m1', 'meter:m1', 1));
    await first.store.flush();
    await first.crash();
    const second = await database.open({ blockSize: 10 });
    const after = take(5, await second.store.countersFor('m1', 'meter:m1', 1));
    expect(before[0]).toBe(1);
    expect(strictlyIncreasing([...before, ...after])).toBe(true);
    expect(after[0]).toBe(26);
  });

  it('never reuses a number after a crash in the middle of a block', async () => {
    const first = await database.open({ blockSize: 1000 });
    const used = take(7, await first.store.countersFor('m1', 'meter:m1', 1));
    // A crash: the process dies without flush(); only what was written before use survives.
    await first.crash();
    const after = take(3, await (await database.open({ blockSize: 1000 })).store.countersFor('m1', 'meter:m1', 1));
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...used));
    expect(after[0]).toBe(1001);
  });

  it('keeps one outgoing counter per key, shared by the meters of a key group', async () => {
    const { store } = await database.open();
    const a = await store.countersFor('m1', 'group:east', 1);
    const b = await store.countersFor('m2', 'group:east', 1);
    const own = await store.countersFor('m3', 'meter:m3', 1);
    const seen = [a.nextOutgoing(), b.nextOutgoing(), a.nextOutgoing(), b.nextOutgoing()];
    expect(new Set(seen).size).toBe(4);
    expect(own.nextOutgoing()).toBe(1);
    // A new key generation starts afresh.
    expect((await store.countersFor('m1', 'group:east', 2)).nextOutgoing()).toBe(1);
  });

  it('persists the last incoming counter on accept and refuses a replay, also after reopening', async () => {
    const first = await database.open();
    const c = await first.store.countersFor('m1', 'meter:m1', 1);
    expect(c.lastIncoming()).toBeUndefined();
    c.acceptIncoming(10);
    c.acceptIncoming(11);
    expect(() => { c.acceptIncoming(11); }).toThrow(CounterReplayError);
    expect(() => { c.acceptIncoming(3); }).toThrow(CounterReplayError);
    // A store that writes accepts behind the engine's back is drained before the process ends.
    if (!driver.acceptIsDurable) await first.store.flush();
    await first.crash();
    const again = await (await database.open()).store.countersFor('m1', 'meter:m1', 1);
    expect(again.lastIncoming()).toBe(11);
    expect(() => { again.acceptIncoming(11); }).toThrow(CounterReplayError);
    again.acceptIncoming(12);
    expect(again.lastIncoming()).toBe(12);
  });

  it('forgets incoming counters of retired key generations', async () => {
    const { store } = await database.open();
    (await store.countersFor('m1', 'meter:m1', 1)).acceptIncoming(50);
    await store.discard('meter:m1', 2);
    await store.flush();
    expect((await store.countersFor('m1', 'meter:m1', 1)).lastIncoming()).toBeUndefined();
  });

  it('refuses to go past the 32-bit counter instead of wrapping', async () => {
    await database.setReserved('meter:m1', 1, MAX_INVOCATION_COUNTER - 1);
    const c = await (await database.open()).store.countersFor('m1', 'meter:m1', 1);
    expect(c.nextOutgoing()).toBe(MAX_INVOCATION_COUNTER);
    expect(() => c.nextOutgoing()).toThrow(CounterExhaustedError);
  });

  it('reloads an evicted counter from disk instead of counting twice', async () => {
    const { store } = await database.open({ maxCached: 1, blockSize: 100 });
    const a = await store.countersFor('m1', 'meter:m1', 1);
    const b = await store.countersFor('m2', 'meter:m2', 1);
    const seen = [a.nextOutgoing(), b.nextOutgoing(), a.nextOutgoing(), b.nextOutgoing(), a.nextOutgoing()];
    expect(seen).toEqual([1, 1, 2, 2, 3]);
  });

  // Only a shared store is used by several processes: the embedded one belongs to one, so the case is not registered for it.
  if (driver.shared) it('hands out every outgoing number once when several processes count the same key at once', async () => {
    // Small blocks, so the processes reserve hundreds of times and their reservations collide.
    const processes = await Promise.all(Array.from({ length: 4 }, () => database.open({ blockSize: 6 })));
    const perProcess = await Promise.all(processes.map(async ({ store }) => {
      const mine: number[] = [];
      for (let association = 0; association < 150; association++) {
        // An association: its counters made ready, then a few APDUs.
        mine.push(...take(3, await store.countersFor('m1', 'group:all', 1)));
      }
      await store.flush();
      return mine;
    }));
    const all = perProcess.flat();
    expect(all).toHaveLength(4 * 150 * 3);
    expect(new Set(all).size).toBe(all.length);
    for (const mine of perProcess) expect(strictlyIncreasing(mine)).toBe(true);
    // A process started afterwards continues above every number handed out.
    const later = (await (await database.open()).store.countersFor('m9', 'group:all', 1)).nextOutgoing();
    expect(later).toBeGreaterThan(Math.max(...all));
  }, 60_000);
});
