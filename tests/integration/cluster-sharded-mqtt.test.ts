/**
 * The MQTT path in sharded mode with real processes: two station processes in `sharded`
 * mode on one PostgreSQL and Debian's mosquitto, MQTT terminals (one per transformer area)
 * publishing QoS 1 telemetry throughout. Each node has its own persistent session in one
 * shared subscription group, so the broker splits the stream between them; each stores what
 * it receives and publishes it on the cluster feed, and each applies the other's to its live
 * state. One node is killed with SIGKILL mid-stream: what it left unacknowledged, and its
 * share of what is published while it is dead (mosquitto goes on dealing an offline
 * persistent member its turn), wait in its session until the leader drains it or the node,
 * started again, takes it back; a node that stays down is drained. In the end PostgreSQL
 * holds every reading the broker acknowledged to the terminals, each once, and the live
 * overviews show every area's latest load. A feed message that does not decode is counted
 * and changes nothing.
 *
 * Skipped, with the reason printed, without PostgreSQL or mosquitto.
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { feedTopic } from '../../src/cluster/feed/codec.js';
import { TEST_ADMIN_TOKEN, eventually } from '../helpers/headend.js';
import { mosquittoPath } from '../helpers/mosquitto.js';
import { postgresUnavailable } from '../helpers/postgres.js';
import {
  ClusterBackends, READINGS_PER_MESSAGE, StationNode, TelemetryPublishers, areaOf, checkStored, telemetryValues, type StandbySettings,
} from '../helpers/standbyNodes.js';

const unavailable = postgresUnavailable() ?? (mosquittoPath() === null ? 'mosquitto is not installed (apt-get install mosquitto)' : undefined);
if (unavailable !== undefined) console.warn(`skipping the sharded MQTT test: ${unavailable}`);

const TERMINALS = 8;
const MESSAGES_PER_TERMINAL = 1_500;
const TOTAL_READINGS = TERMINALS * MESSAGES_PER_TERMINAL * READINGS_PER_MESSAGE;
const PREFIX = 'gridhead/v1';

interface OverviewJson { readonly areas: readonly { readonly id: string; readonly loadKw: number | null }[] }

/**
 * A sharded pair on fresh PostgreSQL and mosquitto, terminals publishing QoS 1 telemetry until
 * both nodes stored a tenth of it; then the first is killed with SIGKILL and the stream runs to
 * its end. Resolves with the survivor and the publishers; `backends.close()` ends the rest.
 */
async function killOneMidStream(backends: ClusterBackends, settings: StandbySettings, ids: readonly [string, string]): Promise<{ survivor: StationNode; publishers: TelemetryPublishers }> {
  const a = await StationNode.start(ids[0], settings);
  backends.nodes.push(a);
  const b = await StationNode.start(ids[1], settings);
  backends.nodes.push(b);
  await eventually(async () => ((await b.health()).components.cluster?.info?.liveMembers === 2 ? true : undefined), 10_000, 'two live members');
  const publishers = await TelemetryPublishers.start(backends.broker.url, TERMINALS, { limit: MESSAGES_PER_TERMINAL, inflight: 10 });
  backends.publishers = publishers;
  // Both take a share of the stream: one shared subscription group, two sessions.
  await eventually(() => Promise.resolve((a.stats?.delivered ?? 0) >= TOTAL_READINGS * 0.1 && (b.stats?.delivered ?? 0) >= TOTAL_READINGS * 0.1 ? true : undefined), 60_000, 'both nodes to store a tenth of the stream');
  backends.nodes.splice(backends.nodes.indexOf(a), 1);
  await a.kill();
  await publishers.done;
  expect(publishers.readings()).toBe(TOTAL_READINGS);
  return { survivor: b, publishers };
}

async function expectStoredOnce(settings: StandbySettings, publishers: TelemetryPublishers): Promise<void> {
  const check = await checkStored(settings.databaseUrl, publishers);
  expect(check.missing).toEqual([]);
  expect(check.wrong).toEqual([]);
  expect(check.rows).toBe(check.expected);
}

/** Every area's load is its one meter's last power.active. */
const EXPECTED_LOADS = Array.from({ length: TERMINALS }, (_, t) => ({ id: areaOf(t), loadKw: telemetryValues(t, MESSAGES_PER_TERMINAL - 1)['power.active'] ?? Number.NaN }));

async function expectEveryAreaLive(node: StationNode): Promise<void> {
  await eventually(async () => {
    const o = await getJson<OverviewJson>(node.url, '/api/v1/live/overview');
    return EXPECTED_LOADS.every((e) => Math.abs((o.areas.find((x) => x.id === e.id)?.loadKw ?? Number.NaN) - e.loadKw) < 1e-9) ? true : undefined;
  }, 30_000, `${node.id} to show every area's latest load`);
}

describe.skipIf(unavailable !== undefined)('sharded MQTT: two station processes, one PostgreSQL, mosquitto shared subscriptions', () => {
  let backends: ClusterBackends | undefined;
  let settings: StandbySettings;

  beforeEach(async () => {
    backends = await ClusterBackends.start();
    settings = {
      brokerUrl: backends.broker.url, databaseUrl: backends.databaseUrl, terminals: TERMINALS, leaseMs: 2_000, heartbeatMs: 500,
      mode: 'sharded', transformerAreas: true,
    };
    // One admin token for both nodes: they share the users.
    process.env.GRIDHEAD_BOOTSTRAP_TOKEN = TEST_ADMIN_TOKEN;
  }, 60_000);
  afterEach(async () => {
    await backends?.close();
  });

  it('stores every acknowledged reading once through a SIGKILL and a restart, and both nodes show every area live', async () => {
    const all = backends ?? expect.fail('no backends');
    const { survivor, publishers } = await killOneMidStream(all, settings, ['node-a', 'node-b']);
    // What the dead node had not acknowledged, and its share since, are drained by the leader or come back to it with its session.
    const restarted = await StationNode.start('node-a', settings);
    all.nodes.push(restarted);
    await expectStoredOnce(settings, publishers);
    for (const node of [restarted, survivor]) await expectEveryAreaLive(node);

    // A feed message from a broken or foreign peer is counted and ignored by both nodes.
    const peer = await mqtt.connectAsync(all.broker.url, { clientId: 'feed-vandal', clean: true, reconnectPeriod: 0 });
    await peer.publishAsync(feedTopic(PREFIX, areaOf(0)), Buffer.from('{"v":1,"node":"node-x","readings":[["standby-000-m1","standby-000","power.active",-1e9,1,"good","mqtt"]]}'), { qos: 1 });
    await peer.endAsync();
    for (const node of [restarted, survivor]) {
      await eventually(async () => (badFeedMessages(await getText(node.url, '/metrics')) === 1 ? true : undefined), 10_000, `${node.id} to count the bad feed message`);
      const o = await getJson<OverviewJson>(node.url, '/api/v1/live/overview');
      expect(o.areas.find((x) => x.id === areaOf(0))?.loadKw).toBeCloseTo(EXPECTED_LOADS[0]?.loadKw ?? Number.NaN, 9);
    }
  }, 240_000);

  it('has the leader drain the session of a node that stays down, so every acknowledged reading is stored once without it', async () => {
    const all = backends ?? expect.fail('no backends');
    const { survivor, publishers } = await killOneMidStream(all, settings, ['node-c', 'node-d']);
    await expectStoredOnce(settings, publishers);
    await expectEveryAreaLive(survivor);
  }, 240_000);
});

async function getJson<T>(base: string, path: string): Promise<T> {
  return JSON.parse(await getText(base, path)) as T;
}

async function getText(base: string, path: string): Promise<string> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.text();
}

function badFeedMessages(metrics: string): number | undefined {
  const m = /^gridhead_cluster_feed_messages_total\{outcome="bad"\} (\d+)$/m.exec(metrics);
  return m === null ? undefined : Number(m[1]);
}
