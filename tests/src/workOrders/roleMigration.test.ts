/**
 * The `field` role enters the users' and API tokens' role checks: the embedded store's
 * migration 23 rebuilds both tables, PostgreSQL's migration 30 replaces the constraints. What a
 * station had before (users, their sessions, tokens, the token ids given) is kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { PostgresAuthStore } from '../../../src/auth/postgresStore.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { MIGRATIONS } from '../../../src/storage/migrations.js';
import { openPostgres } from '../../../src/storage/postgres/connection.js';
import { PG_MIGRATIONS, migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const schemaOf = (db: ReturnType<typeof openDatabase>, table: string): string[] =>
  (db.prepare("SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS s FROM sqlite_master WHERE tbl_name = ? AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name").all(table) as { s: string }[])
    .map((r) => r.s.replace(/'billing','field'/, "'billing'").replace(/"/g, '').replace(/\s+/g, ' '));

it('keeps users, their sessions and API tokens when the role checks are rebuilt for the field role', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-migrate-'));
  dirs.push(dir);
  const file = join(dir, 'gridhead.db');
  const before = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 22) });
  const old = new SqliteAuthStore(before);
  await old.insertUser({ name: 'li', role: 'operator', passwordHash: 'scrypt$x', disabled: false, createdAt: 1, updatedAt: 2 });
  await old.openSession(Buffer.from('0102', 'hex'), { userName: 'li', createdAt: 10, lastSeenAt: 11, expiresAt: 99_999 }, { keep: 5, idleMs: 1e9 });
  const kept = await old.insertToken({ name: 'scada', role: 'viewer', prefix: 'gh_ab', hash: Buffer.from('aa', 'hex'), createdAt: 3, createdBy: 'user:li', expiresAt: null });
  const dropped = await old.insertToken({ name: 'gone', role: 'admin', prefix: 'gh_cd', hash: Buffer.from('bb', 'hex'), createdAt: 4, createdBy: 'user:li', expiresAt: null });
  if (kept === 'name-taken' || dropped === 'name-taken') throw new Error('fixture tokens not stored');
  before.prepare('DELETE FROM api_tokens WHERE id = ?').run(dropped.id);
  expect(() => before.prepare("INSERT INTO users VALUES ('crew', 'field', 'h', 0, 1, 1, NULL)").run()).toThrow(/CHECK/);
  const schemaBefore = [...schemaOf(before, 'users'), ...schemaOf(before, 'api_tokens'), ...schemaOf(before, 'sessions')];
  before.close();

  const after = openDatabase(file);
  const store = new SqliteAuthStore(after);
  expect(await store.user('li')).toEqual({ name: 'li', role: 'operator', passwordHash: 'scrypt$x', disabled: false, createdAt: 1, updatedAt: 2, lastLoginAt: 10 });
  expect(await store.session(Buffer.from('0102', 'hex'))).toMatchObject({ userName: 'li', role: 'operator', expiresAt: 99_999 });
  expect(await store.tokens()).toEqual([kept]);
  // The same tables, indexes and checks, but for the new role.
  expect([...schemaOf(after, 'users'), ...schemaOf(after, 'api_tokens'), ...schemaOf(after, 'sessions')]).toEqual(schemaBefore);

  expect(await store.insertUser({ name: 'crew', role: 'field', passwordHash: 'scrypt$y', disabled: false, createdAt: 5, updatedAt: 5 })).toBe(true);
  const fieldToken = await store.insertToken({ name: 'crew-tablet', role: 'field', prefix: 'gh_ef', hash: Buffer.from('cc', 'hex'), createdAt: 6, createdBy: 'user:li', expiresAt: null });
  // AUTOINCREMENT goes on past the deleted token's id: an id is never given twice.
  expect(fieldToken).toMatchObject({ role: 'field', id: dropped.id + 1 });
  expect(() => after.prepare("INSERT INTO users VALUES ('x', 'root', 'h', 0, 1, 1, NULL)").run()).toThrow(/CHECK/);
  // Deleting the user still removes its sessions: the foreign key survived the rebuild.
  after.prepare("DELETE FROM users WHERE name = 'li'").run();
  expect(await store.session(Buffer.from('0102', 'hex'))).toBeUndefined();
  expect(after.pragma('foreign_key_check')).toEqual([]);
  after.close();
});

const pgUnavailable = postgresUnavailable();
let cluster: TestPostgres | undefined;
afterAll(async () => { await cluster?.dispose(); });

it.skipIf(pgUnavailable !== undefined)('keeps users, sessions and API tokens on PostgreSQL when the role checks admit the field role', async () => {
  cluster = await startPostgres();
  const url = await cluster.createDatabase();
  const before = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
  await migratePostgres(before, PG_MIGRATIONS.filter((m) => m.version < 30));
  const old = new PostgresAuthStore(before);
  await old.insertUser({ name: 'li', role: 'operator', passwordHash: 'scrypt$x', disabled: false, createdAt: 1, updatedAt: 2 });
  await old.openSession(Buffer.from('0102', 'hex'), { userName: 'li', createdAt: 10, lastSeenAt: 11, expiresAt: 99_999 }, { keep: 5, idleMs: 1e9 });
  const kept = await old.insertToken({ name: 'scada', role: 'viewer', prefix: 'gh_ab', hash: Buffer.from('aa', 'hex'), createdAt: 3, createdBy: 'user:li', expiresAt: null });
  await expect(old.insertUser({ name: 'crew', role: 'field', passwordHash: 'h', disabled: false, createdAt: 1, updatedAt: 1 })).rejects.toBeDefined();

  expect((await migratePostgres(before)).applied.map((m) => m.version)).toContain(30);
  const store = new PostgresAuthStore(before);
  expect(await store.user('li')).toMatchObject({ name: 'li', role: 'operator', passwordHash: 'scrypt$x' });
  expect(await store.session(Buffer.from('0102', 'hex'))).toMatchObject({ userName: 'li', role: 'operator' });
  expect(await store.tokens()).toEqual([kept]);
  expect(await store.insertUser({ name: 'crew', role: 'field', passwordHash: 'h', disabled: false, createdAt: 5, updatedAt: 5 })).toBe(true);
  expect(await store.insertToken({ name: 'crew-tablet', role: 'field', prefix: 'gh_ef', hash: Buffer.from('cc', 'hex'), createdAt: 6, createdBy: 'user:li', expiresAt: null })).toMatchObject({ role: 'field' });
  await expect(before.sql`INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) VALUES ('x', 'root', 'h', false, 1, 1)`).rejects.toThrow(/check/i);
  await before.close();
});

if (pgUnavailable !== undefined) console.warn(`role migration on PostgreSQL skipped: ${pgUnavailable}`);
