/**
 * The station's own state on disk, opened first: the data directory made owner-only, the
 * database, the topology, DLMS keys and invocation counters, the audit log, users and the
 * first admin, and the DLMS security every association and push is checked against.
 */
import { join } from 'node:path';
import { bootstrapAdmin } from './auth/bootstrap.js';
import { AuthService } from './auth/service.js';
import { SqliteAuthStore } from './auth/store.js';
import type { GridheadConfig } from './config/schema.js';
import { SqliteAuditLog, SYSTEM_ACTOR, type AuditLog } from './control/audit.js';
import type { MeterId } from './domain/index.js';
import type { Closers } from './observe/closers.js';
import type { Logger } from './observe/logger.js';
import { Registry } from './registry/registry.js';
import { SqliteRegistryStore } from './registry/store.js';
import { SqliteCounterStore } from './security/counterStore.js';
import { moveEndpointPasswords } from './security/endpointPasswords.js';
import { HeadEndSecurity, parseSystemTitle } from './security/headEndSecurity.js';
import { SqliteKeyStore, type KeyStore } from './security/keyStore.js';
import { loadMasterKey } from './security/masterKey.js';
import { SecurityEventLog, SqliteSecurityEventStore } from './security/securityEvents.js';
import { openDatabase, type Db } from './storage/db.js';
import { makeDataDirPrivate } from './storage/privateFiles.js';
import { ReadingStore } from './storage/readingStore.js';

export interface StationStorage {
  readonly db: Db;
  readonly registry: Registry;
  readonly readings: ReadingStore;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly auth: AuthService;
  readonly securityEvents: SecurityEventLog;
  /** DLMS security: ClientSecurity per terminal, PushSecurity by system title. */
  readonly security: HeadEndSecurity;
}

export async function openStorage(
  { config, logger, closers }: { readonly config: GridheadConfig; readonly logger: Logger; readonly closers: Closers },
  env: NodeJS.ProcessEnv,
): Promise<StationStorage> {
  const warn = (fields: Record<string, unknown>, message: string) => { logger.warn(fields, message); };
  // Secrets live in the data directory: owner-only, tightened once if an older start left it open.
  const tightened = makeDataDirPrivate(config.dataDir);
  if (tightened.length > 0) logger.warn({ dataDir: config.dataDir, count: tightened.length, paths: tightened.slice(0, 5) }, 'data directory was open to other users: tightened to 0700 (folders) and 0600 (files)');
  const db = openDatabase(join(config.dataDir, 'gridhead.db'), { durability: config.storage.durability });
  closers.add('store', () => { db.close(); });

  const registry = await Registry.open(new SqliteRegistryStore(db), {
    registerMapExists: (n) => Object.hasOwn(config.modbus.registerMaps, n),
    profileExists: (n) => Object.hasOwn(config.collect.profiles, n),
  });
  await registry.seed(config.registry);

  // DLMS keys sealed under the master key; a wrong master key stops the start here.
  const masterKey = loadMasterKey({
    env, dataDir: config.dataDir, simulatorsEnabled: config.simulators.enabled,
    warn: (message, file) => { logger.warn({ file }, message); },
  });
  const counters = new SqliteCounterStore(db);
  closers.add('security counters', () => counters.flush());
  const keys = new SqliteKeyStore(db, masterKey, { onChange: (c) => counters.discard(c.scope, c.generation) });
  const audit = new SqliteAuditLog(db);
  await moveEndpointPasswords({ registry, keys, audit, warn });
  // Access control: no default password; at first start the first admin token comes from
  // GRIDHEAD_BOOTSTRAP_TOKEN or is generated, logged once and written to <dataDir>/bootstrap-token.
  const auth = new AuthService(new SqliteAuthStore(db), { ...config.auth, logger: logger.child({ component: 'auth' }) });
  closers.add('auth', async () => {
    const abandoned = await auth.close();
    if (abandoned > 0) logger.warn({ abandoned }, 'last-used times of tokens and sessions not written before shutdown');
  });
  const bootstrap = await bootstrapAdmin({ auth, env, dataDir: config.dataDir, warn });
  if (bootstrap.kind !== 'admin-exists') {
    await audit.append({ actor: SYSTEM_ACTOR, source: null, action: 'token.create', target: `token:${bootstrap.token.id}`, outcome: 'ok', detail: { name: bootstrap.token.name, role: 'admin', reason: `bootstrap ${bootstrap.kind}` } });
  }
  const securityEvents = new SecurityEventLog(new SqliteSecurityEventStore(db), { logger: logger.child({ component: 'dlms-security' }) });
  closers.add('security events', () => securityEvents.flush());
  const security = new HeadEndSecurity({
    topology: registry, keys, counters, events: securityEvents, systemTitle: parseSystemTitle(config.dlms.systemTitle),
  });
  registry.onChange(() => { security.invalidate(); });
  const readings = new ReadingStore(db, (id: MeterId) => registry.meterKey(id));
  return { db, registry, readings, keys, audit, auth, securityEvents, security };
}
