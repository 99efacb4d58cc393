import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, openPostgres, reconnectDelayMs } from '../../../../src/storage/postgres/connection.js';
import { DatabaseAuthFailed, DatabaseNotFound, DatabaseUnreachable, DatabaseUrlInvalid, redactUrl } from '../../../../src/storage/postgres/errors.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG, postgresTestConfig } from '../../../helpers/postgresStore.js';
import { freePort } from '../../../helpers/victoriaMetrics.js';

describe('database URLs in messages', () => {
  it('replaces the password in the authority and in the query', () => {
    expect(redactUrl('postgres://station:s3cret@db.example:5432/gridhead')).toBe('postgres://station:***@db.example:5432/gridhead');
    expect(redactUrl('postgresql://station@db/gridhead?password=s3cret&sslmode=require')).toBe('postgresql://station@db/gridhead?password=***&sslmode=require');
    expect(redactUrl('postgres://db/gridhead')).toBe('postgres://db/gridhead');
  });

  it('shows nothing of a URL that does not parse', () => {
    expect(redactUrl('station:s3cret@db')).toBe('<unparsable URL>');
  });

  it('takes GRIDHEAD_DATABASE_URL before storage.postgres.url and says which it took', () => {
    const config = postgresTestConfig({ url: 'postgres://from-file/db' });
    expect(databaseUrl(config, { GRIDHEAD_DATABASE_URL: 'postgres://from-env/db' })).toEqual({ url: 'postgres://from-env/db', source: 'GRIDHEAD_DATABASE_URL' });
    expect(databaseUrl(config, {})).toEqual({ url: 'postgres://from-file/db', source: 'storage.postgres.url' });
    expect(databaseUrl(POSTGRES_TEST_CONFIG, {})).toBeUndefined();
  });

  it('backs off reconnection exponentially within its bounds', () => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      const ms = reconnectDelayMs(attempt, 100, 10_000);
      expect(ms).toBeGreaterThanOrEqual(Math.min(10_000, 100 * 2 ** (attempt - 1)) * 0.75);
      expect(ms).toBeLessThanOrEqual(10_000);
    }
  });

  it('refuses a URL that is not postgres:// without echoing it', async () => {
    const failure = await openPostgres({ url: 'mysql://root:s3cret@db/x', config: POSTGRES_TEST_CONFIG }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DatabaseUrlInvalid);
    expect((failure as Error).message).toContain('GRIDHEAD_DATABASE_URL');
    expect((failure as Error).message).not.toContain('s3cret');
  });
});

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL connection tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('PostgreSQL connection pool', () => {
  let server: TestPostgres;
  let url: string;

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
  }, 60_000);
  afterAll(async () => {
    await server.dispose();
  });

  it('stops the start on a wrong password with an error naming GRIDHEAD_DATABASE_URL and never the password', async () => {
    const wrong = url.replace(`:${server.password}@`, ':not-the-password@');
    const failure = await openPostgres({ url: wrong, config: POSTGRES_TEST_CONFIG }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DatabaseAuthFailed);
    const message = (failure as Error).message;
    expect(message).toContain('GRIDHEAD_DATABASE_URL');
    expect(message).toContain(`postgres://${server.user}:***@127.0.0.1:${server.port}/`);
    expect(message).not.toContain('not-the-password');
    expect(message).not.toContain(server.password);
    expect(JSON.stringify(failure)).not.toContain('not-the-password');
    expect(failure).toMatchObject({ code: 'DB_AUTH_FAILED', sqlState: '28P01' });
  });

  it('names the configuration key when the URL came from the file', async () => {
    const wrong = url.replace(`:${server.password}@`, ':nope@');
    await expect(openPostgres({ url: wrong, urlSource: 'storage.postgres.url', config: POSTGRES_TEST_CONFIG })).rejects.toThrow(/storage\.postgres\.url/);
  });

  it('reports a server nobody listens for as unreachable', async () => {
    const port = await freePort();
    const failure = await openPostgres({ url: `postgres://u:p@127.0.0.1:${port}/x`, config: POSTGRES_TEST_CONFIG }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DatabaseUnreachable);
    expect(failure).toMatchObject({ code: 'DB_UNREACHABLE' });
    expect((failure as Error).message).toContain(`postgres://u:***@127.0.0.1:${port}/x`);
  });

  it('reports a database that does not exist', async () => {
    await expect(openPostgres({ url: server.url('no_such_db'), config: POSTGRES_TEST_CONFIG })).rejects.toBeInstanceOf(DatabaseNotFound);
  });

  it('sets the statement and idle-in-transaction timeouts on every connection and holds the pool to its size', async () => {
    const db = await openPostgres({ url, config: postgresTestConfig({ poolMax: 3, statementTimeoutMs: 4_321, idleInTransactionTimeoutMs: 5_432 }) });
    try {
      const settings = await Promise.all(Array.from({ length: 8 }, () => db.sql<{ st: string; it: string; pid: number }[]>`
        SELECT current_setting('statement_timeout') AS st, current_setting('idle_in_transaction_session_timeout') AS it, pg_backend_pid() AS pid, pg_sleep(0.05)`));
      const rows = settings.map((r) => r[0]);
      expect(new Set(rows.map((r) => `${r?.st}/${r?.it}`))).toEqual(new Set(['4321ms/5432ms']));
      expect(new Set(rows.map((r) => r?.pid)).size).toBeLessThanOrEqual(3);
      const [active] = await db.sql<{ n: number }[]>`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'gridhead' AND datname = current_database()`;
      expect(active?.n).toBeLessThanOrEqual(3);
    } finally {
      await db.close();
    }
  });

  it('counts the statements it sends by the command the server answered, and none of a pool on another database', async () => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    const other = await openPostgres({ url: await server.createDatabase(), config: POSTGRES_TEST_CONFIG });
    try {
      const before = db.statements();
      await db.sql`CREATE TABLE IF NOT EXISTS counted (n int PRIMARY KEY)`;
      await db.sql.begin(async (tx) => {
        await tx`INSERT INTO counted VALUES (1)`;
        await tx`INSERT INTO counted VALUES (2)`;
      });
      await db.run((sql) => sql`SELECT n FROM counted`);
      await expect(db.run((sql) => sql`INSERT INTO counted VALUES (1)`)).rejects.toMatchObject({ sqlState: '23505' });
      for (let i = 0; i < 5; i++) await other.sql`SELECT 1`;

      const after = db.statements();
      const grew = (command: keyof typeof after.byCommand): number => (after.byCommand[command] ?? 0) - (before.byCommand[command] ?? 0);
      expect({ create: grew('create'), begin: grew('begin'), insert: grew('insert'), commit: grew('commit'), select: grew('select'), failed: grew('failed') })
        .toEqual({ create: 1, begin: 1, insert: 2, commit: 1, select: 1, failed: 1 });
      expect(after.total - before.total).toBe(7);
      expect(other.statements().byCommand.select).toBeGreaterThanOrEqual(5);
    } finally {
      await db.close();
      await other.close();
    }
  });

  it('reconnects after the server restarts', async () => {
    const db = await openPostgres({ url, config: postgresTestConfig({ reconnectMinMs: 10, reconnectMaxMs: 100 }) });
    try {
      await server.kill();
      await expect(db.run((sql) => sql`SELECT 1`)).rejects.toBeInstanceOf(DatabaseUnreachable);
      await server.start();
      let answer: unknown;
      // The pool waits out its backoff before the next attempt; a failure meanwhile is the same typed error.
      for (let i = 0; i < 100 && answer === undefined; i++) {
        answer = await db.run((sql) => sql<{ one: number }[]>`SELECT 1 AS one`).then((r) => r[0]?.one, (err: unknown) => {
          expect(err).toBeInstanceOf(DatabaseUnreachable);
          return new Promise<undefined>((resolve) => setTimeout(() => { resolve(undefined); }, 50));
        });
      }
      expect(answer).toBe(1);
    } finally {
      await db.close();
    }
  }, 60_000);
});
