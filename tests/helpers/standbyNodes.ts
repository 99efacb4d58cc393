/**
 * Active-standby stations as real processes (tests/helpers/stationProcess.ts) on one
 * PostgreSQL and one broker, with MQTT terminals that publish QoS 1 telemetry to the broker and
 * remember what it acknowledged: the fixture of the failover test and its benchmark.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, telemetryTopic } from '../../protocols/mqtt/topics.js';
import type { PipelineStats } from '../../src/ingest/pipeline.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../bench/forkTs.js';
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

export interface StandbySettings {
  readonly brokerUrl: string;
  readonly databaseUrl: string;
  readonly terminals: number;
  /** The cluster timings; the configuration's defaults when left out. */
  readonly leaseMs?: number;
  readonly heartbeatMs?: number;
  /** Default active-standby. */
  readonly mode?: 'active-standby' | 'sharded';
  /**
   * Each terminal's meter in a transformer area of its own (`areaOf(t)`), whose live load
   * counts values up to a day old (START_TS is two hours back). Default: no areas.
   */
  readonly transformerAreas?: boolean;
}

export interface Health {
  readonly node: { readonly id: string; readonly leader: boolean; readonly duties: 'active' | 'standby' };
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
  /** When (Date.now()) the child first reported a reading delivered to every sink, the store included. */
  firstDeliveredAt: number | undefined;
  readonly #dataDir: string;

  private constructor(readonly id: string, readonly url: string, private readonly forked: ForkedModule, dataDir: string) {
    this.#dataDir = dataDir;
    forked.child.on('message', (m: StationReply) => {
      if (m.type !== 'stats') return;
      this.stats = m.pipeline;
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
      registry: {
        terminals: Array.from({ length: s.terminals }, (_, t) => ({ id: terminalId(t), protocol: 'mqtt', profiles: [] })),
        meters: Array.from({ length: s.terminals }, (_, t) => ({ id: meterIdOf(t), terminalId: terminalId(t), address: '1', ...(s.transformerAreas === true ? { areaId: areaOf(t) } : {}) })),
        ...(s.transformerAreas === true ? { areas: Array.from({ length: s.terminals }, (_, t) => ({ id: areaOf(t), name: areaOf(t), kind: 'transformer', transformerKva: 400 })) } : {}),
      },
    };
    const forked = await forkTypeScript('tests/helpers/stationProcess.ts', ['--station', JSON.stringify(config)]);
    const ready = await nextMessage(forked.child, isStationReply).catch(async (err: unknown) => {
      await forked.dispose();
      throw err;
    });
    if (ready.type !== 'ready') {
      await forked.dispose();
      throw new Error(`station ${id} did not start: ${JSON.stringify(ready)}`);
    }
    return new StationNode(id, ready.url, forked, dataDir);
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
 * Waits until the readings table holds every acknowledged reading, or stopped growing for
 * 10 s (a loss shows as a count, not a hang), then compares it reading by reading.
 */
export async function checkStored(databaseUrl: string, publishers: TelemetryPublishers): Promise<StoredCheck> {
  const acknowledged = publishers.readings();
  let last = { count: -1, at: Date.now() };
  await eventually(async () => {
    const [row] = await queryPostgres<{ n: number }>(databaseUrl, 'SELECT count(*)::int AS n FROM readings');
    const count = row?.n ?? 0;
    if (count !== last.count) last = { count, at: Date.now() };
    return count >= acknowledged || Date.now() - last.at > 10_000 ? true : undefined;
  }, 180_000, 'PostgreSQL to hold every acknowledged reading or stop growing');
  const rows = await queryPostgres<{ meter: string; quantity: string; ts: string; value: number }>(databaseUrl,
    'SELECT m.id AS meter, q.name AS quantity, r.ts::text AS ts, r.value FROM readings r JOIN meters m ON m.key = r.meter_key JOIN quantity_codes q ON q.code = r.quantity');
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
