/**
 * `gridhead db migrate` as an operator runs it: the installed command against a throw-away
 * PostgreSQL cluster, the database given by GRIDHEAD_DATABASE_URL.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_MIGRATIONS } from '../../../src/storage/postgres/migrations.js';
import { installCli, type CliInstall } from '../../helpers/cli.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the gridhead db migrate tests: ${unavailable}`);
const LAST = PG_MIGRATIONS.at(-1)?.version ?? 0;

describe.skipIf(unavailable !== undefined)('gridhead db migrate', () => {
  let cli: CliInstall;
  let server: TestPostgres;

  beforeAll(async () => {
    [cli, server] = await Promise.all([installCli(), startPostgres()]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([cli.dispose(), server.dispose()]);
  });

  const migrate = (env: NodeJS.ProcessEnv) => cli.run(['db', 'migrate'], { env: { GRIDHEAD_CONFIG: '', ...env } });

  it('applies the migrations, shows what it applied, and says so plainly when run again', async () => {
    const url = await server.createDatabase();
    const first = await migrate({ GRIDHEAD_DATABASE_URL: url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toBe(`database ${url.replace(`:${server.password}@`, ':***@')}`);
    expect(lines.slice(1, -1)).toEqual(PG_MIGRATIONS.map((m) => `applied ${m.version}: ${m.name}`));
    expect(lines.at(-1)).toBe(`the schema is at version ${LAST}`);
    expect(first.stdout).not.toContain(server.password);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    } finally {
      await client.end();
    }

    const second = await migrate({ GRIDHEAD_DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`nothing to apply: the schema is already at version ${LAST}\n`);
    expect(second.stdout).not.toContain('applied ');
  }, 60_000);

  it('exits 3 on a wrong password, naming GRIDHEAD_DATABASE_URL and never the password', async () => {
    const url = (await server.createDatabase()).replace(`:${server.password}@`, ':wrong-secret@');
    const run = await migrate({ GRIDHEAD_DATABASE_URL: url });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^gridhead: PostgreSQL at postgres:\/\/gridhead:\*\*\*@127\.0\.0\.1:\d+\/\w+ refused the user or password given in GRIDHEAD_DATABASE_URL/);
    expect(run.stderr + run.stdout).not.toContain('wrong-secret');
  }, 60_000);

  it('exits 2 and says what to set when no database is given', async () => {
    const run = await migrate({ GRIDHEAD_DATABASE_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('set GRIDHEAD_DATABASE_URL');
  }, 60_000);
});
