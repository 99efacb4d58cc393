/**
 * The station's stores on the driver it is configured for: the embedded SQLite file of the
 * data directory (the zero-install default), or PostgreSQL shared by several nodes. Every
 * store with both implementations is built here from the one chosen driver; the assemblies
 * receive store ports and never learn which driver they run on.
 *
 * The driver: `storage.driver`, else PostgreSQL when a URL is given (GRIDHEAD_DATABASE_URL or
 * `storage.postgres.url`), else embedded. A contradiction (embedded, yet the variable set) or
 * PostgreSQL without a URL stops the start with a `ConfigError` naming both sides; a URL the
 * server refuses stops it with the typed `DatabaseError` of src/storage/postgres/errors.ts,
 * which names the variable and never the password.
 */
import { join } from 'node:path';
import { SqliteAlarmStore, type AlarmStore } from './alarms/store.js';
import { PostgresAlarmStore } from './alarms/postgresStore.js';
import { PostgresAuthStore } from './auth/postgresStore.js';
import { SqliteAuthStore, type AuthStore } from './auth/store.js';
import { PostgresBillingStore } from './billing/postgresStore.js';
import { PostgresDropCounterStore } from './broker/postgresDropCounter.js';
import { SqliteDropCounterStore, type DropCounterStore } from './broker/dropMonitor.js';
import { SqliteReplacementStore, type ReplacementStore } from './billing/replacements.js';
import { PostgresReplacementStore } from './billing/postgresReplacements.js';
import { SqliteBillingStore, type BillingStore } from './billing/store.js';
import { SqliteProfileCursors, type ProfileCursorStore } from './collect/profileCursors.js';
import { PostgresProfileCursors } from './collect/postgresProfileCursors.js';
import { PostgresCollectionStatsStore } from './collect/postgresStatsStore.js';
import { SqliteCollectionStatsStore, type CollectionStatsStore } from './collect/statsStore.js';
import { ConfigError } from './config/load.js';
import type { GridheadConfig } from './config/schema.js';
import { SqliteControlActionStore, type ControlActionStore } from './control/actions.js';
import { SqliteAuditLog, type AuditLog } from './control/audit.js';
import { SqliteCommandStore, type CommandStore } from './control/commandStore.js';
import { PostgresControlActionStore } from './control/postgresActions.js';
import { PostgresAuditLog } from './control/postgresAudit.js';
import { PostgresCommandStore } from './control/postgresCommandStore.js';
import { PostgresDeviceEventStore } from './events/postgresStore.js';
import { PostgresFeeStore } from './fees/postgresStore.js';
import { SqliteFeeStore } from './fees/sqliteStore.js';
import type { FeeStore } from './fees/store.js';
import { postgresFeeReports, sqliteFeeReports } from './fees/reports/sqlReports.js';
import type { FeeReportStore } from './fees/reports/store.js';
import { SqliteDeviceEventStore, type DeviceEventStore } from './events/store.js';
import { PostgresWorkflowDefinitionStore } from './workflows/definitions/postgresStore.js';
import { SqliteWorkflowDefinitionStore } from './workflows/definitions/sqliteStore.js';
import type { WorkflowDefinitionStore } from './workflows/definitions/store.js';
import { PostgresFirmwareStore } from './firmware/postgresStore.js';
import { SqliteFirmwareStore } from './firmware/sqliteStore.js';
import type { FirmwareStore } from './firmware/store.js';
import { PostgresWorkOrderStore } from './workOrders/postgresStore.js';
import { SqliteWorkOrderStore } from './workOrders/sqliteStore.js';
import type { WorkOrderStore } from './workOrders/store.js';
import type { PushListStore } from '../protocols/dlms/push/pushLists.js';
import { SqliteControlReadBacks, type ControlReadBacks } from './live/meterState.js';
import { PostgresControlReadBacks } from './live/postgresReadBacks.js';
import type { Closers } from './observe/closers.js';
import type { ComponentStatus } from './observe/health.js';
import type { MetricSource } from './observe/metrics.js';
import type { LogThrottle, Logger } from './observe/logger.js';
import { Registry, type RegistryOptions } from './registry/registry.js';
import { PostgresRegistryStore } from './registry/postgresStore.js';
import { SqliteRegistryStore } from './registry/store.js';
import { PostgresProgramStateStore } from './rules/loadControl/postgresStateStore.js';
import { SqliteProgramStateStore, type ProgramStateStore } from './rules/loadControl/stateStore.js';
import { PostgresRuleStore } from './rules/postgresStore.js';
import { SqliteRuleStore, type RuleStore } from './rules/store.js';
import { SqliteCounterStore, type CounterStore } from './security/counterStore.js';
import { SqliteKeyStore, type KeyStore } from './security/keyStore.js';
import { loadMasterKey } from './security/masterKey.js';
import { PostgresCounterStore } from './security/postgresCounterStore.js';
import { PostgresKeyStore } from './security/postgresKeyStore.js';
import { PostgresSecurityEventStore } from './security/postgresSecurityEvents.js';
import { SqliteSecurityEventStore, type SecurityEventStore } from './security/securityEvents.js';
import { SqliteAnalysisQueries, type AnalysisQueries } from './storage/analysisQueries.js';
import { SqlitePushDeadLetterStore, type PushDeadLetterStore } from './storage/dlmsPushDeadLetters.js';
import { SqlitePushListStore } from './storage/dlmsPushLists.js';
import { PostgresAnalysisQueries } from './storage/postgres/analysisQueries.js';
import { PostgresPushDeadLetterStore } from './storage/postgres/dlmsPushDeadLetters.js';
import { PostgresPushListStore } from './storage/postgres/dlmsPushLists.js';
import { openDatabase } from './storage/db.js';
import { DATABASE_URL_ENV, databaseUrl, openPostgres, type PostgresDatabase } from './storage/postgres/connection.js';
import { migratePostgres } from './storage/postgres/migrations.js';
import { statementMetricSources } from './storage/postgres/statements.js';
import { PgReadingStore } from './storage/postgres/readingStore.js';
import { makeDataDirPrivate } from './storage/privateFiles.js';
import { ReadingStore, asyncReadingStore, type AsyncReadingStore } from './storage/readingStore.js';
import { DatabaseHealth } from './storage/postgres/health.js';
import { PostgresWorkflowInstanceStore } from './workflows/runtime/postgresStore.js';
import { SqliteWorkflowInstanceStore } from './workflows/runtime/sqliteStore.js';
import type { WorkflowInstanceStore } from './workflows/runtime/store.js';

export type StorageDriver = 'embedded' | 'postgres';

const STORAGE_SETTINGS = `the storage settings (storage.driver, storage.postgres.url, ${DATABASE_URL_ENV})`;

/** Every store of the station, as ports; which driver is behind them is `driver`. */
export interface StationStores {
  readonly driver: StorageDriver;
  /** The PostgreSQL pool the stores share; undefined on the embedded driver. The cluster's members and leases live there too. */
  readonly postgres: PostgresDatabase | undefined;
  readonly readings: AsyncReadingStore;
  readonly commands: CommandStore;
  readonly audit: AuditLog;
  readonly controlActions: ControlActionStore;
  readonly programStates: ProgramStateStore;
  readonly alarms: AlarmStore;
  readonly deviceEvents: DeviceEventStore;
  readonly rules: RuleStore;
  readonly keys: KeyStore;
  readonly counters: CounterStore;
  readonly securityEvents: SecurityEventStore;
  readonly collectionStats: CollectionStatsStore;
  readonly profileCursors: ProfileCursorStore;
  readonly replacements: ReplacementStore;
  /** The topology: held in memory, written through to the driver's store. */
  readonly registry: Registry;
  /** Users, API tokens and sessions; src/openStorage.ts builds the access service on it. */
  readonly auth: AuthStore;
  /** The DLMS push intake's learnt object lists and its TCP dead letters. */
  readonly pushLists: PushListStore;
  readonly pushDeadLetters: PushDeadLetterStore;
  /** The broker drop monitor's confirmed counter. */
  readonly brokerDropCounters: DropCounterStore;
  readonly readBacks: ControlReadBacks;
  readonly analysisQueries: AnalysisQueries;
  readonly billing: BillingStore;
  /** Fee accounts, the ledger and fee-control state (src/fees/store.ts). */
  readonly fees: FeeStore;
  /** Fee recovery reports over the same tables (src/fees/reports/store.ts). */
  readonly feeReports: FeeReportStore;
  /** Deployed BPMN process definitions, every version (src/workflows/definitions/store.ts). */
  readonly workflowDefinitions: WorkflowDefinitionStore;
  /** Work orders, their comments and history (src/workOrders/store.ts). */
  readonly workOrders: WorkOrderStore;
  /** Workflow instances, their history and their service tasks' effects (src/workflows/runtime/store.ts). */
  readonly workflowInstances: WorkflowInstanceStore;
  /** Firmware images, campaigns and their devices (src/firmware/store.ts). */
  readonly firmware: FirmwareStore;
  /** The `database` component of /health: the driver, whether it answers, the pool, the last error. */
  health(): Promise<ComponentStatus>;
  /** A store write that failed (the pipeline retries it): shown in /health until the database answers again. */
  readonly noteError: (err: unknown) => void;
  /** On PostgreSQL: the statements the pool sent, by command; none on the embedded driver. */
  metricSources(): MetricSource[];
}

export interface StoresAssembly {
  readonly config: GridheadConfig;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
}

/** The driver the configuration and the environment choose; throws `ConfigError` on a contradiction or a missing URL. */
export function storageDriverOf(storage: GridheadConfig['storage'], env: NodeJS.ProcessEnv): StorageDriver {
  return storageChoice(storage, env).driver;
}

/** The driver, and for PostgreSQL the URL it connects to and where that came from. */
function storageChoice(storage: GridheadConfig['storage'], env: NodeJS.ProcessEnv):
  { readonly driver: 'embedded' } | { readonly driver: 'postgres'; readonly target: { readonly url: string; readonly source: string } } {
  const url = databaseUrl(storage.postgres, env);
  if (storage.driver === 'embedded' && url?.source === DATABASE_URL_ENV) {
    throw new ConfigError(STORAGE_SETTINGS, [{
      path: 'storage.driver',
      message: `is embedded, but ${DATABASE_URL_ENV} is set, which means PostgreSQL: unset ${DATABASE_URL_ENV} or set storage.driver to postgres`,
    }]);
  }
  if (storage.driver === 'postgres' && url === undefined) {
    throw new ConfigError(STORAGE_SETTINGS, [{
      path: 'storage.driver',
      message: `is postgres, but no database is given: set ${DATABASE_URL_ENV} (postgres://user:password@host:port/database) or storage.postgres.url`,
    }]);
  }
  return storage.driver === 'embedded' || url === undefined ? { driver: 'embedded' } : { driver: 'postgres', target: url };
}

export async function openStores({ config, logger, throttle, closers }: StoresAssembly, env: NodeJS.ProcessEnv): Promise<StationStores> {
  const choice = storageChoice(config.storage, env);
  const { driver } = choice;
  // Secrets live in the data directory: owner-only, tightened once if an older start left it open.
  const tightened = makeDataDirPrivate(config.dataDir);
  if (tightened.length > 0) logger.warn({ dataDir: config.dataDir, count: tightened.length, paths: tightened.slice(0, 5) }, 'data directory was open to other users: tightened to 0700 (folders) and 0600 (files)');
  // DLMS keys sealed under the master key; a wrong master key stops the start here.
  const masterKey = loadMasterKey({
    env, dataDir: config.dataDir, simulatorsEnabled: config.simulators.enabled,
    warn: (message, file) => { logger.warn({ file }, message); },
  });
  const registryOptions: RegistryOptions = {
    registerMapExists: (n) => Object.hasOwn(config.modbus.registerMaps, n),
    profileExists: (n) => Object.hasOwn(config.collect.profiles, n),
  };
  const pushListOptions = { maxMeters: config.dlms.push.lists.maxMeters };

  if (choice.driver === 'embedded') {
    const sqlite = openDatabase(join(config.dataDir, 'gridhead.db'), { durability: config.storage.durability });
    closers.add('store', () => { sqlite.close(); });
    const registry = await Registry.open(new SqliteRegistryStore(sqlite), registryOptions);
    const counters = new SqliteCounterStore(sqlite);
    closers.add('security counters', () => counters.flush());
    const embeddedStatus: ComponentStatus = { status: 'ok', detail: `embedded (SQLite) in ${config.dataDir}`, info: { driver: 'embedded' } };
    return {
      driver,
      postgres: undefined,
      readings: asyncReadingStore(new ReadingStore(sqlite, (id) => registry.meterKey(id))),
      commands: new SqliteCommandStore(sqlite),
      audit: new SqliteAuditLog(sqlite),
      controlActions: new SqliteControlActionStore(sqlite),
      programStates: new SqliteProgramStateStore(sqlite),
      alarms: new SqliteAlarmStore(sqlite),
      deviceEvents: new SqliteDeviceEventStore(sqlite),
      rules: new SqliteRuleStore(sqlite),
      keys: new SqliteKeyStore(sqlite, masterKey, { onChange: (c) => counters.discard(c.scope, c.generation) }),
      counters,
      securityEvents: new SqliteSecurityEventStore(sqlite),
      collectionStats: new SqliteCollectionStatsStore(sqlite),
      profileCursors: new SqliteProfileCursors(sqlite),
      replacements: new SqliteReplacementStore(sqlite),
      registry,
      auth: new SqliteAuthStore(sqlite),
      pushLists: new SqlitePushListStore(sqlite, pushListOptions),
      pushDeadLetters: new SqlitePushDeadLetterStore(sqlite),
      brokerDropCounters: new SqliteDropCounterStore(sqlite),
      readBacks: new SqliteControlReadBacks(sqlite),
      analysisQueries: new SqliteAnalysisQueries(sqlite),
      billing: new SqliteBillingStore(sqlite),
      fees: new SqliteFeeStore(sqlite),
      feeReports: sqliteFeeReports(sqlite),
      workflowDefinitions: new SqliteWorkflowDefinitionStore(sqlite),
      workOrders: new SqliteWorkOrderStore(sqlite),
      workflowInstances: new SqliteWorkflowInstanceStore(sqlite),
      firmware: new SqliteFirmwareStore(sqlite),
      health: () => Promise.resolve(embeddedStatus),
      noteError: () => undefined,
      metricSources: () => [],
    };
  }

  const { url: _url, ...settings } = config.storage.postgres;
  const pg = await openPostgres({ url: choice.target.url, urlSource: choice.target.source, config: settings });
  closers.add('postgres', () => pg.close());
  const log = logger.child({ component: 'postgres' });
  const health = new DatabaseHealth(pg, { timeoutMs: config.storage.postgres.healthTimeoutMs });
  const problem = (key: string, message: string) => (err: unknown): void => {
    health.noteError(err);
    const suppressed = throttle.pass(`postgres:${key}`);
    if (suppressed >= 0) log.warn({ err, suppressed }, message);
  };
  const outcome = await migratePostgres(pg);
  if (outcome.applied.length > 0) log.info({ applied: outcome.applied.map((m) => m.version), version: outcome.version }, 'PostgreSQL schema migrated');

  const registry = await Registry.open(new PostgresRegistryStore(pg), {
    ...registryOptions,
    onRemoteError: problem('registry', 'topology changes made on other nodes could not be read back; tried again'),
  });
  closers.add('registry follower', () => registry.close());
  const readings = await PgReadingStore.open(pg, (id) => registry.meterKey(id), {
    retentionDays: config.storage.retentionDays,
    partitionDaysAhead: config.storage.postgres.partitionDaysAhead,
    maintenanceIntervalMs: config.storage.postgres.maintenanceIntervalMs,
    onRefused: problem('outside-partitions', 'readings outside the partition window refused'),
    onMaintenanceError: problem('maintenance', 'reading partition maintenance failed; tried again at the next interval'),
    onMaintenance: (r) => { if (r.created.length + r.dropped.length > 0) log.info({ created: r.created, dropped: r.dropped }, 'reading partitions maintained'); },
  });
  closers.add('reading partitions', () => readings.close());
  health.watchPartitions(readings);
  const counters = new PostgresCounterStore(pg, { onError: problem('counters', 'invocation counter reservation or write failed; retried') });
  closers.add('security counters', () => counters.flush());
  const keys = await PostgresKeyStore.open(pg, masterKey, { onChange: (c) => counters.discard(c.scope, c.generation) });
  const replacements = await PostgresReplacementStore.open(pg, { onError: problem('replacements', 'meter replacements could not be reloaded after a lost listener') });
  closers.add('meter replacements', () => replacements.close());
  // After the reading store: it assigns the quantity codes the analysis queries look up.
  const analysisQueries = await PostgresAnalysisQueries.open(pg);
  log.info({ database: pg.target.redacted, from: pg.target.source, schema: outcome.version }, 'stores on PostgreSQL');
  return {
    driver,
    postgres: pg,
    readings,
    commands: new PostgresCommandStore(pg),
    audit: new PostgresAuditLog(pg),
    controlActions: new PostgresControlActionStore(pg),
    programStates: new PostgresProgramStateStore(pg),
    alarms: new PostgresAlarmStore(pg),
    deviceEvents: new PostgresDeviceEventStore(pg),
    rules: new PostgresRuleStore(pg),
    keys,
    counters,
    securityEvents: new PostgresSecurityEventStore(pg),
    collectionStats: new PostgresCollectionStatsStore(pg),
    profileCursors: new PostgresProfileCursors(pg),
    replacements,
    registry,
    auth: new PostgresAuthStore(pg),
    pushLists: new PostgresPushListStore(pg, pushListOptions),
    pushDeadLetters: new PostgresPushDeadLetterStore(pg),
    brokerDropCounters: new PostgresDropCounterStore(pg),
    readBacks: new PostgresControlReadBacks(pg),
    analysisQueries,
    billing: new PostgresBillingStore(pg),
    fees: new PostgresFeeStore(pg),
    feeReports: postgresFeeReports(pg),
    workflowDefinitions: new PostgresWorkflowDefinitionStore(pg),
    workOrders: new PostgresWorkOrderStore(pg),
    workflowInstances: new PostgresWorkflowInstanceStore(pg),
    firmware: new PostgresFirmwareStore(pg),
    health: () => health.status(),
    noteError: (err) => { health.noteError(err); },
    metricSources: () => statementMetricSources(pg),
  };
}
