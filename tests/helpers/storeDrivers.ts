/**
 * The two drivers every store (commands, audit, control actions, load-control state, ...)
 * run on, for suites parametrised with describe.each: the embedded store in a SQLite file of a
 * temp directory, and PostgreSQL on a throw-away cluster (one per test file, started on first
 * use; skipped, with the reason printed, where PostgreSQL is not installed). Each `open()` is a
 * fresh, migrated database; `reopen()` opens the same one again, as a restarted station does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { PostgresAuthStore } from '../../src/auth/postgresStore.js';
import { SqliteAuthStore, type AuthStore } from '../../src/auth/store.js';
import { SqliteControlActionStore, type ControlActionStore } from '../../src/control/actions.js';
import { SqliteAuditLog, type AuditLog } from '../../src/control/audit.js';
import { SqliteCommandStore, type CommandStore } from '../../src/control/commandStore.js';
import { PostgresControlActionStore } from '../../src/control/postgresActions.js';
import { PostgresAuditLog } from '../../src/control/postgresAudit.js';
import { PostgresProgramStateStore } from '../../src/rules/loadControl/postgresStateStore.js';
import { SqliteProgramStateStore, type ProgramStateStore } from '../../src/rules/loadControl/stateStore.js';
import { PostgresCommandStore } from '../../src/control/postgresCommandStore.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from './postgres.js';
import { POSTGRES_TEST_CONFIG } from './postgresStore.js';

/** One connection to a driver's database: exactly one of `sqlite` and `postgres` is set. */
export type StoreConnection = { readonly sqlite: Db; readonly postgres?: undefined } | { readonly sqlite?: undefined; readonly postgres: PostgresDatabase };

export interface StoreDatabase {
  /** A connection to the database; close the previous one first to model a restart. */
  connect(): Promise<StoreConnection>;
  /** Closes every connection made and removes the database. */
  dispose(): Promise<void>;
}

export interface StoreDriver {
  readonly name: string;
  /** Why this driver cannot run here, or undefined. */
  readonly unavailable: string | undefined;
  create(): Promise<StoreDatabase>;
}

const pgUnavailable = postgresUnavailable();
let cluster: TestPostgres | undefined;

export const embeddedDriver: StoreDriver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-store-'));
    const open: Db[] = [];
    return Promise.resolve({
      connect: () => {
        const sqlite = openDatabase(join(dir, 'store.db'));
        open.push(sqlite);
        return Promise.resolve({ sqlite });
      },
      dispose: () => {
        for (const db of open) if (db.open) db.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
};

export const postgresDriver: StoreDriver = {
  name: 'PostgreSQL',
  unavailable: pgUnavailable,
  create: async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const open: PostgresDatabase[] = [];
    return {
      connect: async () => {
        const postgres = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
        open.push(postgres);
        await migratePostgres(postgres);
        return { postgres };
      },
      dispose: async () => {
        for (const db of open) await db.close();
      },
    };
  },
};

export const STORE_DRIVERS: readonly StoreDriver[] = [embeddedDriver, postgresDriver];

if (pgUnavailable !== undefined) console.warn(`store suites skip PostgreSQL: ${pgUnavailable}`);

/** Stops the file's cluster; call in afterAll. */
export async function disposeStoreDrivers(): Promise<void> {
  await cluster?.dispose();
  cluster = undefined;
}

/** The command store of the connection's driver. */
export function commandStoreOf(c: StoreConnection): CommandStore {
  return c.sqlite !== undefined ? new SqliteCommandStore(c.sqlite) : new PostgresCommandStore(c.postgres);
}

/** The audit log of the connection's driver. */
export function auditLogOf(c: StoreConnection, options: { readonly now?: () => number } = {}): AuditLog {
  return c.sqlite !== undefined ? new SqliteAuditLog(c.sqlite, options) : new PostgresAuditLog(c.postgres, options);
}

/** Runs one statement on the connection's database (a test's direct write, bypassing the store). */
export async function execute(c: StoreConnection, statement: string): Promise<void> {
  if (c.sqlite !== undefined) c.sqlite.prepare(statement).run();
  else await c.postgres.sql.unsafe(statement);
}

/** The control action log of the connection's driver. */
export function actionStoreOf(c: StoreConnection): ControlActionStore {
  return c.sqlite !== undefined ? new SqliteControlActionStore(c.sqlite) : new PostgresControlActionStore(c.postgres);
}

/** The load-control program state store of the connection's driver. */
export function programStateStoreOf(c: StoreConnection): ProgramStateStore {
  return c.sqlite !== undefined ? new SqliteProgramStateStore(c.sqlite) : new PostgresProgramStateStore(c.postgres);
}

/** The users, tokens and sessions store of the connection's driver. */
export function authStoreOf(c: StoreConnection): AuthStore {
  return c.sqlite !== undefined ? new SqliteAuthStore(c.sqlite) : new PostgresAuthStore(c.postgres);
}
