/**
 * `gridhead registry import FILE`: areas.csv, terminals.csv or meters.csv into the station's
 * configured store (src/registry/import/), with a progress bar on a terminal and plain lines
 * otherwise, then a summary with the first rejected rows.
 *
 * The store is the one `gridhead start` would open with the same configuration (`--config`,
 * GRIDHEAD_CONFIG or the demo's; GRIDHEAD_DATABASE_URL): PostgreSQL, which running stations
 * share and follow, or the embedded store in the data directory. SQLite has one writer, the
 * station: the import holds the embedded store exclusively for its whole run and refuses,
 * with exit 3, while a station has it open; import through that station's API instead
 * (POST /api/v1/registry/import/…), which updates its memory as well. A station started
 * during the import waits for it (busy), then fails to start.
 *
 * Exit status: see REGISTRY_USAGE.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { GridheadConfig } from '../config/schema.js';
import { IMPORT_KINDS, type ImportKind } from '../registry/import/columns.js';
import { ImportStoreBusy, RegistryImportError } from '../registry/import/errors.js';
import { DEFAULT_IMPORT_BATCH_ROWS, MAX_IMPORT_BATCH_ROWS, importRegistryCsv, type RegistryImportSummary } from '../registry/import/importer.js';
import { PostgresRegistryStore } from '../registry/postgresStore.js';
import { Registry, type RegistryOptions } from '../registry/registry.js';
import { SqliteRegistryStore } from '../registry/store.js';
import { openDatabase, type Db } from '../storage/db.js';
import { STORE_FILE, type ImportListener } from '../storage/import/importer.js';
import { databaseUrl, openPostgres } from '../storage/postgres/connection.js';
import { DatabaseError } from '../storage/postgres/errors.js';
import { migratePostgres } from '../storage/postgres/migrations.js';
import { storageDriverOf } from '../stores.js';
import { CONNECTION_CODES, type DbIo } from './db.js';
import { ImportProgress } from './importProgress.js';
import { configFileOf } from './station.js';

export const REGISTRY_USAGE = `usage:
  gridhead registry import FILE [--kind areas|terminals|meters] [--dry-run] [--batch ROWS] [--config FILE]
                                   import areas, terminals or meters from a CSV file with a header row
                                   (the kind is told from the header unless given) into the station's store;
                                   the same file again changes nothing (rows equal to the stored ones are unchanged)
  the store: the configuration's (storage.driver, $GRIDHEAD_DATABASE_URL); the embedded store only while no station has it open
  exit: 0 every row imported, 1 some rows rejected (the others imported), 2 usage, configuration or a file that cannot be read as CSV,
        3 the store is busy (a running station holds the embedded store) or the database cannot be reached
`;

/** The page cache of the import's embedded connection, KiB. */
const IMPORT_CACHE_KIB = 256 * 1024;
/** Rejected rows printed after the summary; the rest are counted. */
const PRINTED_REJECTIONS = 20;

export interface ImportArgs {
  readonly file: string;
  readonly configFile: string;
  readonly kind: ImportKind | undefined;
  readonly dryRun: boolean;
  readonly batchRows: number;
}

export async function registryCommand(argv: readonly string[], io: DbIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'import') {
    io.stderr.write(sub === undefined ? REGISTRY_USAGE : `gridhead: unknown registry command ${JSON.stringify(sub)}\n${REGISTRY_USAGE}`);
    return 2;
  }
  let args: ImportArgs;
  let config: GridheadConfig;
  try {
    args = importArgs(rest, io.env);
    await stat(args.file);
    config = loadConfigFile(args.configFile, io.env);
  } catch (err) {
    if (!(err instanceof ConfigError) && !isUsageError(err)) throw err;
    io.stderr.write(`gridhead: ${(err as Error).message}\n${err instanceof ConfigError ? '' : REGISTRY_USAGE}`);
    return 2;
  }
  try {
    const summary = await importRegistryFile(config, io.env, args, (where) => {
      io.stdout.write(`${args.dryRun ? 'checking (dry run, nothing written)' : 'importing'} ${args.file} into ${where}\n`);
      return new ImportProgress(io.stdout);
    });
    printSummary(summary, io);
    return summary.rejected > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof RegistryImportError) {
      io.stderr.write(`gridhead: ${err.message}\n`);
      return err instanceof ImportStoreBusy ? 3 : 2;
    }
    if (!(err instanceof DatabaseError)) throw err;
    io.stderr.write(`gridhead: ${err.message}\n`);
    return CONNECTION_CODES.has(err.code) || err.code === 'DB_URL_INVALID' ? 3 : 1;
  }
}

function importArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ImportArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { config: { type: 'string', short: 'c' }, kind: { type: 'string' }, 'dry-run': { type: 'boolean' }, batch: { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('registry import takes one FILE');
  const kind = values.kind;
  if (kind !== undefined && !(IMPORT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--kind is areas, terminals or meters, not ${JSON.stringify(kind)}`);
  let batchRows = DEFAULT_IMPORT_BATCH_ROWS;
  if (values.batch !== undefined) {
    batchRows = Number(values.batch);
    if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > MAX_IMPORT_BATCH_ROWS) {
      throw new UsageError(`--batch must be a whole number of rows from 1 to ${MAX_IMPORT_BATCH_ROWS}, not ${JSON.stringify(values.batch)}`);
    }
  }
  return { file, configFile: configFileOf(values.config, env), kind: kind as ImportKind | undefined, dryRun: values['dry-run'] === true, batchRows };
}

class UsageError extends Error {}

/** What the operator typed wrong: an option, or a FILE that is not there. */
function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || (err instanceof Error && 'code' in err && (String(err.code).startsWith('ERR_PARSE_ARGS') || err.code === 'ENOENT' || err.code === 'EACCES'));
}

/**
 * Imports `args.file` into the store `config` and `env` choose, as the command does; `display`
 * is told where and gives the progress listener.
 */
export async function importRegistryFile(
  config: GridheadConfig, env: NodeJS.ProcessEnv, args: Omit<ImportArgs, 'configFile'>, display?: (where: string) => ImportListener,
): Promise<RegistryImportSummary> {
  return withRegistry(config, env, async (registry, where) => {
    const listener = display?.(where);
    return importRegistryCsv(createReadStream(args.file, { highWaterMark: 1 << 20 }), {
      registry, dryRun: args.dryRun, batchRows: args.batchRows,
      ...(listener === undefined ? {} : { listener, totalRows: await dataLines(args.file) }),
      ...(args.kind === undefined ? {} : { kind: args.kind }),
    });
  });
}

/** The station's registry on its configured store, open for the import's length. */
async function withRegistry<T>(config: GridheadConfig, env: NodeJS.ProcessEnv, work: (registry: Registry, where: string) => Promise<T>): Promise<T> {
  const options: RegistryOptions = {
    registerMapExists: (n) => Object.hasOwn(config.modbus.registerMaps, n),
    profileExists: (n) => Object.hasOwn(config.collect.profiles, n),
  };
  const target = storageDriverOf(config.storage, env) === 'postgres' ? databaseUrl(config.storage.postgres, env) : undefined;
  if (target === undefined) {
    const file = join(config.dataDir, STORE_FILE);
    const db = openExclusively(file, config.storage.durability);
    try {
      const registry = await Registry.open(new SqliteRegistryStore(db), options);
      return await work(registry, `the embedded store ${file}`);
    } finally {
      db.close();
    }
  }
  const { url: _url, ...settings } = config.storage.postgres;
  const pg = await openPostgres({ url: target.url, urlSource: target.source, config: settings });
  try {
    await migratePostgres(pg);
    const registry = await Registry.open(new PostgresRegistryStore(pg), options);
    try {
      return await work(registry, `the database ${pg.target.redacted}`);
    } finally {
      await registry.close();
    }
  } finally {
    await pg.close();
  }
}

/**
 * The embedded store, held for this process alone: a station in WAL mode keeps a shared lock
 * on the file while it runs, so the exclusive lock taken here fails at once rather than
 * writing behind the station's back (its memory would not show the import).
 */
function openExclusively(file: string, durability: GridheadConfig['storage']['durability']): Db {
  const db = openDatabase(file, { durability });
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    // A million meters' indexes (id, terminal address, area) take some 100 MB; with SQLite's
    // default 2 MB cache every insert into them reads pages back from the OS. An upper bound,
    // taken only as the store grows, and given back when the import ends.
    db.pragma(`cache_size = ${-IMPORT_CACHE_KIB}`);
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw new ImportStoreBusy(file);
    throw err;
  }
}

/** The data rows the file holds, about (a quoted field may span lines): the progress bar's 100%. */
async function dataLines(file: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    last = chunk.at(-1) ?? last;
  }
  if (last !== 10) lines++;
  return Math.max(0, lines - 1);
}

function printSummary(s: RegistryImportSummary, io: DbIo): void {
  const n = (x: number) => x.toLocaleString('en-US');
  io.stdout.write(`${s.kind}${s.dryRun ? ' (dry run, nothing written)' : ''}: ${n(s.read)} rows read, ${n(s.created)} created, ${n(s.updated)} updated, `
    + `${n(s.unchanged)} unchanged, ${n(s.rejected)} rejected in ${(s.elapsedMs / 1000).toFixed(1)} s (${n(s.rowsPerSecond)} rows/s)\n`);
  for (const e of s.errors.slice(0, PRINTED_REJECTIONS)) {
    io.stderr.write(`line ${e.line}${e.column === null ? '' : `, column ${e.column}`}: ${e.message}\n`);
  }
  const more = s.rejected - Math.min(s.errors.length, PRINTED_REJECTIONS);
  if (more > 0) io.stderr.write(`… and ${n(more)} more rejected rows\n`);
}
