/**
 * What only PostgreSQL's store must get right: changes that could remove the last admin run
 * one after the other across nodes, not side by side under READ COMMITTED.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_AUTH_ADMINS, PostgresAuthStore } from '../../../src/auth/postgresStore.js';
import { sha256, tokenPrefix } from '../../../src/auth/secrets.js';
import type { PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { ADVISORY_LOCK_SPACE } from '../../../src/storage/postgres/connection.js';
import { disposeStoreDrivers, postgresDriver, type StoreDatabase } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

async function pool(database: StoreDatabase): Promise<PostgresDatabase> {
  const c = await database.connect();
  if (c.postgres === undefined) throw new Error('not PostgreSQL');
  return c.postgres;
}

describe('auth store on PostgreSQL', () => {
  let database: StoreDatabase | undefined;

  beforeEach(async (ctx) => {
    if (postgresDriver.unavailable !== undefined) {
      console.warn(`skipped: ${postgresDriver.unavailable}`);
      ctx.skip();
    }
    database = await postgresDriver.create();
  }, 30_000);
  afterEach(async () => {
    await database?.dispose();
    database = undefined;
  });

  it('has a revocation on another node wait for one in progress, then refuses it as the last admin', async () => {
    if (database === undefined) throw new Error('no database');
    const nodeA = await pool(database);
    const storeB = new PostgresAuthStore(await pool(database));
    const admin = async (name: string) => {
      const token = `ght_${name.padEnd(40, 'x')}`;
      const row = await storeB.insertToken({ name, role: 'admin', prefix: tokenPrefix(token), hash: sha256(token), createdAt: 1, createdBy: 'test', expiresAt: null });
      if (row === 'name-taken') throw new Error('taken');
      return row.id;
    };
    const one = await admin('root-1');
    const two = await admin('root-2');

    // Node A revokes root-1 as the store does (under the lock) and holds its transaction open
    // until node B's revocation of root-2 is either done or waiting for the lock.
    let second: Promise<unknown> | undefined;
    await nodeA.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_AUTH_ADMINS})`;
      await tx`UPDATE api_tokens SET revoked_at = 2 WHERE id = ${one}`;
      second = storeB.revokeToken(two, 3);
      const stop = { now: false };
      await Promise.race([second, waitingForAdvisoryLock(nodeA, stop)]);
      stop.now = true;
    });
    expect(await second).toBe('last-admin');
    expect(await storeB.adminExists(4)).toBe(true);
  });
});

/** Resolves once some session waits for an advisory lock (polls pg_locks), or once told to stop. */
async function waitingForAdvisoryLock(db: PostgresDatabase, stop: { readonly now: boolean }): Promise<void> {
  while (!stop.now) {
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
    if ((row?.n ?? 0) > 0) return;
  }
}
