/**
 * `gridhead db migrate`: brings the PostgreSQL schema up to date (src/storage/postgres/
 * migrations.ts) and says what it applied. `gridhead db import --from DIR`: copies an embedded
 * station's store (DIR/gridhead.db, read-only) into PostgreSQL (src/storage/import/), with a
 * progress bar on a terminal; an interrupted import is continued by running it again.
 *
 * The database is GRIDHEAD_DATABASE_URL, else `storage.postgres.url` of the configuration
 * (`--config`, GRIDHEAD_CONFIG, or the demo's), whose `storage.postgres` section also gives the
 * pool's timeouts (and `storage.retentionDays` the readings an import keeps). `migrate` is safe
 * to run again, and on several nodes at once: what is applied is skipped, under an advisory lock.
 *
 * Exit status: see DB_USAGE.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { GridheadConfig } from '../config/schema.js';
import { ImportError, type ImportErrorCode } from '../storage/import/errors.js';
import { DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS, importEmbeddedStore } from '../storage/import/importer.js';
import { databaseUrl, openPostgres, type PostgresDatabase } from '../storage/postgres/connection.js';
import { DatabaseError } from '../storage/postgres/errors.js';
import { migratePostgres } from '../storage/postgres/migrations.js';
import { ImportProgress, type ProgressOutput } from './importProgress.js';
import { configFileOf } from './station.js';

export interface DbIo {
  readonly stdout: ProgressOutput;
  readonly stderr: { write(s: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

export const DB_USAGE = `usage:
  gridhead db migrate [--config FILE]   apply the PostgreSQL schema migrations not yet applied
  gridhead db import --from DIR [--config FILE] [--batch ROWS]
                                        copy the stopped embedded station whose data directory is DIR
                                        (DIR/gridhead.db, read-only) into the PostgreSQL database;
                                        run it again to continue an interrupted import
  the database: $GRIDHEAD_DATABASE_URL (postgres://user:password@host:port/database), else storage.postgres.url
  exit: 0 done, 1 a migration or the copy failed (rolled back to the last batch; import: run again to resume),
        2 usage or configuration, 3 connection or authentication,
        4 import: DIR holds no gridhead.db, or one of another schema version than this build's,
        5 import: the database holds other data or another station, or another import is running,
        6 import: this station was already imported into the database (nothing done)
`;

/** The database error codes that mean it cannot be reached (exit 3 of the commands that use one). */
export const CONNECTION_CODES: ReadonlySet<string> = new Set(['DB_UNREACHABLE', 'DB_AUTH_FAILED', 'DB_NOT_FOUND', 'DB_POOL_TIMEOUT']);

const IMPORT_EXIT: Readonly<Record<ImportErrorCode, number>> = {
  IMPORT_SOURCE_MISSING: 4,
  IMPORT_SOURCE_UNREADABLE: 4,
  IMPORT_SOURCE_TOO_NEW: 4,
  IMPORT_SOURCE_OUTDATED: 4,
  IMPORT_TARGET_NOT_EMPTY: 5,
  IMPORT_TARGET_OTHER_STATION: 5,
  IMPORT_RUNNING: 5,
  IMPORT_ALREADY_DONE: 6,
};

export async function dbCommand(argv: readonly string[], io: DbIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'migrate' && sub !== 'import') {
    io.stderr.write(sub === undefined ? DB_USAGE : `gridhead: unknown db command ${JSON.stringify(sub)}\n${DB_USAGE}`);
    return 2;
  }
  let file: string;
  let from: string | undefined;
  let batchRows = DEFAULT_BATCH_ROWS;
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: { config: { type: 'string', short: 'c' }, from: { type: 'string' }, batch: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    file = configFileOf(values.config, io.env);
    if (sub === 'migrate' && (values.from !== undefined || values.batch !== undefined)) throw new Error('--from and --batch are options of db import');
    if (sub === 'import') {
      if (values.from === undefined || values.from === '') throw new Error('db import needs --from DIR, the embedded station\'s data directory');
      from = values.from;
      if (values.batch !== undefined) batchRows = batchOption(values.batch);
    }
  } catch (err) {
    io.stderr.write(`gridhead: ${(err as Error).message}\n${DB_USAGE}`);
    return 2;
  }
  let config: GridheadConfig;
  try {
    config = loadConfigFile(file, io.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`gridhead: ${err.message}\n`);
    return 2;
  }
  const target = databaseUrl(config.storage.postgres, io.env);
  if (target === undefined) {
    io.stderr.write(`gridhead: no database given: set GRIDHEAD_DATABASE_URL (postgres://user:password@host:port/database) or storage.postgres.url in ${file}\n`);
    return 2;
  }
  try {
    const db = await openPostgres({ url: target.url, urlSource: target.source, config: config.storage.postgres });
    try {
      io.stdout.write(`database ${db.target.redacted}\n`);
      return from === undefined ? await migrate(db, io) : await importStore(db, from, batchRows, config, io);
    } finally {
      await db.close();
    }
  } catch (err) {
    if (err instanceof ImportError) {
      io.stderr.write(`gridhead: ${err.message}\n`);
      return IMPORT_EXIT[err.code];
    }
    if (!(err instanceof DatabaseError)) throw err;
    io.stderr.write(`gridhead: ${err.message}\n`);
    if (err.code === 'DB_URL_INVALID') return 2;
    return CONNECTION_CODES.has(err.code) ? 3 : 1;
  }
}

async function migrate(db: PostgresDatabase, io: DbIo): Promise<number> {
  const outcome = await migratePostgres(db);
  for (const m of outcome.applied) io.stdout.write(`applied ${m.version}: ${m.name}\n`);
  io.stdout.write(outcome.applied.length === 0
    ? `nothing to apply: the schema is already at version ${outcome.version}\n`
    : `the schema is at version ${outcome.version}\n`);
  return 0;
}

async function importStore(db: PostgresDatabase, from: string, batchRows: number, config: GridheadConfig, io: DbIo): Promise<number> {
  io.stdout.write(`source ${from}\n`);
  const started = Date.now();
  const summary = await importEmbeddedStore({
    dataDir: from,
    db,
    batchRows,
    retentionDays: config.storage.retentionDays,
    partitionDaysAhead: config.storage.postgres.partitionDaysAhead,
    listener: new ImportProgress(io.stdout),
  });
  const rows = summary.tables.reduce((n, t) => n + (t.earlier ? 0 : t.read), 0);
  const seconds = (Date.now() - started) / 1000;
  io.stdout.write(`${summary.resumed ? 'resumed and completed' : 'completed'}: ${rows.toLocaleString('en-US')} rows read in ${seconds.toFixed(1)} s\n`);
  return 0;
}

function batchOption(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH_ROWS) throw new Error(`--batch must be a whole number of rows from 1 to ${MAX_BATCH_ROWS}, not ${JSON.stringify(raw)}`);
  return n;
}
