/**
 * Hot standby with real processes: two station processes in active-standby mode on one
 * PostgreSQL and Debian's mosquitto, MQTT terminals publishing QoS 1 telemetry throughout.
 * The standby takes no telemetry and holds no subscription while the active lives; when the
 * active is killed with SIGKILL mid-stream, the standby takes the leader lease within the
 * 10 s bound, connects with the station's one persistent client id, receives what the broker
 * queued and what the dead node left unacknowledged, and in the end PostgreSQL holds every
 * reading the broker acknowledged to the terminals, each once, with its value.
 *
 * The failover time (kill → the new active's first stored reading) is printed; the
 * benchmark tests/bench/failover.bench.ts measures it over several kills.
 *
 * Skipped, with the reason printed, without PostgreSQL or mosquitto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/headend.js';
import { mosquittoPath } from '../helpers/mosquitto.js';
import { postgresUnavailable } from '../helpers/postgres.js';
import { ClusterBackends, READINGS_PER_MESSAGE, StationNode, TelemetryPublishers, checkStored, type StandbySettings } from '../helpers/standbyNodes.js';

const unavailable = postgresUnavailable() ?? (mosquittoPath() === null ? 'mosquitto is not installed (apt-get install mosquitto)' : undefined);
if (unavailable !== undefined) console.warn(`skipping the hot standby test: ${unavailable}`);

const TERMINALS = 10;
const MESSAGES_PER_TERMINAL = 2_000;
const TOTAL_READINGS = TERMINALS * MESSAGES_PER_TERMINAL * READINGS_PER_MESSAGE;
/** The takeover bound a utility asks for. */
const TAKEOVER_MS = 10_000;

describe.skipIf(unavailable !== undefined)('hot standby: two station processes, one PostgreSQL, mosquitto', () => {
  let backends: ClusterBackends;
  let settings: StandbySettings;

  beforeAll(async () => {
    backends = await ClusterBackends.start();
    settings = { brokerUrl: backends.broker.url, databaseUrl: backends.databaseUrl, terminals: TERMINALS, leaseMs: 2_000, heartbeatMs: 500 };
  }, 60_000);
  afterAll(async () => {
    await backends.close();
  });

  it('takes over within the bound after a SIGKILL of the active and stores every acknowledged reading once', async () => {
    const a = await StationNode.start('node-a', settings);
    backends.nodes.push(a);
    await eventually(async () => ((await a.health()).node.duties === 'active' ? true : undefined), TAKEOVER_MS, 'node-a to be active');
    const b = await StationNode.start('node-b', settings);
    backends.nodes.push(b);
    await eventually(async () => ((await b.health()).components.cluster?.info?.liveMembers === 2 ? true : undefined), TAKEOVER_MS, 'two live members');

    const publishers = await TelemetryPublishers.start(backends.broker.url, TERMINALS, { limit: MESSAGES_PER_TERMINAL, inflight: 10 });
    backends.publishers = publishers;
    await eventually(() => Promise.resolve((a.stats?.delivered ?? 0) >= TOTAL_READINGS * 0.25 ? true : undefined), 60_000, 'node-a to store a quarter of the stream');

    // The standby is warm and idle: no subscription (the broker would give it messages), nothing taken.
    const standby = await b.health();
    expect(standby.node).toMatchObject({ id: 'node-b', leader: false, duties: 'standby' });
    expect(standby.components.mqtt?.detail).toMatch(/standby/);
    expect(standby.components.cluster?.info).toMatchObject({ leaseHolder: 'node-a', duties: 'standby', dutiesFollowLeadership: true });
    expect(b.stats?.accepted).toBe(0);

    const killedAt = Date.now();
    backends.nodes.splice(backends.nodes.indexOf(a), 1);
    await a.kill();
    const leading = await eventually(async () => {
      const h = await b.health();
      return h.node.leader && h.node.duties === 'active' ? h : undefined;
    }, TAKEOVER_MS, 'node-b to take over');
    expect(leading.node.id).toBe('node-b');
    await eventually(() => Promise.resolve(b.firstDeliveredAt), TAKEOVER_MS, 'node-b to store its first reading');
    console.log(`failover: SIGKILL of the active → first reading stored by the new active = ${String((b.firstDeliveredAt ?? 0) - killedAt)} ms (lease ${String(settings.leaseMs)} ms)`);

    await publishers.done;
    expect(publishers.readings()).toBe(TOTAL_READINGS);

    const check = await checkStored(settings.databaseUrl, publishers);
    expect(check.missing).toEqual([]);
    expect(check.wrong).toEqual([]);
    expect(check.rows).toBe(check.expected);
  }, 180_000);
});
