/**
 * Who this node is: its id, mode and roles, resolved from `cluster` and the storage driver
 * once at start. A mode with several nodes needs the shared PostgreSQL store and an id that
 * survives restarts; anything else stops the start with a `ConfigError` naming the keys.
 */
import { hostname } from 'node:os';
import { Id } from '../../protocols/config.js';
import { Value } from 'typebox/value';
import { ConfigError, type ConfigIssue } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';

export type ClusterMode = ClusterConfig['mode'];
export type NodeRole = ClusterConfig['roles'][number];

export const NODE_ID_ENV = 'GRIDHEAD_NODE_ID';
export const CLUSTER_MODE_ENV = 'GRIDHEAD_CLUSTER_MODE';

/** This node, as it registers and reports itself. */
export interface NodeIdentity {
  readonly id: string;
  readonly mode: ClusterMode;
  readonly roles: readonly NodeRole[];
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  readonly advertiseUrl: string | undefined;
}

/**
 * The node's identity. The id defaults to the host name in `single` mode only: a host name
 * is stable across restarts, whereas host name + pid would make every restart a new member.
 * With several nodes it must be given, because two nodes on one machine share a host name.
 */
export function nodeIdentity(cluster: ClusterConfig, driver: 'embedded' | 'postgres', host: string = hostname()): NodeIdentity {
  const issues: ConfigIssue[] = [];
  if (cluster.mode !== 'single' && driver !== 'postgres') {
    issues.push({
      path: 'cluster.mode',
      message: `is ${cluster.mode} (${CLUSTER_MODE_ENV}), which needs the shared PostgreSQL store, but storage.driver is embedded: set GRIDHEAD_DATABASE_URL (or storage.driver: postgres with storage.postgres.url), or use mode single`,
    });
  }
  if (cluster.mode !== 'single' && cluster.nodeId === undefined) {
    issues.push({ path: 'cluster.nodeId', message: `is required in mode ${cluster.mode}: set ${NODE_ID_ENV} to a name that stays the same across restarts and differs between nodes` });
  }
  const id = cluster.nodeId ?? host;
  if (cluster.nodeId === undefined && cluster.mode === 'single' && !Value.Check(Id, host)) {
    issues.push({ path: 'cluster.nodeId', message: `is not set and the host name ${JSON.stringify(host)} is not a valid id (letters, digits, _ . : -, at most 64): set ${NODE_ID_ENV}` });
  }
  if (issues.length > 0) throw new ConfigError(`the cluster settings (cluster.*, ${NODE_ID_ENV}, ${CLUSTER_MODE_ENV})`, issues);
  return { id, mode: cluster.mode, roles: cluster.roles, heartbeatMs: cluster.heartbeatMs, leaseMs: cluster.leaseMs, advertiseUrl: cluster.advertiseUrl };
}

/**
 * `sharded` nodes share the telemetry through an MQTT shared subscription, which the embedded
 * aedes broker does not offer (it would hand every message to every node, and each node's
 * persistent session would store and acknowledge them all): the mode needs an external broker
 * that does (Mosquitto 2, EMQX). Throws a `ConfigError` naming both keys otherwise.
 */
export function requireClusterBroker(identity: Pick<NodeIdentity, 'mode'>, embeddedBroker: boolean): void {
  if (identity.mode !== 'sharded' || !embeddedBroker) return;
  throw new ConfigError(`the cluster settings (cluster.mode, mqtt.embeddedBroker.enabled)`, [{
    path: 'mqtt.embeddedBroker.enabled',
    message: `is true, but cluster.mode sharded (${CLUSTER_MODE_ENV}) shares the telemetry through MQTT shared subscriptions ($share/...), which the embedded broker does not support: set mqtt.embeddedBroker.enabled to false and mqtt.url (GRIDHEAD_MQTT_URL) to an external broker such as Mosquitto 2, or use mode active-standby`,
  }]);
}
