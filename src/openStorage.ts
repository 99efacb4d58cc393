/**
 * The station's own state, built on its stores (src/stores.ts) first: the topology, DLMS
 * keys and invocation counters, the audit log, users and the first admin, and the DLMS
 * security every association and push is checked against.
 */
import { bootstrapAdmin } from './auth/bootstrap.js';
import { AuthService } from './auth/service.js';
import type { GridheadConfig } from './config/schema.js';
import { SYSTEM_ACTOR, type AuditLog } from './control/audit.js';
import type { Closers } from './observe/closers.js';
import type { Logger } from './observe/logger.js';
import type { Registry } from './registry/registry.js';
import { moveEndpointPasswords } from './security/endpointPasswords.js';
import { HeadEndSecurity, parseSystemTitle } from './security/headEndSecurity.js';
import type { KeyStore } from './security/keyStore.js';
import { SecurityEventLog } from './security/securityEvents.js';
import type { AsyncReadingStore } from './storage/readingStore.js';
import type { StationStores } from './stores.js';

export interface StationStorage {
  readonly registry: Registry;
  readonly readings: AsyncReadingStore;
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
  stores: Pick<StationStores, 'readings' | 'keys' | 'counters' | 'audit' | 'securityEvents' | 'registry' | 'auth'>,
): Promise<StationStorage> {
  const warn = (fields: Record<string, unknown>, message: string) => { logger.warn(fields, message); };
  const { registry, keys, audit, counters } = stores;
  await registry.seed(config.registry);
  await moveEndpointPasswords({ registry, keys, audit, warn });
  // Access control: no default password; at first start the first admin token comes from
  // GRIDHEAD_BOOTSTRAP_TOKEN or is generated, logged once and written to <dataDir>/bootstrap-token.
  const auth = new AuthService(stores.auth, { ...config.auth, logger: logger.child({ component: 'auth' }) });
  closers.add('auth', async () => {
    const abandoned = await auth.close();
    if (abandoned > 0) logger.warn({ abandoned }, 'last-used times of tokens and sessions not written before shutdown');
  });
  const bootstrap = await bootstrapAdmin({ auth, env, dataDir: config.dataDir, warn });
  if (bootstrap.kind !== 'admin-exists') {
    await audit.append({ actor: SYSTEM_ACTOR, source: null, action: 'token.create', target: `token:${bootstrap.token.id}`, outcome: 'ok', detail: { name: bootstrap.token.name, role: 'admin', reason: `bootstrap ${bootstrap.kind}` } });
  }
  const securityEvents = new SecurityEventLog(stores.securityEvents, { logger: logger.child({ component: 'dlms-security' }) });
  closers.add('security events', () => securityEvents.flush());
  const security = new HeadEndSecurity({
    topology: registry, keys, counters, events: securityEvents, systemTitle: parseSystemTitle(config.dlms.systemTitle),
  });
  // System titles live on terminal endpoints: a meter change leaves the index valid, and at a
  // million meters dropping it on every one would make the next push rebuild it over every terminal.
  registry.onChange((c) => { if (c.kind === 'terminal') security.invalidate(); });
  return { registry, readings: stores.readings, keys, audit, auth, securityEvents, security };
}
