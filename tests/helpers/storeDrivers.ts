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
import { afterEach, beforeAll, beforeEach } from 'vitest';
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
import { SqliteDropCounterStore, type DropCounterStore } from '../../src/broker/dropMonitor.js';
import { PostgresDropCounterStore } from '../../src/broker/postgresDropCounter.js';
import { SqliteControlReadBacks, type ControlReadBacks } from '../../src/live/meterState.js';
import { PostgresControlReadBacks } from '../../src/live/postgresReadBacks.js';
import { SqlitePushDeadLetterStore, type PushDeadLetterStore } from '../../src/storage/dlmsPushDeadLetters.js';
import { SqlitePushListStore, type PushListStoreOptions } from '../../src/storage/dlmsPushLists.js';
import { PostgresPushDeadLetterStore } from '../../src/storage/postgres/dlmsPushDeadLetters.js';
import { PostgresPushListStore } from '../../src/storage/postgres/dlmsPushLists.js';
import { PostgresBillingStore } from '../../src/billing/postgresStore.js';
import { PostgresReplacementStore } from '../../src/billing/postgresReplacements.js';
import { SqliteReplacementStore, type ReplacementStore } from '../../src/billing/replacements.js';
import { SqliteBillingStore, type BillingStore } from '../../src/billing/store.js';
import type { Reading } from '../../src/domain/reading.js';
import { SqliteAnalysisQueries, type AnalysisQueries } from '../../src/storage/analysisQueries.js';
import { PostgresAnalysisQueries } from '../../src/storage/postgres/analysisQueries.js';
import { PgReadingStore } from '../../src/storage/postgres/readingStore.js';
import { ReadingStore, type MeterKeyResolver } from '../../src/storage/readingStore.js';
import { PostgresFeeStore } from '../../src/fees/postgresStore.js';
import { SqliteFeeStore } from '../../src/fees/sqliteStore.js';
import type { FeeStore } from '../../src/fees/store.js';
import { postgresFeeReports, sqliteFeeReports } from '../../src/fees/reports/sqlReports.js';
import type { FeeReportStore } from '../../src/fees/reports/store.js';
import { PostgresRegistryStore } from '../../src/registry/postgresStore.js';
import { PostgresFirmwareStore } from '../../src/firmware/postgresStore.js';
import { SqliteFirmwareStore } from '../../src/firmware/sqliteStore.js';
import type { FirmwareStore } from '../../src/firmware/store.js';
import { PostgresWorkOrderStore } from '../../src/workOrders/postgresStore.js';
import { SqliteWorkOrderStore } from '../../src/workOrders/sqliteStore.js';
import type { WorkOrderStore } from '../../src/workOrders/store.js';
import { SqliteRegistryStore, type RegistryStore } from '../../src/registry/store.js';
import { PostgresWorkflowDefinitionStore } from '../../src/workflows/definitions/postgresStore.js';
import { SqliteWorkflowDefinitionStore } from '../../src/workflows/definitions/sqliteStore.js';
import type { WorkflowDefinitionStore } from '../../src/workflows/definitions/store.js';
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

/** A test's own database on one driver: see `connectEachTest`. */
export interface TestDatabase {
  /** The test's current connection (the one `reconnect` made last). */
  readonly connection: StoreConnection;
  /** Another connection to the same database, the current one left open: a second node. */
  connect(): Promise<StoreConnection>;
  /** Closes the current connection and makes a new one current, as a restarted station does. */
  reconnect(): Promise<StoreConnection>;
}

/**
 * The hooks of a suite run on every driver (`describe.each(STORE_DRIVERS)`), called in the
 * describe block: the reason printed once and every test skipped where the driver cannot run,
 * else a fresh database and a connection to it before each test, disposed after it (after the
 * suite's own afterEach hooks, which may still close what they opened on it). The getter gives
 * the running test's database.
 */
export function connectEachTest(driver: StoreDriver): () => TestDatabase {
  let current: { readonly database: StoreDatabase; connection: StoreConnection } | undefined;
  const view: TestDatabase = {
    get connection() { return running().connection; },
    connect: () => running().database.connect(),
    reconnect: async () => {
      const test = running();
      await disconnect(test.connection);
      test.connection = await test.database.connect();
      return test.connection;
    },
  };
  function running(): { readonly database: StoreDatabase; connection: StoreConnection } {
    if (current === undefined) throw new Error(`no ${driver.name} database outside a test`);
    return current;
  }

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    const database = await driver.create();
    try {
      current = { database, connection: await database.connect() };
    } catch (err) {
      await database.dispose();
      throw err;
    }
  }, 30_000);
  afterEach(async () => {
    const test = current;
    current = undefined;
    await test?.database.dispose();
  });
  return () => view;
}

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

/** The DLMS push list store of the connection's driver. */
export function pushListStoreOf(c: StoreConnection, options: PushListStoreOptions = {}): SqlitePushListStore | PostgresPushListStore {
  return c.sqlite !== undefined ? new SqlitePushListStore(c.sqlite, options) : new PostgresPushListStore(c.postgres, options);
}

/** The DLMS push dead-letter store of the connection's driver. */
export function pushDeadLetterStoreOf(c: StoreConnection): PushDeadLetterStore {
  return c.sqlite !== undefined ? new SqlitePushDeadLetterStore(c.sqlite) : new PostgresPushDeadLetterStore(c.postgres);
}

/** The broker drop counter store of the connection's driver. */
export function dropCounterStoreOf(c: StoreConnection): DropCounterStore {
  return c.sqlite !== undefined ? new SqliteDropCounterStore(c.sqlite) : new PostgresDropCounterStore(c.postgres);
}

/** The control read-backs of the connection's driver. */
export function controlReadBacksOf(c: StoreConnection): ControlReadBacks {
  return c.sqlite !== undefined ? new SqliteControlReadBacks(c.sqlite) : new PostgresControlReadBacks(c.postgres);
}

/** Closes the connection, as a stopping station does; `connect()` again models the restart. */
export async function disconnect(c: StoreConnection): Promise<void> {
  if (c.sqlite !== undefined) c.sqlite.close();
  else await c.postgres.close();
}

/** Writes fixture readings through the connection's reading store, as collection would have stored them. */
export interface ReadingWriter {
  write(batch: readonly Reading[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The reading store of the connection's driver, for fixtures. PostgreSQL's keeps day partitions
 * from `retentionDays` before `now` to two days after it: fixtures at fixed dates set `now`.
 */
export async function readingWriterOf(c: StoreConnection, meterKey: MeterKeyResolver, options: { readonly now: number; readonly retentionDays: number }): Promise<ReadingWriter> {
  if (c.sqlite !== undefined) {
    const store = new ReadingStore(c.sqlite, meterKey);
    return { write: (batch) => { store.write(batch); return Promise.resolve(); }, close: () => Promise.resolve() };
  }
  const store = await PgReadingStore.open(c.postgres, meterKey, {
    retentionDays: options.retentionDays, partitionDaysAhead: 2, maintenanceIntervalMs: 3_600_000, now: () => options.now,
  });
  return {
    write: async (batch) => {
      const r = await store.write(batch);
      if (r.written !== batch.length) throw new Error(`fixture readings not all stored: ${JSON.stringify(r)}`);
    },
    close: () => store.close(),
  };
}

/** The billing store of the connection's driver: both read the meters from the registry's table. */
export function billingStoreOf(c: StoreConnection): BillingStore {
  return c.sqlite !== undefined ? new SqliteBillingStore(c.sqlite) : new PostgresBillingStore(c.postgres);
}

/** The analysis queries of the connection's driver; open its reading store first (it assigns the quantity codes). */
export async function analysisQueriesOf(c: StoreConnection): Promise<AnalysisQueries> {
  return c.sqlite !== undefined ? new SqliteAnalysisQueries(c.sqlite) : await PostgresAnalysisQueries.open(c.postgres);
}

/** The meter-replacement store of the connection's driver; `close` stops PostgreSQL's listener. */
export async function replacementStoreOf(c: StoreConnection): Promise<ReplacementStore & { close(): Promise<void> }> {
  if (c.sqlite !== undefined) {
    const store = new SqliteReplacementStore(c.sqlite);
    return { add: (r) => store.add(r), of: (id) => store.of(id), close: () => Promise.resolve() };
  }
  return PostgresReplacementStore.open(c.postgres);
}

/** The registry store of the connection's driver. */
export function registryStoreOf(c: StoreConnection): RegistryStore {
  return c.sqlite !== undefined ? new SqliteRegistryStore(c.sqlite) : new PostgresRegistryStore(c.postgres);
}

/** The users, tokens and sessions store of the connection's driver. */
export function authStoreOf(c: StoreConnection): AuthStore {
  return c.sqlite !== undefined ? new SqliteAuthStore(c.sqlite) : new PostgresAuthStore(c.postgres);
}

/** The fee store (accounts, ledger, fee-control state) of the connection's driver. */
export function feeStoreOf(c: StoreConnection): FeeStore {
  return c.sqlite !== undefined ? new SqliteFeeStore(c.sqlite) : new PostgresFeeStore(c.postgres);
}

/** The fee reports of the connection's driver. */
export function feeReportStoreOf(c: StoreConnection): FeeReportStore {
  return c.sqlite !== undefined ? sqliteFeeReports(c.sqlite) : postgresFeeReports(c.postgres);
}

/** The work order store of the connection's driver. */
export function workOrderStoreOf(c: StoreConnection): WorkOrderStore {
  return c.sqlite !== undefined ? new SqliteWorkOrderStore(c.sqlite) : new PostgresWorkOrderStore(c.postgres);
}

export function firmwareStoreOf(c: StoreConnection): FirmwareStore {
  return c.sqlite !== undefined ? new SqliteFirmwareStore(c.sqlite) : new PostgresFirmwareStore(c.postgres);
}

/** Rows of one query on the connection's database (a test's direct read, bypassing the store). */
export async function select<T>(c: StoreConnection, statement: string, ...args: (string | number)[]): Promise<T[]> {
  if (c.sqlite !== undefined) return c.sqlite.prepare(statement.replace(/\$\d+/g, '?')).all(...args) as T[];
  return await c.postgres.sql.unsafe(statement, args) as unknown as T[];
}

/** The workflow definition store of the connection's driver. */
export function workflowDefinitionStoreOf(c: StoreConnection): WorkflowDefinitionStore {
  return c.sqlite !== undefined ? new SqliteWorkflowDefinitionStore(c.sqlite) : new PostgresWorkflowDefinitionStore(c.postgres);
}
