/**
 * The README's "Two-node hot standby on one machine" runs nodes on config/cluster-node.yaml
 * and the fleet alone on config/cluster-sim.yaml, with only environment variables between
 * them. These tests keep that recipe true: the files load, the variables reach the keys, the
 * nodes' registry is exactly what the fleet serves and publishes, and the recipe's ports and
 * variables are the ones the files and the loader know.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../../simulators/fleet.js';
import { BOOTSTRAP_ENV } from '../../../src/auth/bootstrap.js';
import { nodeIdentity } from '../../../src/cluster/settings.js';
import { ConfigError, ENV_OVERRIDES, loadConfigFile } from '../../../src/config/load.js';
import { MASTER_KEY_ENV } from '../../../src/security/masterKey.js';
import { storageDriverOf } from '../../../src/stores.js';

const NODE_FILE = 'config/cluster-node.yaml';
const SIM_FILE = 'config/cluster-sim.yaml';
const DATABASE_URL = 'postgres://gridhead:gridhead@127.0.0.1:25432/gridhead';

/** One node's environment, as the recipe sets it. */
const nodeEnv = (id: string, port: number): NodeJS.ProcessEnv => ({
  GRIDHEAD_DATABASE_URL: DATABASE_URL, GRIDHEAD_NODE_ID: id, GRIDHEAD_HTTP_PORT: String(port), GRIDHEAD_DATA_DIR: `/tmp/recipe/${id}`,
});

describe('the shipped cluster files', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });

  it('make a hot-standby node of each environment: its id, port and folder from the variables, PostgreSQL from the URL', () => {
    const env = nodeEnv('node-b', 28082);
    const config = loadConfigFile(NODE_FILE, env);
    expect(config.http.port).toBe(28082);
    expect(config.dataDir).toBe('/tmp/recipe/node-b');
    expect(config.storage.postgres.url).toBe(DATABASE_URL);
    expect(config.mqtt.embeddedBroker.enabled).toBe(false);
    expect(config.simulators.enabled).toBe(false);
    const identity = nodeIdentity(config.cluster, storageDriverOf(config.storage, env));
    expect(identity).toMatchObject({ id: 'node-b', mode: 'active-standby', leaseMs: 5_000, heartbeatMs: 1_000 });
  });

  it('make a sharded node when GRIDHEAD_CLUSTER_MODE says so', () => {
    const env = { ...nodeEnv('node-c', 28083), GRIDHEAD_CLUSTER_MODE: 'sharded' };
    const config = loadConfigFile(NODE_FILE, env);
    expect(nodeIdentity(config.cluster, storageDriverOf(config.storage, env))).toMatchObject({ id: 'node-c', mode: 'sharded' });
  });

  it('refuse to start a node without GRIDHEAD_NODE_ID, naming the variable', () => {
    const env = { GRIDHEAD_DATABASE_URL: DATABASE_URL };
    const config = loadConfigFile(NODE_FILE, env);
    let error: unknown;
    try {
      nodeIdentity(config.cluster, storageDriverOf(config.storage, env));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([expect.stringMatching(/^cluster\.nodeId: .*GRIDHEAD_NODE_ID/)]);
  });

  it('give the nodes exactly the registry the simulated fleet serves: its terminals on its ports, its meters in their areas', async () => {
    const node = loadConfigFile(NODE_FILE, nodeEnv('node-a', 28081));
    const sim = loadConfigFile(SIM_FILE, {});
    expect(sim.simulators.enabled).toBe(true);
    expect(sim.mqtt.url).toBe(node.mqtt.url);
    expect(sim.mqtt.topicPrefix).toBe(node.mqtt.topicPrefix);
    expect(sim.modbus.registerMaps).toEqual(node.modbus.registerMaps);
    // Any free ports here, so a recipe running on this machine does not fail the test; the
    // file's terminal i listens on basePort + i - 1.
    const { basePort } = sim.simulators.modbus;
    fleet = await startFleet({ ...sim.simulators, modbus: { ...sim.simulators.modbus, basePort: 0 } }, { mqttUrl: sim.mqtt.url, topicPrefix: sim.mqtt.topicPrefix });
    const served = fleet.seed.terminals.map((t) => ({ id: t.id, protocol: t.protocol, host: t.modbus?.host, registerMap: t.modbus?.registerMap }));
    expect(node.registry.terminals.map((t) => ({ id: t.id, protocol: t.protocol, host: t.modbus?.host, registerMap: t.modbus?.registerMap }))).toEqual(served);
    const modbusPorts = node.registry.terminals.filter((t) => t.protocol === 'modbus').map((t) => t.modbus?.port);
    expect(modbusPorts).toEqual(modbusPorts.map((_, i) => basePort + i));
    const meters = (ms: readonly { id: string; terminalId: string; address: string; areaId?: string | undefined }[]) => ms.map((m) => ({ id: m.id, terminalId: m.terminalId, address: m.address, areaId: m.areaId }));
    expect(meters(node.registry.meters)).toEqual(meters(fleet.seed.meters));
    const transformerAreas = new Set(node.registry.areas.filter((a) => a.kind === 'transformer').map((a) => a.id));
    expect(new Set(sim.simulators.areaIds)).toEqual(transformerAreas);
  });

  it('are what the README recipe runs: its broker port, its variables', () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('## Two-node hot standby on one machine');
    expect(start).toBeGreaterThanOrEqual(0);
    const recipe = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const node = loadConfigFile(NODE_FILE, nodeEnv('node-a', 28081));
    const brokerPort = new URL(node.mqtt.url).port;
    expect(recipe).toContain(`listener ${brokerPort} 127.0.0.1`);
    expect(recipe).toContain(`--config ${NODE_FILE}`);
    expect(recipe).toContain(`--config ${SIM_FILE}`);
    expect(recipe).toContain(new URL(DATABASE_URL).port);
    // Every variable the recipe sets is one the station reads.
    const read = new Set([...ENV_OVERRIDES.map((o) => o.env), MASTER_KEY_ENV, BOOTSTRAP_ENV]);
    const set = new Set([...recipe.matchAll(/\b(GRIDHEAD_[A-Z_]+)=/g)].map((m) => m[1]));
    expect([...set].filter((v) => v !== undefined && !read.has(v))).toEqual([]);
    expect(set).toContain('GRIDHEAD_NODE_ID');
    expect(set).toContain('GRIDHEAD_HTTP_PORT');
  });
});
