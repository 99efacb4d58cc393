/**
 * The security event log on every driver: the embedded store (SQLite) and the PostgreSQL
 * store on a throw-away cluster (skipped, with the reason printed, where PostgreSQL is not
 * installed). One suite; each driver gives a fresh database and stores opened on it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SecurityEvent } from '../../../protocols/dlms/security/settings.js';
import { createLogger } from '../../../src/observe/logger.js';
import { PostgresSecurityEventStore } from '../../../src/security/postgresSecurityEvents.js';
import { SecurityEventLog, SqliteSecurityEventStore, type SecurityEventLogOptions, type SecurityEventStore } from '../../../src/security/securityEvents.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { WritesAbandoned } from '../../../src/storage/writeBehind.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

interface Database {
  /** A store with its own connection to the database. */
  open(): Promise<SecurityEventStore>;
  dispose(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  database(): Promise<Database>;
}

const embedded: Driver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  database: () => {
    // One in-memory database: the embedded store belongs to one process.
    const db: Db = openDatabase(':memory:');
    return Promise.resolve({
      open: () => Promise.resolve(new SqliteSecurityEventStore(db)),
      dispose: () => { db.close(); return Promise.resolve(); },
    });
  },
};

let cluster: TestPostgres | undefined;
const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: postgresUnavailable(),
  database: async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const pools: PostgresDatabase[] = [];
    const connect = async (): Promise<PostgresDatabase> => {
      const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
      pools.push(db);
      return db;
    };
    await migratePostgres(await connect());
    return {
      open: async () => new PostgresSecurityEventStore(await connect()),
      dispose: async () => { await Promise.all(pools.map((p) => p.close())); },
    };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

const T0 = Date.UTC(2024, 0, 1);
const tag = (detail = 'tag of an APDU from 4752440000000001 did not verify'): SecurityEvent => ({ kind: 'tag-mismatch', detail, systemTitle: '4752440000000001', counter: 7 });

/** A store that refuses its first `failures` writes, as a store that is briefly unreachable does. */
function flaky(store: SecurityEventStore, failures: number): SecurityEventStore & { refused: number } {
  const wrapped = {
    refused: 0,
    append: (events: Parameters<SecurityEventStore['append']>[0]) => {
      if (wrapped.refused < failures) {
        wrapped.refused += 1;
        return Promise.reject(new Error('store unreachable'));
      }
      return store.append(events);
    },
    query: store.query.bind(store),
    prune: store.prune.bind(store),
  };
  return wrapped;
}

function metric(log: SecurityEventLog, name: string): number {
  return log.metricSources().find((m) => m.name === name)?.read().reduce((s, v) => s + v.value, 0) ?? Number.NaN;
}

describe.each([embedded, postgresDriver])('security event log on $name', (driver) => {
  let database: Database;
  let now = T0;
  const logOf = (store: SecurityEventStore, options: Partial<SecurityEventLogOptions> = {}) =>
    new SecurityEventLog(store, { logger: createLogger('silent'), now: () => now, ...options });

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    now = T0;
    database = await driver.database();
  }, 30_000);
  afterEach(async () => {
    await database.dispose();
  });

  it('records events and answers newest first, filtered by meter, kind and time', async () => {
    const log = logOf(await database.open());
    log.record(tag(), { meterId: 'm1', terminalId: 't1' });
    now += 1_000;
    log.record({ kind: 'replay', detail: 'counter 5 not above 9' }, { meterId: 'm2' });
    now += 1_000;
    log.record({ kind: 'hls-failed', detail: 'f(StoC) did not verify' }, { meterId: 'm1' });
    const all = await log.query({ limit: 10 });
    expect(all.map((e) => e.kind)).toEqual(['hls-failed', 'replay', 'tag-mismatch']);
    expect(all[2]).toMatchObject({ ts: T0, meterId: 'm1', terminalId: 't1', systemTitle: '4752440000000001', counter: 7 });
    expect(all[1]).toMatchObject({ meterId: 'm2', terminalId: null, systemTitle: null, counter: null });
    expect((await log.query({ meterId: 'm1', limit: 10 })).map((e) => e.kind)).toEqual(['hls-failed', 'tag-mismatch']);
    expect((await log.query({ kind: 'replay', limit: 10 })).map((e) => e.meterId)).toEqual(['m2']);
    expect((await log.query({ from: T0 + 500, to: T0 + 1_500, limit: 10 })).map((e) => e.kind)).toEqual(['replay']);
    expect(await log.query({ limit: 1 })).toHaveLength(1);
  });

  it('stores a bounded number per meter and kind a minute and counts the rest', async () => {
    const log = logOf(await database.open(), { storedPerMinute: 3 });
    for (let i = 0; i < 10; i++) log.record(tag(), { meterId: 'm1' });
    log.record(tag(), { meterId: 'm2' });
    expect(await log.query({ meterId: 'm1', limit: 100 })).toHaveLength(3);
    expect(await log.query({ meterId: 'm2', limit: 100 })).toHaveLength(1);
    expect(metric(log, 'gridhead_security_events')).toBe(11);
    expect(metric(log, 'gridhead_security_events_unstored')).toBe(7);
    now += 60_000;
    log.record(tag(), { meterId: 'm1' });
    expect(await log.query({ meterId: 'm1', limit: 100 })).toHaveLength(4);
  });

  it('keeps the newest rows once it holds more than its cap', async () => {
    const log = logOf(await database.open(), { maxRows: 100 });
    for (let i = 0; i < 1_100; i++) log.record(tag(`event ${i}`), { meterId: `m${i}` });
    const kept = await log.query({ limit: 10_000 });
    expect(kept.length).toBeLessThanOrEqual(200);
    expect(kept[0]?.detail).toBe('event 1099');
    expect(kept.some((e) => e.detail === 'event 0')).toBe(false);
  });

  it('retries events the store refused, in order, and counts the failures', async () => {
    const store = flaky(await database.open(), 2);
    const log = logOf(store, { retryDelayMs: 1 });
    log.record(tag('first'), { meterId: 'm1' });
    log.record(tag('second'), { meterId: 'm2' });
    const stored = await log.query({ limit: 10 });
    expect(stored.map((e) => e.detail)).toEqual(['second', 'first']);
    expect(store.refused).toBe(2);
    expect(metric(log, 'gridhead_security_event_write_failures')).toBe(2);
    expect(metric(log, 'gridhead_security_events_unstored')).toBe(0);
  });

  it('writes everything recorded before a flush, for the next process to read', async () => {
    const log = logOf(await database.open());
    for (let i = 0; i < 50; i++) log.record(tag(`event ${i}`), { meterId: `m${i}` });
    await log.flush();
    const next = logOf(await database.open());
    expect(await next.query({ limit: 100 })).toHaveLength(50);
  });

  it('gives up at the flush deadline on events the store never takes, and counts them as unstored', async () => {
    const store = flaky(await database.open(), Number.POSITIVE_INFINITY);
    const log = logOf(store, { retryDelayMs: 1 });
    log.record(tag('first'), { meterId: 'm1' });
    log.record(tag('second'), { meterId: 'm2' });
    await expect(log.flush(50)).rejects.toMatchObject({ constructor: WritesAbandoned, count: 2 });
    expect(metric(log, 'gridhead_security_events_unstored')).toBe(2);
    expect(metric(log, 'gridhead_security_event_write_failures')).toBeGreaterThan(0);
  });

  it('counts events past its queue bound instead of holding them', async () => {
    // A store that never answers until released: the queue fills.
    const inner = await database.open();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const slow: SecurityEventStore = { append: async (e) => { await gate; await inner.append(e); }, query: (f) => inner.query(f), prune: (n) => inner.prune(n) };
    const log = logOf(slow, { maxQueued: 5 });
    for (let i = 0; i < 8; i++) log.record(tag(`event ${i}`), { meterId: `m${i}` });
    expect(metric(log, 'gridhead_security_events_unstored')).toBe(3);
    release();
    expect(await log.query({ limit: 100 })).toHaveLength(5);
  });
});
