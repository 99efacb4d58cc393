/**
 * The access check every API request makes (AuthService.authenticateToken / authenticateSession),
 * per driver: the embedded store (SQLite file) and PostgreSQL (a throw-away cluster on this
 * machine, fsync on, so a round trip is a local socket's, the best a network can do).
 *
 * Printed per driver and credential: requests/s with the cache of verified credentials
 * (auth.credentialCacheTtlMs at its default: a lookup every 5 s per credential) and without
 * it (0: the store is asked on every request), 32 requests in flight as a busy API has them,
 * 100 tokens and 100 sessions in turn.
 *
 * GRIDHEAD_BENCH_AUTH_REQUESTS sets the requests per figure (default 40,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresAuthStore } from '../../src/auth/postgresStore.js';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../src/auth/service.js';
import { SqliteAuthStore, type AuthStore } from '../../src/auth/store.js';
import type { Principal } from '../../src/auth/roles.js';
import { openDatabase } from '../../src/storage/db.js';
import { openPostgres } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';

const REQUESTS = Number(process.env.GRIDHEAD_BENCH_AUTH_REQUESTS ?? 40_000);
const CREDENTIALS = 100;
const IN_FLIGHT = 32;

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL part of the access-check benchmark: ${unavailable}`);
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-auth-'));
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (unavailable === undefined) server = await startPostgres({ fsync: true });
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Creates the credentials once (cache off), then measures each check with the cache on and off. */
async function measure(driver: string, store: AuthStore): Promise<void> {
  const setup = new AuthService(store, { ...DEFAULT_AUTH_OPTIONS, scryptCost: { log2N: 10, r: 8, p: 1 }, maxSessionsPerUser: CREDENTIALS });
  const tokens: string[] = [];
  const sessions: string[] = [];
  await setup.createToken({ name: 'root', role: 'admin' }, 'bench');
  for (let i = 0; i < CREDENTIALS; i++) tokens.push((await setup.createToken({ name: `scada-${i}`, role: 'viewer' }, 'bench')).token);
  await setup.createUser({ name: 'operator', role: 'operator', password: 'operator-password-1' });
  for (let i = 0; i < CREDENTIALS; i++) {
    const login = await setup.login('operator', 'operator-password-1', `10.0.0.${i}`);
    if (!login.ok) throw new Error('login failed');
    sessions.push(login.sessionId);
  }
  await setup.close();

  for (const [mode, ttl] of [['cached', DEFAULT_AUTH_OPTIONS.credentialCacheTtlMs], ['lookup', 0]] as const) {
    const auth = new AuthService(store, { ...DEFAULT_AUTH_OPTIONS, credentialCacheTtlMs: ttl });
    await rate(`auth.access.${driver}.token.${mode}`, (i) => auth.authenticateToken(tokens[i % CREDENTIALS] ?? ''));
    await rate(`auth.access.${driver}.session.${mode}`, (i) => auth.authenticateSession(sessions[i % CREDENTIALS] ?? ''));
    await auth.close();
  }
}

/** Runs `REQUESTS` checks, `IN_FLIGHT` at a time, and prints requests/s; every check must pass. */
async function rate(name: string, check: (i: number) => Promise<Principal | undefined>): Promise<void> {
  let next = 0;
  let refused = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < REQUESTS) {
      const i = next++;
      if (await check(i) === undefined) refused += 1;
    }
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`bench: ${name} = ${Math.round(REQUESTS / seconds)} requests/s`);
  expect(refused).toBe(0);
}

it('checks tokens and sessions against the embedded store', async () => {
  const db = openDatabase(join(dir, 'auth.db'), { durability: 'full' });
  try {
    await measure('embedded', new SqliteAuthStore(db));
  } finally {
    db.close();
  }
}, 300_000);

it.skipIf(unavailable !== undefined)('checks tokens and sessions against PostgreSQL', async () => {
  if (server === undefined) throw new Error('no PostgreSQL server');
  const db = await openPostgres({ url: await server.createDatabase(), config: POSTGRES_TEST_CONFIG });
  try {
    await migratePostgres(db);
    await measure('postgres', new PostgresAuthStore(db));
  } finally {
    await db.close();
  }
}, 300_000);
