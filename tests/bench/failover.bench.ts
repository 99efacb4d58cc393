/**
 * Hot standby failover over ten kills: two station processes in active-standby mode with
 * the default cluster timings (leaseMs 5,000, heartbeat 1,000 ms) on one PostgreSQL and
 * Debian's mosquitto, MQTT terminals publishing QoS 1 telemetry throughout. Each round kills
 * the active with SIGKILL, measures, and starts the dead node again as the new standby.
 *
 * Printed (min / median / max): kill → the standby's /health says leader (polled every
 * 100 ms), and kill → the new active's first stored reading (its pipeline's first delivery,
 * reported every 50 ms); then the readings acknowledged by the broker and not stored, and
 * those stored other than once (both must be 0).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/aedes.js';
import { eventually } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { BROKER_CONFIG, StationNode, TelemetryPublishers, checkStored, type StandbySettings } from '../helpers/standbyNodes.js';
import { percentile } from './stats.js';

const KILLS = 10;
const TERMINALS = 5;
/** Per terminal: one message awaiting PUBACK, then a pause; about 100 messages/s in all. */
const PAUSE_MS = 50;

const unavailable = postgresUnavailable() ?? (mosquittoPath() === null ? 'mosquitto is not installed (apt-get install mosquitto)' : undefined);
if (unavailable !== undefined) console.warn(`skipping the failover benchmark: ${unavailable}`);

let postgres: TestPostgres | undefined;
let broker: TestBroker | undefined;
let publishers: TelemetryPublishers | undefined;
const nodes = new Set<StationNode>();

beforeAll(async () => {
  if (unavailable !== undefined) return;
  postgres = await startPostgres();
  broker = await startMosquitto({ extraConfig: BROKER_CONFIG });
  process.env.GRIDHEAD_MASTER_KEY = randomBytes(32).toString('hex');
}, 60_000);
afterAll(async () => {
  await publishers?.stop();
  for (const n of nodes) await n.dispose();
  await broker?.close();
  await postgres?.dispose();
});

it.skipIf(unavailable !== undefined)('failover over ten SIGKILLs of the active node', async () => {
  if (postgres === undefined || broker === undefined) return;
  const settings: StandbySettings = { brokerUrl: broker.url, databaseUrl: await postgres.createDatabase(), terminals: TERMINALS };
  const start = async (id: string): Promise<StationNode> => {
    const n = await StationNode.start(id, settings);
    nodes.add(n);
    return n;
  };
  let active = await start('node-a');
  await eventually(async () => ((await active.health()).node.duties === 'active' ? true : undefined), 30_000, 'node-a to be active');
  let standby = await start('node-b');
  publishers = await TelemetryPublishers.start(broker.url, TERMINALS, { limit: 6_000, inflight: 1, pauseMs: PAUSE_MS });

  const leaderMs: number[] = [];
  const storedMs: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const next = standby;
    await eventually(async () => ((await next.health()).components.cluster?.info?.liveMembers === 2 ? true : undefined), 30_000, 'two live members');
    const victim = active;
    const before = victim.stats?.delivered ?? 0;
    await eventually(() => Promise.resolve((victim.stats?.delivered ?? 0) > before ? true : undefined), 30_000, 'the active to store');
    const killedAt = Date.now();
    nodes.delete(victim);
    await victim.kill();
    await eventually(async () => ((await next.health()).node.leader ? true : undefined), 30_000, 'the standby to lead');
    leaderMs.push(Date.now() - killedAt);
    const firstStored = await eventually(() => Promise.resolve(next.firstDeliveredAt), 30_000, 'the new active to store');
    storedMs.push(firstStored - killedAt);
    active = next;
    standby = await start(victim.id);
  }
  await publishers.stop();
  const check = await checkStored(settings.databaseUrl, publishers);

  const summary = (values: readonly number[]) => `${String(Math.min(...values))} / ${String(percentile(values, 0.5))} / ${String(Math.max(...values))} ms`;
  console.log(`bench: failover kill → standby leads (min/median/max, ${String(KILLS)} kills, leaseMs 5000) = ${summary(leaderMs)}`);
  console.log(`bench: failover kill → first reading stored by the new active (min/median/max, ${String(KILLS)} kills) = ${summary(storedMs)}`);
  console.log(`bench: failover acknowledged readings not stored = ${String(check.missingCount)} readings (of ${String(check.expected)})`);
  console.log(`bench: failover readings stored other than once or with another value = ${String(check.wrongCount)} readings`);
  expect(check.missing).toEqual([]);
}, 900_000);
