/**
 * Cluster stations as real processes on one PostgreSQL and one broker, with MQTT terminals that
 * publish QoS 1 telemetry to the broker and remember what it acknowledged: the fixture of the
 * failover test, its benchmark and the chaos test. A station runs either as a forked module
 * (`StationNode`, tests/helpers/stationProcess.ts, which reports its pipeline over IPC) or as
 * operators run it, `gridhead start` with a configuration file and the cluster's environment
 * (`CliStationNode`), next to a simulated fleet in its own `gridhead sim` process (`FleetProcess`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, telemetryTopic } from '../../protocols/mqtt/topics.js';
import type { PipelineStats } from '../../src/ingest/pipeline.js';
import type { FleetStatus } from '../../simulators/statusServer.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../bench/forkTs.js';
import { CLI_ADMIN_TOKEN, stationEnv, type CliInstall, type RunningCli } from './cli.js';
import { eventually } from './headend.js';
import type { TestBroker } from './aedes.js';
import { startMosquitto } from './mosquitto.js';
import { queryPostgres, startPostgres, type TestPostgres } from './postgres.js';
import { isStationReply, type StationReply } from './stationProcess.js';

/**
 * Device time of every terminal's message 0, two hours back; message i is i seconds later.
 * Inside the reading partitions, which refuse times outside their window, and never ahead.
 */
export const START_TS = Math.floor((Date.now() - 2 * 3_600_000) / 1_000) * 1_000;
/** The mosquitto settings the station's own config/mosquitto.conf sets: no queue limit, a wide in-flight window. */
export const BROKER_CONFIG = ['max_queued_messages 0', 'max_inflight_messages 1000'];

/** The multi-node modes (src/cluster/settings.ts). */
export type ClusterMode = 'active-standby' | 'sharded';

export interface StandbySettings {
  /** Default active-standby. */
  readonly mode?: ClusterMode;
  readonly brokerUrl: string;
  readonly databaseUrl: string;
  readonly terminals: number;
  /** The cluster timings; the configuration's defaults when left out. */
  readonly leaseMs?: number;
  readonly heartbeatMs?: number;
  /**
   * Each terminal's meter in a transformer area of its own (`areaOf(t)`), whose live load
   * counts values up to a day old (START_TS is two hours back). Default: no areas.
   */
  readonly transformerAreas?: boolean;
}

export interface Health {
  readonly node: {
    readonly id: string;
    readonly leader: boolean;
    readonly duties: 'active' | 'standby';
    /** The transformer areas the node owns in sharded mode (the first few), and how many. */
    readonly shards: readonly string[];
    readonly shardCount?: number;
  };
  readonly components: Readonly<Record<string, { readonly status: string; readonly detail?: string; readonly info?: Record<string, unknown> }>>;
}

/**
 * What the station processes of one test share, PostgreSQL (a database of its own) and
 * mosquitto with the station's settings, and what the test started on them: `close()` stops
 * the publishers, then the nodes (last started first), then the broker and the database.
 * Sets the master key every node seals keys under, as the nodes of one station share it.
 */
export class ClusterBackends {
  readonly nodes: StationNode[] = [];
  publishers: TelemetryPublishers | undefined;

  private constructor(readonly postgres: TestPostgres, readonly broker: TestBroker, readonly databaseUrl: string) {}

  static async start(): Promise<ClusterBackends> {
    const postgres = await startPostgres();
    const broker = await startMosquitto({ extraConfig: BROKER_CONFIG });
    process.env.GRIDHEAD_MASTER_KEY = randomBytes(32).toString('hex');
    return new ClusterBackends(postgres, broker, await postgres.createDatabase());
  }

  async close(): Promise<void> {
    await this.publishers?.stop();
    for (const n of this.nodes.splice(0).reverse()) await n.dispose();
    await this.broker.close();
    await this.postgres.dispose();
  }
}

/** One station process of the pair. */
export class StationNode {
  /** The pipeline's counters as the child last reported them (every 50 ms). */
  stats: PipelineStats | undefined;
  /** The CPU time (user + system) the child had used at that report, µs. */
  cpuMicros: number | undefined;
  /** When (Date.now()) the child first reported a reading delivered to every sink, the store included. */
  firstDeliveredAt: number | undefined;
  readonly #dataDir: string;

  private constructor(readonly id: string, readonly url: string, private readonly forked: ForkedModule, dataDir: string) {
    this.#dataDir = dataDir;
    forked.child.on('message', (m: StationReply) => {
      if (m.type !== 'stats') return;
      this.stats = m.pipeline;
      this.cpuMicros = m.cpuMicros;
      if (this.firstDeliveredAt === undefined && m.pipeline.delivered > 0) this.firstDeliveredAt = Date.now();
    });
  }

  static async start(id: string, s: StandbySettings): Promise<StationNode> {
    const dataDir = mkdtempSync(join(tmpdir(), `gridhead-standby-${id}-`));
    const config = {
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      storage: { postgres: { url: s.databaseUrl } },
      mqtt: { url: s.brokerUrl, embeddedBroker: { enabled: false } },
      dlms: { push: { listen: { enabled: true, host: '127.0.0.1', port: 0 } } },
      simulators: { enabled: false },
      opcua: { enabled: false },
      ...(s.transformerAreas === true ? { station: { areaLoadFreshMs: 86_400_000 } } : {}),
      cluster: { mode: s.mode ?? 'active-standby', nodeId: id, ...(s.heartbeatMs === undefined ? {} : { heartbeatMs: s.heartbeatMs }), ...(s.leaseMs === undefined ? {} : { leaseMs: s.leaseMs }) },
      registry: publisherRegistry(s.terminals, s.transformerAreas === true),
    };
    return StationNode.fork(id, config);
  }

  /** A station process on any configuration; its `dataDir` is removed at `dispose`. */
  static async fork(id: string, config: { readonly dataDir: string } & Record<string, unknown>): Promise<StationNode> {
    const forked = await forkTypeScript('tests/helpers/stationProcess.ts', ['--station', JSON.stringify(config)]);
    const ready = await nextMessage(forked.child, isStationReply).catch(async (err: unknown) => {
      await forked.dispose();
      throw err;
    });
    if (ready.type !== 'ready') {
      await forked.dispose();
      throw new Error(`station ${id} did not start: ${JSON.stringify(ready)}`);
    }
    return new StationNode(id, ready.url, forked, config.dataDir);
  }

  async health(): Promise<Health> {
    const res = await fetch(`${this.url}/health`);
    return await res.json() as Health;
  }

  /** SIGKILL, as a crash: nothing is closed, released or flushed. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const { child } = this.forked;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await this.dispose();
  }

  /** Closes the station (it releases the lease) and removes its data directory. */
  async dispose(): Promise<void> {
    await this.forked.dispose();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** How long a station started from the CLI may take to answer /health (it transpiled nothing: the install did). */
const CLI_START_MS = 60_000;

/**
 * A station as operators run it: `gridhead start --config FILE` with the cluster's identity,
 * mode and database in its environment (GRIDHEAD_NODE_ID, GRIDHEAD_CLUSTER_MODE,
 * GRIDHEAD_DATABASE_URL) and its own data directory and HTTP port. The same id started again
 * after a kill is the same cluster member coming back.
 */
export class CliStationNode {
  readonly token = CLI_ADMIN_TOKEN;
  readonly #dataDir: string;

  private constructor(readonly id: string, readonly url: string, private readonly running: RunningCli, dataDir: string) {
    this.#dataDir = dataDir;
  }

  /** Starts the node and resolves once its /health answers; rejects with its output if it exits first. */
  static async start(install: CliInstall, id: string, o: {
    readonly configFile: string;
    readonly databaseUrl: string;
    readonly mode: ClusterMode;
    readonly httpPort: number;
    /** The key every node of one station seals and opens DLMS keys under. */
    readonly masterKey: string;
  }): Promise<CliStationNode> {
    const dataDir = mkdtempSync(join(tmpdir(), `gridhead-cluster-${id}-`));
    const running = install.start(['start', '--config', o.configFile], {
      env: stationEnv(dataDir, {
        GRIDHEAD_NODE_ID: id, GRIDHEAD_CLUSTER_MODE: o.mode, GRIDHEAD_DATABASE_URL: o.databaseUrl,
        GRIDHEAD_HTTP_PORT: String(o.httpPort), GRIDHEAD_MASTER_KEY: o.masterKey,
      }),
    });
    const node = new CliStationNode(id, `http://127.0.0.1:${String(o.httpPort)}`, running, dataDir);
    try {
      await eventually(async () => {
        if (running.child.exitCode !== null || running.child.signalCode !== null) {
          throw new Error(`station ${id} exited (${String(running.child.exitCode ?? running.child.signalCode)}):\n${running.stderr().slice(-4_000)}\n${running.stdout().slice(-4_000)}`);
        }
        return await node.health().then(() => true, () => undefined);
      }, CLI_START_MS, `station ${id} to answer /health`);
    } catch (err) {
      await node.dispose();
      throw err;
    }
    return node;
  }

  async health(): Promise<Health> {
    const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(5_000) });
    return await res.json() as Health;
  }

  /** An API call with the admin token; a JSON body is sent as such. */
  async api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as unknown };
  }

  /** The process's output so far, for a failure message. */
  output(): string {
    return `${this.running.stderr().slice(-4_000)}\n${this.running.stdout().slice(-4_000)}`;
  }

  /** SIGKILL, as a crash: nothing is closed, released or flushed. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const { child } = this.running;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.running.exited;
    rmSync(this.#dataDir, { recursive: true, force: true });
  }

  /** Stops the station (SIGTERM: it releases its leases) and removes its data directory. */
  async dispose(): Promise<void> {
    await this.running.stop();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/**
 * The simulated fleet in a process of its own, `gridhead sim --config FILE` with the
 * configuration's `simulators.status` listener on: what a station must be told to poll the
 * fleet (its registry seed) and what each simulated meter executed, read over HTTP.
 */
export class FleetProcess {
  private constructor(readonly statusUrl: string, private readonly running: RunningCli) {}

  /** Writes `simulators` (status listener forced on, log at info) to a file and starts the fleet. */
  static async start(install: CliInstall, dir: string, config: Record<string, unknown> & { readonly simulators: Record<string, unknown> }): Promise<FleetProcess> {
    const file = join(dir, 'fleet.yaml');
    // JSON is YAML: the file is the configuration as written.
    writeFileSync(file, JSON.stringify({ ...config, log: { level: 'info' }, simulators: { ...config.simulators, enabled: true, status: { enabled: true, host: '127.0.0.1', port: 0 } } }, null, 2));
    const running = install.start(['sim', '--config', file], { env: { GRIDHEAD_CONFIG: '' } });
    try {
      const statusUrl = await eventually(() => {
        if (running.child.exitCode !== null || running.child.signalCode !== null) throw new Error(`gridhead sim exited:\n${running.stderr().slice(-4_000)}`);
        return Promise.resolve(statusUrlOf(running.stdout()));
      }, CLI_START_MS, 'the simulated fleet to run');
      return new FleetProcess(statusUrl, running);
    } catch (err) {
      await running.stop();
      throw err;
    }
  }

  async status(): Promise<FleetStatus> {
    const res = await fetch(this.statusUrl, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`fleet status answered ${String(res.status)}`);
    return await res.json() as FleetStatus;
  }

  async stop(): Promise<void> {
    await this.running.stop();
  }
}

/** The status URL from the fleet's `simulated fleet running` log line (pino JSON, one object a line). */
function statusUrlOf(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.includes('simulated fleet running')) continue;
    const status = (JSON.parse(line) as { status?: unknown }).status;
    if (typeof status === 'string') return status;
  }
  return undefined;
}

/** The registry entries of `terminals` publishing terminals (TelemetryPublishers): one MQTT terminal and its one meter each. */
export function publisherRegistry(terminals: number, transformerAreas = false): { terminals: Record<string, unknown>[]; meters: Record<string, unknown>[]; areas?: Record<string, unknown>[] } {
  return {
    terminals: Array.from({ length: terminals }, (_, t) => ({ id: terminalId(t), protocol: 'mqtt', profiles: [] })),
    meters: Array.from({ length: terminals }, (_, t) => ({ id: meterIdOf(t), terminalId: terminalId(t), address: '1', ...(transformerAreas ? { areaId: areaOf(t) } : {}) })),
    ...(transformerAreas ? { areas: Array.from({ length: terminals }, (_, t) => ({ id: areaOf(t), name: areaOf(t), kind: 'transformer', transformerKva: 400 })) } : {}),
  };
}

/**
 * Terminals publishing QoS 1 telemetry, `inflight` messages awaiting PUBACK per terminal,
 * until `limit` messages each or `stop()`. `acknowledged` holds, per terminal, the message
 * numbers the broker acknowledged: what the station must end up storing.
 */
export class TelemetryPublishers {
  readonly acknowledged: Set<number>[];
  readonly done: Promise<void>;
  #stopped = false;

  private constructor(private readonly clients: MqttClient[], options: { readonly limit: number; readonly inflight: number; readonly pauseMs: number }) {
    this.acknowledged = clients.map(() => new Set<number>());
    this.done = Promise.all(clients.map(async (client, t) => {
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < options.limit && !this.#stopped; i = next++) {
          await client.publishAsync(telemetryTopic(DEFAULT_TOPIC_PREFIX, terminalId(t)), telemetryMessage(t, i), { qos: 1 });
          this.acknowledged[t]?.add(i);
          if (options.pauseMs > 0) await new Promise((r) => setTimeout(r, options.pauseMs));
        }
      };
      await Promise.all(Array.from({ length: options.inflight }, worker));
    })).then(() => undefined);
  }

  static async start(brokerUrl: string, terminals: number, options: { readonly limit: number; readonly inflight: number; readonly pauseMs?: number }): Promise<TelemetryPublishers> {
    const clients: MqttClient[] = [];
    for (let t = 0; t < terminals; t++) clients.push(await mqtt.connectAsync(brokerUrl, { clientId: `${terminalId(t)}-pub`, clean: true, reconnectPeriod: 0 }));
    return new TelemetryPublishers(clients, { pauseMs: 0, ...options });
  }

  /** Readings acknowledged so far (three per message). */
  readings(): number {
    return this.acknowledged.reduce((n, s) => n + s.size, 0) * READINGS_PER_MESSAGE;
  }

  /** Stops publishing, waits for the messages in flight to be acknowledged, disconnects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.done;
    await Promise.all(this.clients.map((c) => c.endAsync()));
  }
}

export const READINGS_PER_MESSAGE = 3;

export function terminalId(t: number): string {
  return `standby-${String(t).padStart(3, '0')}`;
}

export function meterIdOf(t: number): string {
  return `${terminalId(t)}-m1`;
}

/** Terminal t's transformer area, with `transformerAreas`. */
export function areaOf(t: number): string {
  return `area-${String(t).padStart(3, '0')}`;
}

/** The values of terminal t's message i, each distinct, so a stored row says which message it came from. */
export function telemetryValues(t: number, i: number): Record<string, number> {
  return { 'power.active': t + i / 1000, 'voltage.l1': 220 + (i % 20), 'energy.active.import': 1000 * t + i / 10 };
}

function telemetryMessage(t: number, i: number): Buffer {
  return encodeTelemetry({ ts: START_TS + i * 1000, meters: [{ address: '1', values: telemetryValues(t, i) }] });
}

/** What PostgreSQL holds against what the broker acknowledged: keys `meter|quantity|ts`, a few of each kind. */
export interface StoredCheck {
  readonly expected: number;
  readonly rows: number;
  /** Acknowledged and not stored: how many, and the first few. */
  readonly missingCount: number;
  readonly missing: readonly string[];
  /** Stored other than once, with another value than published, or never acknowledged: how many, and the first few. */
  readonly wrongCount: number;
  readonly wrong: readonly string[];
}

/**
 * Waits until the readings table holds every acknowledged reading of the publishers' meters, or stopped growing for
 * 10 s (a loss shows as a count, not a hang), then compares it reading by reading.
 */
export async function checkStored(databaseUrl: string, publishers: TelemetryPublishers): Promise<StoredCheck> {
  const acknowledged = publishers.readings();
  // Only the publishers' meters: a fleet polled or publishing beside them stores its own readings.
  const meters = publishers.acknowledged.map((_, t) => meterIdOf(t));
  let last = { count: -1, at: Date.now() };
  await eventually(async () => {
    const [row] = await queryPostgres<{ n: number }>(databaseUrl, 'SELECT count(*)::int AS n FROM readings r JOIN meters m ON m.key = r.meter_key WHERE m.id = ANY($1)', [meters]);
    const count = row?.n ?? 0;
    if (count !== last.count) last = { count, at: Date.now() };
    return count >= acknowledged || Date.now() - last.at > 10_000 ? true : undefined;
  }, 180_000, 'PostgreSQL to hold every acknowledged reading or stop growing');
  const rows = await queryPostgres<{ meter: string; quantity: string; ts: string; value: number }>(databaseUrl,
    'SELECT m.id AS meter, q.name AS quantity, r.ts::text AS ts, r.value FROM readings r JOIN meters m ON m.key = r.meter_key JOIN quantity_codes q ON q.code = r.quantity WHERE m.id = ANY($1)', [meters]);
  const expected = new Map<string, number>();
  publishers.acknowledged.forEach((messages, t) => {
    for (const i of messages) {
      for (const [quantity, value] of Object.entries(telemetryValues(t, i))) expected.set(`${meterIdOf(t)}|${quantity}|${String(START_TS + i * 1000)}`, value);
    }
  });
  const stored = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${r.meter}|${r.quantity}|${r.ts}`;
    stored.set(key, [...(stored.get(key) ?? []), r.value]);
  }
  const missing = [...expected.keys()].filter((k) => !stored.has(k));
  const wrong = [...stored].filter(([k, v]) => v.length !== 1 || Math.abs((v[0] ?? Number.NaN) - (expected.get(k) ?? Number.NaN)) > 1e-9).map(([k]) => k);
  return { expected: expected.size, rows: rows.length, missingCount: missing.length, missing: missing.slice(0, 5), wrongCount: wrong.length, wrong: wrong.slice(0, 5) };
}
