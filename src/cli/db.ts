/**
 * `gridhead db migrate`: brings the PostgreSQL schema up to date (src/storage/postgres/
 * migrations.ts) and says what it applied. The database is GRIDHEAD_DATABASE_URL, else
 * `storage.postgres.url` of the configuration (`--config`, GRIDHEAD_CONFIG, or the demo's),
 * whose `storage.postgres` section also gives the pool's timeouts. Safe to run again, and on
 * several nodes at once: what is applied is skipped, under an advisory lock.
 *
 * Exit status: 0 the schema is up to date, 1 a migration failed (and was rolled back),
 * 2 bad arguments, configuration or URL, 3 the database is unreachable or refused the login.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { databaseUrl, openPostgres } from '../storage/postgres/connection.js';
import { DatabaseError } from '../storage/postgres/errors.js';
import { migratePostgres } from '../storage/postgres/migrations.js';
import { configFileOf } from './station.js';

export interface DbIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

export const DB_USAGE = `usage:
  gridhead db migrate [--config FILE]   apply the PostgreSQL schema migrations not yet applied
  the database: $GRIDHEAD_DATABASE_URL (postgres://user:password@host:port/database), else storage.postgres.url
  exit: 0 up to date, 1 a migration failed (rolled back), 2 usage or configuration, 3 connection or authentication
`;

const CONNECTION_CODES: ReadonlySet<string> = new Set(['DB_UNREACHABLE', 'DB_AUTH_FAILED', 'DB_NOT_FOUND', 'DB_POOL_TIMEOUT']);

export async function dbCommand(argv: readonly string[], io: DbIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'migrate') {
    io.stderr.write(sub === undefined ? DB_USAGE : `gridhead: unknown db command ${JSON.stringify(sub)}\n${DB_USAGE}`);
    return 2;
  }
  let file: string;
  try {
    const { values } = parseArgs({ args: [...rest], options: { config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false });
    file = configFileOf(values.config, io.env);
  } catch (err) {
    io.stderr.write(`gridhead: ${(err as Error).message}\n${DB_USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfigFile(file, io.env).storage.postgres;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`gridhead: ${err.message}\n`);
    return 2;
  }
  const target = databaseUrl(config, io.env);
  if (target === undefined) {
    io.stderr.write(`gridhead: no database given: set GRIDHEAD_DATABASE_URL (postgres://user:password@host:port/database) or storage.postgres.url in ${file}\n`);
    return 2;
  }
  try {
    const db = await openPostgres({ url: target.url, urlSource: target.source, config });
    try {
      io.stdout.write(`database ${db.target.redacted}\n`);
      const outcome = await migratePostgres(db);
      for (const m of outcome.applied) io.stdout.write(`applied ${m.version}: ${m.name}\n`);
      io.stdout.write(outcome.applied.length === 0
        ? `nothing to apply: the schema is already at version ${outcome.version}\n`
        : `the schema is at version ${outcome.version}\n`);
      return 0;
    } finally {
      await db.close();
    }
  } catch (err) {
    if (!(err instanceof DatabaseError)) throw err;
    io.stderr.write(`gridhead: ${err.message}\n`);
    if (err.code === 'DB_URL_INVALID') return 2;
    return CONNECTION_CODES.has(err.code) ? 3 : 1;
  }
}
