/**
 * The node's identity and the cluster settings: defaults, environment overrides, and the
 * start-up errors of a cluster mode on the embedded store or without a node id.
 */
import { describe, expect, it } from 'vitest';
import { nodeIdentity, requireClusterBroker } from '../../../src/cluster/settings.js';
import { ConfigError, buildConfig } from '../../../src/config/load.js';

const cluster = (raw: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) => buildConfig({ cluster: raw }, 'test', env).cluster;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('cluster settings', () => {
  it('defaults to one node doing everything, named after its host, whose lease allows a takeover within 10 s', () => {
    const c = cluster();
    expect(c).toMatchObject({ mode: 'single', roles: ['api', 'collect', 'rules', 'control', 'opcua'], heartbeatMs: 1_000, leaseMs: 5_000 });
    expect(nodeIdentity(c, 'embedded', 'station-1')).toMatchObject({ id: 'station-1', mode: 'single' });
    // A dead leader's lease expires after leaseMs; the standby tries every leaseMs / 3.
    expect(c.leaseMs + c.leaseMs / 3).toBeLessThan(10_000);
  });

  it('takes the node id and the mode from GRIDHEAD_NODE_ID and GRIDHEAD_CLUSTER_MODE', () => {
    const c = cluster({ roles: ['api', 'collect'] }, { GRIDHEAD_NODE_ID: 'node-b', GRIDHEAD_CLUSTER_MODE: 'active-standby' });
    expect(nodeIdentity(c, 'postgres', 'host')).toEqual({ id: 'node-b', mode: 'active-standby', roles: ['api', 'collect'], heartbeatMs: 1_000, leaseMs: 5_000, advertiseUrl: undefined });
  });

  it('refuses a mode, a role or bounds it does not know, naming the key', () => {
    expect(configError(() => cluster({}, { GRIDHEAD_CLUSTER_MODE: 'multi-master' })).issues.map((i) => i.path)).toContain('cluster.mode');
    expect(configError(() => cluster({ roles: ['api', 'billing'] })).issues.map((i) => i.path)).toContain('cluster.roles[1]');
    expect(configError(() => cluster({ leaseMs: 100 })).issues.map((i) => i.path)).toContain('cluster.leaseMs');
    expect(configError(() => cluster({ heartbeatMs: 3_000, leaseMs: 5_000 })).issues).toEqual([{ path: 'cluster.heartbeatMs', message: 'must be at most half of cluster.leaseMs (5000)' }]);
  });

  it('stops the start of a cluster mode on the embedded store or without a node id, naming both keys', () => {
    const err = configError(() => nodeIdentity(cluster({ mode: 'sharded' }), 'embedded', 'host'));
    expect(err.issues.map((i) => i.path)).toEqual(['cluster.mode', 'cluster.nodeId']);
    expect(err.message).toMatch(/GRIDHEAD_DATABASE_URL/);
    expect(err.message).toMatch(/GRIDHEAD_NODE_ID/);
    expect(configError(() => nodeIdentity(cluster({ mode: 'active-standby' }), 'postgres', 'host')).issues.map((i) => i.path)).toEqual(['cluster.nodeId']);
  });

  it('asks for a node id when the host name is not a valid one', () => {
    expect(configError(() => nodeIdentity(cluster(), 'embedded', 'bad host name')).issues.map((i) => i.path)).toEqual(['cluster.nodeId']);
  });

  it('stops a sharded start on the embedded broker, which has no shared subscriptions, naming both keys; the other modes keep it', () => {
    const err = configError(() => { requireClusterBroker({ mode: 'sharded' }, true); });
    expect(err.issues.map((i) => i.path)).toEqual(['mqtt.embeddedBroker.enabled']);
    expect(err.message).toMatch(/cluster\.mode/);
    expect(() => { requireClusterBroker({ mode: 'sharded' }, false); }).not.toThrow();
    expect(() => { requireClusterBroker({ mode: 'active-standby' }, true); }).not.toThrow();
    expect(() => { requireClusterBroker({ mode: 'single' }, true); }).not.toThrow();
  });
});
