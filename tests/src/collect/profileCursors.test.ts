/**
 * The stored-profile cursor store's behaviour, one suite run against every driver: the
 * embedded store (SQLite) and PostgreSQL on a throw-away cluster (skipped, with the reason
 * printed, where PostgreSQL is not installed).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresProfileCursors } from '../../../src/collect/postgresProfileCursors.js';
import { SqliteProfileCursors, type ProfileCursorStore } from '../../../src/collect/profileCursors.js';
import { openDatabase } from '../../../src/storage/db.js';
import { migratedPostgres } from '../../helpers/postgresStore.js';

interface Opened {
  /** A new handle on the same database, as after a restart or on another node. */
  reopen(): ProfileCursorStore;
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
      return Promise.resolve({ reopen: () => new SqliteProfileCursors(db), close: () => { db.close(); return Promise.resolve(); } });
    },
  },
  {
    name: 'PostgreSQL',
    unavailable: pg.unavailable,
    open: async () => {
      const db = await pg.open();
      return { reopen: () => new PostgresProfileCursors(db), close: () => db.close() };
    },
  },
];

describe.each(drivers)('profile cursors on $name', (driver) => {
  let opened: Opened | undefined;
  const reopen = (): ProfileCursorStore => {
    if (opened === undefined) throw new Error('no store');
    return opened.reopen();
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

  it('persists cursors in the store, never moving one backwards', async () => {
    const cursors = reopen();
    expect(await cursors.get('m1', 'load')).toBeUndefined();
    await cursors.set('m1', 'load', 2_000);
    await cursors.set('m1', 'load', 1_000);
    await cursors.set('m1', 'daily', 5);
    expect(await cursors.get('m1', 'load')).toBe(2_000);
    expect(await reopen().get('m1', 'daily')).toBe(5);
    expect(await reopen().get('m2', 'load')).toBeUndefined();
  });

  it('keeps the newest time when two nodes move one cursor at once', async () => {
    const a = reopen();
    const b = reopen();
    const times = Array.from({ length: 30 }, (_, i) => 1_000 + ((i * 7) % 30) * 900_000);
    await Promise.all(times.map((t, i) => (i % 2 === 0 ? a : b).set('m1', 'load', t)));
    expect(await reopen().get('m1', 'load')).toBe(Math.max(...times));
  });

  it('keeps millisecond capture times beyond 32 bits', async () => {
    const cursors = reopen();
    const ts = Date.UTC(2038, 0, 19, 3, 14, 8, 123);
    await cursors.set('m1', 'billing', ts);
    expect(await reopen().get('m1', 'billing')).toBe(ts);
  });
});
