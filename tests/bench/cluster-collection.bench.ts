/**
 * Collection by a sharded cluster: 1, 2 and 3 station processes in `sharded` mode on one
 * PostgreSQL 15 and Debian's mosquitto, against a simulated fleet in a process of its own
 * (`gridhead sim`): Modbus terminals the nodes poll every second and MQTT terminals that
 * publish QoS 1 telemetry every second, their meters spread over transformer areas.
 *
 * Printed for each N: the readings stored per second in all (rows added to PostgreSQL's
 * `readings`), the readings each node delivered per second and its CPU per reading (the
 * child's own process.cpuUsage, so its share of the flat costs too: heartbeats and leases,
 * applying the other nodes' readings from the cluster feed, the harness's stats messages),
 * and the PostgreSQL server's CPU. A node polls only the Modbus terminals placed on it and
 * receives its share of the MQTT telemetry through the shared subscription, so each reading
 * is collected by one node: delivered / stored is 1.00 and each node delivers about 1/N.
 * Beside them, the ceiling: the same fleet collected by one node in single mode on the
 * embedded store.
 *
 * Then the coordination overhead with no fleet (the same areas, no terminals): database
 * statements per second per node, from each node's gridhead_database_statements_total on
 * /metrics, and its CPU, in sharded mode with 1, 2 and 3 nodes and in active-standby with 2,
 * beside one node in single mode on PostgreSQL, which pays no coordination.
 *
 * The nodes of a phase share `mqtt.clientId`, as a station's nodes share their configuration
 * file: a sharded node derives its own telemetry session from it (src/cluster/mqttClients.ts),
 * and each phase gets a fresh one, so no session carries over from the phase before.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SIMULATED_RATING } from '../../simulators/fleet.js';
import type { TestBroker } from '../helpers/aedes.js';
import { installCli, type CliInstall, type RunningCli } from '../helpers/cli.js';
import { eventually } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { StationNode } from '../helpers/standbyNodes.js';

const AREAS = Array.from({ length: 12 }, (_, i) => `TA-${String(i + 1).padStart(2, '0')}`);
const MODBUS_TERMINALS = 20;
const MQTT_TERMINALS = 20;
const METERS_PER_TERMINAL = 2;
/** Read from every Modbus meter each second (22 values of an MQTT meter come each second too). */
const POLLED = ['voltage.l1', 'voltage.l2', 'voltage.l3', 'current.l1', 'current.l2', 'current.l3', 'power.active', 'power.reactive', 'power.factor', 'energy.active.import'];
const MQTT_VALUES_PER_METER = 22;
const OFFERED = (MODBUS_TERMINALS * POLLED.length + MQTT_TERMINALS * MQTT_VALUES_PER_METER) * METERS_PER_TERMINAL;
/** After the last node started: the areas settle on their owners, the first cycles run. */
const WARMUP_MS = 10_000;
const WINDOW_MS = 20_000;
const IDLE_WINDOW_MS = 15_000;
const TOKEN = `ght_${randomBytes(32).toString('base64url').slice(0, 43)}`;

type Mode = 'single' | 'sharded' | 'active-standby';
interface Registry { areas: object[]; terminals: object[]; meters: object[] }

const unavailable = postgresUnavailable() ?? (mosquittoPath() === null ? 'mosquitto is not installed (apt-get install mosquitto)' : undefined);
if (unavailable !== undefined) console.warn(`skipping the cluster collection benchmark: ${unavailable}`);

let postgres: TestPostgres | undefined;
let broker: TestBroker | undefined;
let cli: CliInstall | undefined;
let fleet: RunningCli | undefined;
const workDir = mkdtempSync(join(tmpdir(), 'gridhead-cluster-bench-'));
const nodes = new Set<StationNode>();

beforeAll(async () => {
  if (unavailable !== undefined) return;
  postgres = await startPostgres();
  broker = await startMosquitto();
  cli = await installCli();
  process.env.GRIDHEAD_MASTER_KEY = randomBytes(32).toString('hex');
  process.env.GRIDHEAD_BOOTSTRAP_TOKEN = TOKEN;
}, 120_000);
afterAll(async () => {
  for (const n of nodes) await stopNode(n);
  await fleet?.stop();
  await cli?.dispose();
  await broker?.close();
  await postgres?.dispose();
  rmSync(workDir, { recursive: true, force: true });
});

it.skipIf(unavailable !== undefined)('collection and coordination cost of 1, 2 and 3 sharded nodes', async () => {
  if (postgres === undefined || broker === undefined || cli === undefined) return;
  const pg = postgres;
  const brokerUrl = broker.url;
  const registry = await startFleet(cli, brokerUrl);

  const ceiling = await collect('single', 1, registry, brokerUrl, undefined);
  const ceilingRate = ceiling.perNode[0]?.deliveredPerS ?? 0;
  const ceilingCpu = ceiling.perNode[0]?.cpuMicrosPerReading ?? 0;
  console.log(`bench: cluster-collection fleet offers = ${String(OFFERED)} readings/s (${String(MODBUS_TERMINALS)} Modbus terminals polled, ${String(MQTT_TERMINALS)} MQTT terminals publishing, ${String(METERS_PER_TERMINAL)} meters each, ${String(AREAS.length)} areas)`);
  console.log(`bench: cluster-collection single node, embedded store, readings stored = ${ceilingRate.toFixed(0)} readings/s`);
  console.log(`bench: cluster-collection single node, embedded store, CPU per reading = ${ceilingCpu.toFixed(1)} µs/reading`);

  for (const count of [1, 2, 3]) {
    const r = await collect('sharded', count, registry, brokerUrl, pg);
    const label = `sharded ${String(count)} node${count === 1 ? '' : 's'}`;
    const delivered = r.perNode.reduce((n, p) => n + p.deliveredPerS, 0);
    console.log(`bench: cluster-collection ${label} readings stored = ${r.storedPerS.toFixed(0)} readings/s (ceiling: ${ceilingRate.toFixed(0)} readings/s by one node on the embedded store; fleet offers ${String(OFFERED)})`);
    // Above 1.00: a reading delivered twice (a redelivery the idempotent store keeps once); below: stored and not counted by a node.
    console.log(`bench: cluster-collection ${label} readings delivered by all nodes / stored = ${(delivered / Math.max(r.storedPerS, 1)).toFixed(2)} (1.00 when each reading is collected by one node)`);
    for (const p of r.perNode) {
      console.log(`bench: cluster-collection ${label} ${p.id} readings delivered = ${p.deliveredPerS.toFixed(0)} readings/s`);
      console.log(`bench: cluster-collection ${label} ${p.id} CPU per reading = ${p.cpuMicrosPerReading.toFixed(1)} µs/reading (one node on the embedded store: ${ceilingCpu.toFixed(1)} µs/reading)`);
    }
    console.log(`bench: cluster-collection ${label} PostgreSQL server CPU = ${r.serverCpuPercent.toFixed(1)} % of a core`);
    expect(r.storedPerS).toBeGreaterThan(0);
  }

  await fleet?.stop();
  fleet = undefined;
  const idleRegistry: Registry = { areas: registry.areas, terminals: [], meters: [] };
  const baseline = await idle('single', 1, idleRegistry, brokerUrl, pg);
  const floor = baseline[0]?.statementsPerS ?? 0;
  const floorCpu = baseline[0]?.cpuPercent ?? 0;
  console.log(`bench: cluster-collection idle single node on PostgreSQL statements/s = ${floor.toFixed(2)} statements/s (${baseline[0]?.byCommand ?? ''})`);
  console.log(`bench: cluster-collection idle single node on PostgreSQL CPU = ${floorCpu.toFixed(2)} % of a core`);
  for (const [mode, count] of [['sharded', 1], ['sharded', 2], ['sharded', 3], ['active-standby', 2]] as const) {
    for (const p of await idle(mode, count, idleRegistry, brokerUrl, pg)) {
      const label = `${mode} ${String(count)} node${count === 1 ? '' : 's'}`;
      console.log(`bench: cluster-collection idle ${label} statements/s ${p.id}${p.role === undefined ? '' : ` (${p.role})`} = ${p.statementsPerS.toFixed(2)} statements/s (${p.byCommand}; single node on PostgreSQL: ${floor.toFixed(2)})`);
      console.log(`bench: cluster-collection idle ${label} CPU ${p.id} = ${p.cpuPercent.toFixed(2)} % of a core (single node on PostgreSQL: ${floorCpu.toFixed(2)} %)`);
    }
  }
}, 1_800_000);

interface NodeRates { readonly id: string; readonly deliveredPerS: number; readonly cpuMicrosPerReading: number }
interface Collection { readonly storedPerS: number; readonly perNode: readonly NodeRates[]; readonly serverCpuPercent: number }

/** Starts `count` nodes on a fresh database (or the embedded store), warms up, measures one window, stops them. */
async function collect(mode: Mode, count: number, registry: Registry, brokerUrl: string, pg: TestPostgres | undefined): Promise<Collection> {
  const databaseUrl = pg === undefined ? undefined : await pg.createDatabase();
  const started = await startNodes(mode, count, registry, brokerUrl, databaseUrl);
  try {
    await eventually(() => Promise.resolve(started.every((n) => (n.stats?.delivered ?? 0) > 0) ? true : undefined), 60_000, 'every node to store readings');
    await sleep(WARMUP_MS);
    const rows = async (): Promise<number> => databaseUrl === undefined ? 0 : (await queryPostgres<{ n: number }>(databaseUrl, 'SELECT count(*)::int AS n FROM readings'))[0]?.n ?? 0;
    const before = { at: Date.now(), rows: await rows(), server: pg?.serverCpuSeconds() ?? 0, nodes: started.map(sample) };
    await sleep(WINDOW_MS);
    const after = { at: Date.now(), rows: await rows(), server: pg?.serverCpuSeconds() ?? 0, nodes: started.map(sample) };
    const seconds = (after.at - before.at) / 1000;
    const perNode = started.map((n, i): NodeRates => {
      const delivered = (after.nodes[i]?.delivered ?? 0) - (before.nodes[i]?.delivered ?? 0);
      const cpu = (after.nodes[i]?.cpuMicros ?? 0) - (before.nodes[i]?.cpuMicros ?? 0);
      return { id: n.id, deliveredPerS: delivered / seconds, cpuMicrosPerReading: delivered === 0 ? Number.NaN : cpu / delivered };
    });
    const storedPerS = databaseUrl === undefined ? perNode.reduce((s, p) => s + p.deliveredPerS, 0) : (after.rows - before.rows) / seconds;
    return { storedPerS, perNode, serverCpuPercent: ((after.server - before.server) / seconds) * 100 };
  } finally {
    for (const n of started) await stopNode(n);
  }
}

/** A node with nothing to collect: its statements, and its CPU, the flat cost every node pays whatever its share. */
interface IdleNode { readonly id: string; readonly role: string | undefined; readonly statementsPerS: number; readonly byCommand: string; readonly cpuPercent: number }

/** Starts `count` nodes with no terminals on a fresh database, lets them settle, counts their statements over one window. */
async function idle(mode: Mode, count: number, registry: Registry, brokerUrl: string, pg: TestPostgres): Promise<IdleNode[]> {
  const started = await startNodes(mode, count, registry, brokerUrl, await pg.createDatabase());
  try {
    await sleep(WARMUP_MS);
    const before = await Promise.all(started.map(statements));
    const cpuBefore = started.map((n) => n.cpuMicros ?? 0);
    const at = Date.now();
    await sleep(IDLE_WINDOW_MS);
    const after = await Promise.all(started.map(statements));
    const cpuAfter = started.map((n) => n.cpuMicros ?? 0);
    const seconds = (Date.now() - at) / 1000;
    return await Promise.all(started.map(async (n, i) => {
      const byCommand = [...(after[i] ?? new Map<string, number>())]
        .map(([command, total]): [string, number] => [command, (total - (before[i]?.get(command) ?? 0)) / seconds])
        .filter(([, perS]) => perS > 0);
      return {
        id: n.id,
        role: mode === 'active-standby' ? (await n.health()).node.duties : undefined,
        statementsPerS: byCommand.reduce((sum, [, perS]) => sum + perS, 0),
        byCommand: byCommand.map(([command, perS]) => `${command} ${perS.toFixed(2)}`).join(', '),
        cpuPercent: (((cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0)) / 1e6 / seconds) * 100,
      };
    }));
  } finally {
    for (const n of started) await stopNode(n);
  }
}

async function startNodes(mode: Mode, count: number, registry: Registry, brokerUrl: string, databaseUrl: string | undefined): Promise<StationNode[]> {
  const phase = `${mode}-${String(count)}-${randomBytes(3).toString('hex')}`;
  const started: StationNode[] = [];
  try {
    // One at a time: the first migrates the fresh database.
    for (let i = 0; i < count; i++) started.push(await startNode(`node-${String.fromCharCode(97 + i)}`, phase, { mode, registry, brokerUrl, databaseUrl }));
  } catch (err) {
    for (const n of started) await stopNode(n);
    throw err;
  }
  return started;
}

/** `gridhead sim` with the fleet's configuration; resolves with the registry that describes it, read from its log. */
async function startFleet(install: CliInstall, brokerUrl: string): Promise<Registry> {
  const file = join(workDir, 'fleet.json');
  writeFileSync(file, JSON.stringify({
    log: { level: 'info' },
    mqtt: { url: brokerUrl, embeddedBroker: { enabled: false } },
    simulators: {
      seed: 11,
      modbus: { count: MODBUS_TERMINALS, metersPerTerminal: METERS_PER_TERMINAL, registerMap: 'three-phase-meter' },
      mqtt: { count: MQTT_TERMINALS, metersPerTerminal: METERS_PER_TERMINAL, publishIntervalMs: 1_000, url: brokerUrl },
    },
  }));
  const sim = install.start(['sim', '--config', file], { env: { GRIDHEAD_CONFIG: '' } });
  fleet = sim;
  const lines = await eventually(() => {
    const out = sim.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; terminal?: string; protocol?: string; port?: number });
    return Promise.resolve(out.filter((l) => l.msg === 'simulated terminal').length === MODBUS_TERMINALS + MQTT_TERMINALS ? out : undefined);
  }, 60_000, `gridhead sim to run its fleet (stderr: ${sim.stderr().slice(-500)})`);
  const registry: Registry = { areas: AREAS.map((id) => ({ id, name: id, kind: 'transformer', transformerKva: 400 })), terminals: [], meters: [] };
  lines.filter((l) => l.msg === 'simulated terminal').forEach((l, k) => {
    const id = l.terminal ?? '';
    registry.terminals.push(l.protocol === 'modbus'
      ? { id, protocol: 'modbus', profiles: ['bench'], modbus: { host: '127.0.0.1', port: l.port, framing: 'tcp', registerMap: 'three-phase-meter' } }
      : { id, protocol: 'mqtt', profiles: [] });
    // A terminal's meters share its transformer area, so the terminal has one owner. They carry
    // the simulated rating: under the default 100 A limit the heavier loads' readings are refused as implausible.
    for (let u = 1; u <= METERS_PER_TERMINAL; u++) registry.meters.push({ id: `${id}-${String(u)}`, terminalId: id, address: String(u), areaId: AREAS[k % AREAS.length], ...SIMULATED_RATING });
  });
  return registry;
}

interface NodeSettings { readonly mode: Mode; readonly registry: Registry; readonly brokerUrl: string; readonly databaseUrl: string | undefined }

/** One station process (tests/helpers/stationProcess.ts) of the phase: its own data directory, the phase's MQTT client id. */
async function startNode(id: string, phase: string, s: NodeSettings): Promise<StationNode> {
  const node = await StationNode.fork(id, {
    dataDir: mkdtempSync(join(workDir, `${id}-`)),
    http: { host: '127.0.0.1', port: 0 },
    ...(s.databaseUrl === undefined ? {} : { storage: { postgres: { url: s.databaseUrl } } }),
    mqtt: { url: s.brokerUrl, embeddedBroker: { enabled: false }, clientId: `bench-${phase}` },
    dlms: { push: { listen: { enabled: true, host: '127.0.0.1', port: 0 } } },
    simulators: { enabled: false },
    opcua: { enabled: false },
    cluster: { mode: s.mode, nodeId: id },
    collect: {
      profiles: { bench: { quantities: POLLED, intervalSeconds: 1, align: false, jitterMs: 500, timeoutMs: 1_000, retries: 0 } },
    },
    registry: s.registry,
  });
  nodes.add(node);
  return node;
}

async function stopNode(node: StationNode): Promise<void> {
  nodes.delete(node);
  await node.dispose();
}

/** What the node has delivered to every sink, and the CPU time it has used, as it last reported. */
function sample(node: StationNode): { delivered: number; cpuMicros: number } {
  return { delivered: node.stats?.delivered ?? 0, cpuMicros: node.cpuMicros ?? 0 };
}

/** The node's gridhead_database_statements_total by command. */
async function statements(node: StationNode): Promise<Map<string, number>> {
  const res = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  return new Map([...text.matchAll(/^gridhead_database_statements_total\{command="(\w+)"\} (\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
}
