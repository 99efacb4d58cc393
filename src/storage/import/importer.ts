/**
 * Copies an embedded station (its `gridhead.db`, opened read-only) into PostgreSQL, table by
 * table (src/storage/import/tables.ts), in batches.
 *
 * Resumable: each batch is inserted and its table's progress (`import_progress`: the key of
 * the batch's last row) recorded in one transaction, so after an interruption the next run
 * continues after the last batch committed and copies no row twice (every insert is also
 * `ON CONFLICT DO NOTHING` on the table's key). Refuses, with a typed error, a data directory
 * without a store, a store of another schema version than this build's, a target database
 * holding data this import did not write or another station's import, a second import
 * running at once, and an import already completed.
 *
 * The station must be stopped while it runs: rows the embedded station writes meanwhile
 * behind a table's resumption key are not copied.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { schemaVersion, type Db } from '../db.js';
import { MIGRATIONS } from '../migrations.js';
import type { PostgresDatabase, Sql } from '../postgres/connection.js';
import { databaseError } from '../postgres/errors.js';
import { ADVISORY_LOCK_SPACE } from '../postgres/connection.js';
import { migratePostgres } from '../postgres/migrations.js';
import {
  ImportAlreadyDone, ImportAlreadyRunning, ImportError, ImportSourceMissing, ImportSourceOutdated, ImportSourceTooNew,
  ImportSourceUnreadable, ImportTargetNotEmpty, ImportTargetOtherStation,
} from './errors.js';
import { IMPORT_TABLES } from './tables.js';
import type { BatchOutcome, ImportContext, ImportTable, KeyValues, SourceBatch, TableCopy } from './table.js';

/** The embedded store's file in a data directory (src/openStorage.ts). */
export const STORE_FILE = 'gridhead.db';
/** Rows per batch by default: one transaction, one insert statement. */
export const DEFAULT_BATCH_ROWS = 10_000;
/** The bounds of `--batch`: a batch is held in memory twice (source rows, column arrays). */
export const MAX_BATCH_ROWS = 100_000;
/** pg_try_advisory_lock(ADVISORY_LOCK_SPACE, LOCK_IMPORT), held for the whole import. */
const LOCK_IMPORT = 4;

export interface ImportOptions {
  /** The embedded station's data directory, holding `gridhead.db`. */
  readonly dataDir: string;
  /** The target; migrated first. Its owner closes it. */
  readonly db: PostgresDatabase;
  readonly batchRows?: number;
  /** `storage.retentionDays`. */
  readonly retentionDays: number;
  /** `storage.postgres.partitionDaysAhead`. */
  readonly partitionDaysAhead: number;
  readonly listener?: ImportListener;
  readonly tables?: readonly ImportTable[];
  readonly now?: () => number;
}

/** Told of the import's progress, for a display; never asked to decide anything. */
export interface ImportListener {
  /** A table's copy starts (or resumes with `read` rows already read by an earlier run). */
  tableStarted?(table: string, total: number, read: number): void;
  /** A batch is committed; `read` counts every source row read so far, this run and earlier ones. */
  batchCommitted?(table: string, read: number): void;
  tableFinished?(result: TableResult): void;
}

export interface TableResult {
  readonly table: string;
  /** Source rows read, over every run. */
  readonly read: number;
  /** Rows inserted, over every run. */
  readonly copied: number;
  /** Rows not copied in this run, by reason (readings of deleted meters, past retention). */
  readonly skipped: Readonly<Record<string, number>>;
  /** The table was completed by an earlier run. */
  readonly earlier: boolean;
}

export interface ImportSummary {
  readonly sourceDir: string;
  /** An interrupted import was continued. */
  readonly resumed: boolean;
  readonly tables: readonly TableResult[];
}

interface ImportRun {
  readonly source: string;
  readonly source_dir: string;
  readonly started_at: number;
  readonly finished_at: number | null;
}

interface ProgressRow {
  readonly table_name: string;
  readonly last_key: KeyValues | null;
  readonly read: number;
  readonly copied: number;
  readonly done: boolean;
}

export async function importEmbeddedStore(options: ImportOptions): Promise<ImportSummary> {
  const source = openSource(options.dataDir);
  try {
    await migratePostgres(options.db);
    return await withImportLock(options.db, () => new Importer(options, source).run());
  } catch (err) {
    if (err instanceof ImportError) throw err;
    throw databaseError(err, options.db.target);
  } finally {
    source.close();
  }
}

/** Opens `<dataDir>/gridhead.db` read-only, refusing what this build cannot copy. */
export function openSource(dataDir: string): Db {
  const file = join(dataDir, STORE_FILE);
  if (!existsSync(file) || !statSync(file).isFile()) throw new ImportSourceMissing(dataDir);
  let db: Db | undefined;
  let version: number;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    version = schemaVersion(db);
    // A reader of a WAL store sees a snapshot per statement; the station must be stopped anyway.
    db.pragma('query_only = ON');
  } catch (err) {
    db?.close();
    throw new ImportSourceUnreadable(file, err);
  }
  const known = MIGRATIONS.at(-1)?.version ?? 0;
  if (version === known) return db;
  db.close();
  if (version === 0) throw new ImportSourceUnreadable(file, new Error('it holds no gridhead schema'));
  if (version > known) throw new ImportSourceTooNew(file, version, known);
  throw new ImportSourceOutdated(file, version, known);
}

/** The source's identity: its registry's meter ids, so an import resumed from another station's store is told apart. */
export function sourceFingerprint(source: Db): string {
  const ids = (source.prepare('SELECT id FROM meters ORDER BY id').pluck().all() as string[]).join('\n');
  return createHash('sha256').update(ids).digest('hex').slice(0, 32);
}

async function withImportLock<T>(db: PostgresDatabase, work: () => Promise<T>): Promise<T> {
  const lock = await db.sql.reserve();
  try {
    const [row] = await lock<{ locked: boolean }[]>`SELECT pg_try_advisory_lock(${ADVISORY_LOCK_SPACE}::int4, ${LOCK_IMPORT}::int4) AS locked`;
    if (row?.locked !== true) throw new ImportAlreadyRunning(db.target.redacted);
    try {
      return await work();
    } finally {
      await lock`SELECT pg_advisory_unlock(${ADVISORY_LOCK_SPACE}::int4, ${LOCK_IMPORT}::int4)`;
    }
  } finally {
    lock.release();
  }
}

class Importer {
  private readonly sql: Sql;
  private readonly tables: readonly ImportTable[];
  private readonly batchRows: number;
  private readonly now: () => number;

  constructor(private readonly options: ImportOptions, private readonly source: Db) {
    this.sql = options.db.sql;
    this.tables = options.tables ?? IMPORT_TABLES;
    this.batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    this.now = options.now ?? Date.now;
  }

  async run(): Promise<ImportSummary> {
    const fingerprint = sourceFingerprint(this.source);
    const resumed = await this.begin(fingerprint);
    const progress = new Map((await this.sql<ProgressRow[]>`
      SELECT table_name, last_key, read, copied, done FROM import_progress WHERE source = ${fingerprint}`).map((r) => [r.table_name, r]));
    const results: TableResult[] = [];
    for (const table of this.tables) {
      results.push(await this.copyTable(fingerprint, table, progress.get(table.name)));
    }
    await this.sql`UPDATE import_runs SET finished_at = ${this.now()} WHERE source = ${fingerprint}`;
    return { sourceDir: this.options.dataDir, resumed, tables: results };
  }

  /** Records the run, or finds it to resume; true when resuming. Refuses a target it must not write into. */
  private async begin(fingerprint: string): Promise<boolean> {
    const runs = await this.sql<ImportRun[]>`SELECT source, source_dir, started_at, finished_at FROM import_runs`;
    const other = runs.find((r) => r.source !== fingerprint);
    if (other !== undefined) throw new ImportTargetOtherStation(this.options.db.target.redacted, other.source_dir, other.started_at);
    const own = runs[0];
    if (own !== undefined) {
      if (own.finished_at !== null) throw new ImportAlreadyDone(this.options.db.target.redacted, own.source_dir, own.finished_at);
      return true;
    }
    const holding: string[] = [];
    for (const table of this.tables) if (await table.hasRows(this.sql)) holding.push(table.name);
    if (holding.length > 0) throw new ImportTargetNotEmpty(this.options.db.target.redacted, holding);
    const names = this.tables.map((t) => t.name);
    await this.sql.begin(async (tx) => {
      await tx`INSERT INTO import_runs (source, source_dir, started_at) VALUES (${fingerprint}, ${this.options.dataDir}, ${this.now()})`;
      await tx`INSERT INTO import_progress (source, table_name) SELECT ${fingerprint}, unnest(${names}::text[])`;
    });
    return false;
  }

  private async copyTable(fingerprint: string, table: ImportTable, earlier: ProgressRow | undefined): Promise<TableResult> {
    const listener = this.options.listener;
    let read = earlier?.read ?? 0;
    let copied = earlier?.copied ?? 0;
    if (earlier === undefined) {
      // A table added to the list since this import started (a newer build resuming it).
      await this.sql`INSERT INTO import_progress (source, table_name) VALUES (${fingerprint}, ${table.name}) ON CONFLICT DO NOTHING`;
    }
    const copy = await table.open(this.context());
    if (earlier?.done === true) {
      await copy.finish(this.sql);
      const result: TableResult = { table: table.name, read, copied, skipped: {}, earlier: true };
      listener?.tableFinished?.(result);
      return result;
    }
    listener?.tableStarted?.(table.name, table.count(this.source), read);
    const skipped: Record<string, number> = {};
    let batch = copy.read(earlier?.last_key ?? undefined, this.batchRows);
    while (batch.rows.length > 0) {
      const current = batch;
      const { outcome, next } = await this.commit(fingerprint, table.name, copy, current, () => copy.read(current.lastKey, this.batchRows));
      read += current.rows.length;
      copied += outcome.copied;
      for (const [reason, n] of Object.entries(outcome.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
      listener?.batchCommitted?.(table.name, read);
      batch = next;
    }
    await this.sql`UPDATE import_progress SET done = true WHERE source = ${fingerprint} AND table_name = ${table.name}`;
    await copy.finish(this.sql);
    const result: TableResult = { table: table.name, read, copied, skipped, earlier: false };
    listener?.tableFinished?.(result);
    return result;
  }

  /**
   * Inserts a batch and records its table's progress in one transaction. `readAhead` reads the
   * next batch from SQLite while PostgreSQL runs the insert: the insert is sent (one turn of
   * the event loop) before the synchronous read blocks the loop.
   */
  private async commit(
    fingerprint: string, table: string, copy: TableCopy, batch: SourceBatch, readAhead: () => SourceBatch,
  ): Promise<{ outcome: BatchOutcome; next: SourceBatch }> {
    return this.sql.begin(async (tx) => {
      const writing = copy.write(tx, batch);
      let next: SourceBatch;
      try {
        await new Promise<void>((resolve) => { setImmediate(resolve); });
        next = readAhead();
      } catch (err) {
        await writing.catch(() => undefined);
        throw err;
      }
      const outcome = await writing;
      await tx`UPDATE import_progress
               SET last_key = ${tx.json(batch.lastKey)}, read = read + ${batch.rows.length}, copied = copied + ${outcome.copied}
               WHERE source = ${fingerprint} AND table_name = ${table}`;
      return { outcome, next };
    });
  }

  private context(): ImportContext {
    return {
      source: this.source,
      sql: this.sql,
      now: this.now(),
      retentionDays: this.options.retentionDays,
      partitionDaysAhead: this.options.partitionDaysAhead,
    };
  }
}
