import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../../../../src/storage/postgres/connection.js';
import { PostgresMigrationFailed } from '../../../../src/storage/postgres/errors.js';
import { PG_MIGRATIONS, migratePostgres, type Migration } from '../../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL migration tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('PostgreSQL migrations', () => {
  let server: TestPostgres;
  const open: PostgresDatabase[] = [];
  const connect = async (url: string): Promise<PostgresDatabase> => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    open.push(db);
    return db;
  };
  const tables = async (db: PostgresDatabase): Promise<string[]> =>
    (await db.sql<{ name: string }[]>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`).map((r) => r.name);
  const recorded = async (db: PostgresDatabase): Promise<number[]> =>
    (await db.sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`).map((r) => r.version);

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((db) => db.close()));
    await server.dispose();
  });

  it('creates the schema on a fresh database and records each version', async () => {
    const db = await connect(await server.createDatabase());
    const outcome = await migratePostgres(db);
    expect(outcome.applied.map((m) => m.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    expect(outcome.version).toBe(PG_MIGRATIONS.at(-1)?.version);
    expect(await tables(db)).toEqual(expect.arrayContaining(['quantity_codes', 'readings', 'schema_migrations']));
    const [partitioned] = await db.sql<{ strategy: string }[]>`
      SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = 'readings'::regclass`;
    expect(partitioned?.strategy).toBe('r');
  });

  it('does nothing when run again', async () => {
    const db = await connect(await server.createDatabase());
    await migratePostgres(db);
    const again = await migratePostgres(db);
    expect(again.applied).toEqual([]);
    expect(again.version).toBe(PG_MIGRATIONS.at(-1)?.version);
    expect(await recorded(db)).toEqual(PG_MIGRATIONS.map((m) => m.version));
  });

  it('rolls a failed migration back whole and leaves the database as it was', async () => {
    const db = await connect(await server.createDatabase());
    await migratePostgres(db);
    const before = await tables(db);
    const broken: Migration = {
      version: 1_000,
      name: 'half good',
      sql: 'CREATE TABLE first_half (x int); INSERT INTO first_half VALUES (1); CREATE TABLE second_half (x no_such_type);',
    };
    const failure = await migratePostgres(db, [...PG_MIGRATIONS, broken]).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PostgresMigrationFailed);
    expect(failure).toMatchObject({ code: 'DB_MIGRATION_FAILED', version: 1_000, sqlState: '42704' });
    expect(await tables(db)).toEqual(before);
    expect(await recorded(db)).toEqual(PG_MIGRATIONS.map((m) => m.version));
  });

  it('applies each migration once when two nodes migrate at the same time', async () => {
    const url = await server.createDatabase();
    const [a, b] = [await connect(url), await connect(url)];
    // A slow migration keeps the first node in its transaction while the second one arrives.
    const slow: Migration = { version: 1_001, name: 'slow', sql: 'SELECT pg_sleep(0.3); CREATE TABLE made_once (x int);' };
    const migrations = [...PG_MIGRATIONS, slow];
    const [ra, rb] = await Promise.all([migratePostgres(a, migrations), migratePostgres(b, migrations)]);
    const applied = [...ra.applied, ...rb.applied].map((m) => m.version).sort((x, y) => x - y);
    expect(applied).toEqual(migrations.map((m) => m.version));
    expect(await recorded(a)).toEqual(migrations.map((m) => m.version));
    expect(ra.version).toBe(1_001);
    expect(rb.version).toBe(1_001);
  });
});
