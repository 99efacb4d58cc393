/**
 * The broker the station talks through: the embedded aedes broker when enabled (its port
 * may be 0 = any, and its credentials are generated into the data directory), otherwise
 * the configured one; and the one connection description every station client uses.
 */
import { readFileSync } from 'node:fs';
import type { MqttConnection } from '../../protocols/mqtt/connection.js';
import type { GridheadConfig } from '../config/schema.js';
import type { Closers } from '../observe/closers.js';
import type { Logger } from '../observe/logger.js';
import { loadBrokerCredentials, type BrokerCredentials, type StationCredentials } from './credentials.js';
import { startEmbeddedBroker } from './embedded.js';

export interface StationBroker {
  readonly url: string;
  /** How every station client reaches the broker: one URL, login and TLS for all of them. */
  readonly connection: MqttConnection;
  /** The embedded broker's credentials; undefined with an external broker. */
  readonly credentials: BrokerCredentials | undefined;
  /** Lets the simulated fleet's terminals log in with their derived passwords. */
  admitSimulated(terminalIds: Iterable<string>): void;
}

export async function startBroker(
  { config: { mqtt: config, dataDir }, logger, closers }: { readonly config: GridheadConfig; readonly logger: Logger; readonly closers: Closers },
): Promise<StationBroker> {
  /** Terminal ids of the simulated fleet, known once it started. */
  const simulated = new Set<string>();
  const admitSimulated = (ids: Iterable<string>) => { for (const id of ids) simulated.add(id); };
  if (!config.embeddedBroker.enabled) {
    return { url: config.url, connection: stationConnection(config, config.url, undefined), credentials: undefined, admitSimulated };
  }
  const credentials = loadBrokerCredentials(dataDir);
  const broker = await startEmbeddedBroker({
    ...config.embeddedBroker,
    credentials,
    access: { topicPrefix: config.topicPrefix, stationClientId: config.clientId },
    isSimulated: (id) => simulated.has(id),
    logger: logger.child({ component: 'broker' }),
  });
  closers.add('broker', () => broker.close());
  logger.info({ url: broker.url, credentials: credentials.file }, 'embedded MQTT broker listening');
  return { url: broker.url, connection: stationConnection(config, broker.url, broker.station), credentials, admitSimulated };
}

/** The station clients' connection: the embedded broker's station login, or the configured one, and the configured TLS files. */
function stationConnection(config: GridheadConfig['mqtt'], url: string, embeddedLogin: StationCredentials | undefined): MqttConnection {
  const tls = config.tls;
  return {
    url,
    ...(embeddedLogin ?? {
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
    }),
    ...(tls === undefined ? {} : { tls: {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
      ...(tls.certFile === undefined ? {} : { cert: readFileSync(tls.certFile) }),
      ...(tls.keyFile === undefined ? {} : { key: readFileSync(tls.keyFile) }),
    } }),
  };
}
