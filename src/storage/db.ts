import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.js';
import { makePrivateDir, makePrivateFile, restrict } from './privateFiles.js';

export type Db = Database.Database;

export class MigrationError extends Error {
  readonly code = 'MIGRATION';
  constructor(readonly version: number, cause: unknown) {
    super(`embedded store migration ${version} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationError';
  }
}

/**
 * How far a commit is on disk before `commit()` returns (SQLite `synchronous` in WAL mode):
 * - `full`: the WAL is fsynced at every commit, so what the station acknowledged (an MQTT
 *   PUBACK goes out after the commit) survives a power cut or an OS crash;
 * - `normal`: the WAL is fsynced only at checkpoints; a process crash or SIGKILL loses nothing,
 *   a power cut may lose the last transactions, and with them readings already acknowledged.
 */
export type StoreDurability = 'full' | 'normal';

export interface OpenDatabaseOptions {
  /** Default `full`. */
  readonly durability?: StoreDurability;
  readonly migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) the embedded store and brings its schema up to date.
 * WAL lets readers (API queries) run beside the single writer (the ingest pipeline).
 * The file and its WAL are owner-only (src/storage/privateFiles.ts). `path` may be `:memory:`
 * for tests.
 */
export function openDatabase(path: string, { durability = 'full', migrations = MIGRATIONS }: OpenDatabaseOptions = {}): Db {
  if (path !== ':memory:') {
    makePrivateDir(dirname(path));
    // SQLite creates a new database 0644 and gives its -wal and -shm files the database
    // file's mode: created 0600 here, all three stay owner-only.
    makePrivateFile(path);
    restrict(`${path}-wal`);
    restrict(`${path}-shm`);
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // The ingest pipeline commits many messages per transaction (group commit), so one fsync
  // per commit is affordable and `full` is the default.
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  for (const m of migrations) {
    if (m.version <= current) continue;
    try {
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      })();
    } catch (err) {
      throw new MigrationError(m.version, err);
    }
  }
}

/**
 * What `work` returns, as a promise, or its throw as a rejection: how an embedded store
 * (synchronous, the work done before this returns) answers through a port that a network
 * database implements too.
 */
export function settled<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => { resolve(work()); });
}
