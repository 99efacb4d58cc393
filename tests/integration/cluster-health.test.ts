/**
 * /health names the node that answers: `node` { id, roles, leader, shards }. One node alone
 * (embedded store) is the leader; two active-standby nodes on one PostgreSQL agree on one
 * leader, both report the cluster component (live members, lease holder, token), and when the
 * leader stops the other takes the lease with the next token. Two sharded nodes list the
 * transformer areas each owns, summarised as the first 20 and a count.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/aedes.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the active-standby /health tests: ${unavailable}`);

const QUIET = { mqtt: { embeddedBroker: { enabled: true, port: 0 } }, simulators: { enabled: false }, opcua: { enabled: false } };
const ALL_ROLES = ['api', 'collect', 'rules', 'control', 'opcua'];

interface Component { status: string; detail?: string; info?: Record<string, unknown> }
interface Health { status: string; node: { id: string; roles: string[]; leader: boolean; duties: string; leaderDuties: string; shards: string[]; shardCount?: number }; components: Record<string, Component> }

const health = async (h: TestHeadEnd): Promise<Health> => {
  const res = await fetch(`${h.url}/health`);
  expect(res.status).toBe(200);
  return await res.json() as Health;
};

describe('/health node object, one node on the embedded store', () => {
  it('reports the host as the node, every role, leading, no shards, and no cluster component', async () => {
    const h = await startTestHeadEnd(QUIET, { env: { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') } });
    try {
      const body = await health(h);
      expect(body.node).toEqual({ id: hostname(), roles: ALL_ROLES, leader: true, duties: 'active', leaderDuties: 'active', shards: [] });
      expect(body.components.cluster).toBeUndefined();
    } finally {
      await h.stop();
    }
  });
});

describe.skipIf(unavailable !== undefined)('/health node object, two active-standby nodes on PostgreSQL', () => {
  let cluster: TestPostgres;
  let url: string;
  const masterKey = randomBytes(32).toString('hex');
  let a: TestHeadEnd | undefined;
  let b: TestHeadEnd | undefined;
  const node = (id: string, roles = ALL_ROLES): Promise<TestHeadEnd> => startTestHeadEnd(
    { ...QUIET, cluster: { mode: 'active-standby', nodeId: id, roles, heartbeatMs: 300, leaseMs: 3_000 } },
    { env: { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: masterKey } },
  );

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await cluster.dispose();
  });

  it('names one leader, lists both members live with their API URLs, and hands over when the leader stops', async () => {
    const first = await node('node-a');
    a = first;
    await eventually(async () => ((await health(first)).node.leader ? true : undefined), 10_000, 'node-a leads');
    b = await node('node-b', ['api', 'collect']);
    const second = b;
    const bHealth = await eventually(async () => {
      const body = await health(second);
      return body.components.cluster?.info?.liveMembers === 2 ? body : undefined;
    }, 10_000, 'two live members');
    expect(bHealth.node).toEqual({ id: 'node-b', roles: ['api', 'collect'], leader: false, duties: 'standby', leaderDuties: 'standby', shards: [] });
    expect(bHealth.components.cluster).toMatchObject({
      status: 'ok',
      info: { mode: 'active-standby', liveMembers: 2, leaseHolder: 'node-a', leaseToken: 1, leader: false, duties: 'standby', dutiesFollowLeadership: true, leaderDuties: 'standby' },
    });
    expect(bHealth.components.cluster?.detail).toMatch(/this node is standby/);
    expect((await health(first)).node).toEqual({ id: 'node-a', roles: ALL_ROLES, leader: true, duties: 'active', leaderDuties: 'active', shards: [] });
    expect(await queryPostgres(url, 'SELECT id, api_url FROM cluster_nodes ORDER BY id')).toEqual([{ id: 'node-a', api_url: first.url }, { id: 'node-b', api_url: second.url }]);

    a = undefined;
    await first.stop();
    const after = await eventually(async () => {
      const body = await health(second);
      // The component is computed at most once a second: wait for it to catch up too.
      return body.node.leader && body.node.duties === 'active' && body.components.cluster?.info?.leaseHolder === 'node-b' ? body : undefined;
    }, 10_000, 'node-b takes over');
    expect(after.components.cluster?.info).toMatchObject({ liveMembers: 1, leaseHolder: 'node-b', leaseToken: 2, leader: true, duties: 'active' });
  }, 60_000);

  it('refuses to start a cluster mode on the embedded store, naming the keys', async () => {
    await expect(startTestHeadEnd({ ...QUIET, cluster: { mode: 'active-standby', nodeId: 'x' } }, { env: { GRIDHEAD_DATABASE_URL: '' } }))
      .rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/cluster\.mode/) as unknown });
  });
});

// Sharded nodes share the telemetry through MQTT shared subscriptions, which the embedded broker lacks.
const shardedUnavailable = unavailable ?? (mosquittoPath() === null ? 'mosquitto is not installed (apt-get install mosquitto)' : undefined);
if (shardedUnavailable !== undefined) console.warn(`skipping the sharded /health test: ${shardedUnavailable}`);

describe.skipIf(shardedUnavailable !== undefined)('/health node object, two sharded nodes on PostgreSQL', () => {
  let cluster: TestPostgres;
  let broker: TestBroker;
  const stations: TestHeadEnd[] = [];
  const masterKey = randomBytes(32).toString('hex');

  beforeAll(async () => {
    cluster = await startPostgres();
    broker = await startMosquitto();
  }, 60_000);
  afterAll(async () => {
    for (const s of stations.splice(0).reverse()) await s.stop();
    await broker.close();
    await cluster.dispose();
  });

  it('lists the transformer areas each node owns, the first 20 and a count, together all of them once', async () => {
    const url = await cluster.createDatabase();
    const node = async (id: string): Promise<TestHeadEnd> => {
      const h = await startTestHeadEnd(
        { ...QUIET, mqtt: { url: broker.url, embeddedBroker: { enabled: false } }, cluster: { mode: 'sharded', nodeId: id, roles: ALL_ROLES, heartbeatMs: 300, leaseMs: 3_000 } },
        { env: { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: masterKey } },
      );
      stations.push(h);
      return h;
    };
    const a = await node('node-a');
    await a.registry.createArea({ id: 'feeder-1', name: 'Feeder 1', kind: 'feeder' });
    const areas = Array.from({ length: 60 }, (_, i) => `TA-${String(i).padStart(2, '0')}`);
    for (const id of areas) await a.registry.createArea({ id, name: id, kind: 'transformer', parentId: 'feeder-1' });
    // Alone, node-a owns every transformer area (and never the feeder).
    const alone = await eventually(async () => {
      const body = await health(a);
      return body.node.shardCount === areas.length ? body : undefined;
    }, 10_000, 'node-a owns the 60 areas');
    expect(alone.node.shards).toEqual(areas.slice(0, 20));
    // A second node reads the areas from the shared store and takes its share.
    const b = await node('node-b');
    const both = await eventually(async () => {
      const [ha, hb] = [await health(a), await health(b)];
      const sum = (ha.node.shardCount ?? 0) + (hb.node.shardCount ?? 0);
      return sum === areas.length && (hb.node.shardCount ?? 0) > 0 && (ha.node.shardCount ?? 0) > 0 ? [ha.node, hb.node] : undefined;
    }, 15_000, 'the areas shared between the two nodes');
    for (const n of both) {
      expect(n.shards).toEqual([...n.shards].sort());
      expect(n.shards.length).toBe(Math.min(20, n.shardCount ?? 0));
    }
    expect(new Set([...(both[0]?.shards ?? []), ...(both[1]?.shards ?? [])]).size).toBe((both[0]?.shards.length ?? 0) + (both[1]?.shards.length ?? 0));
  });
});
