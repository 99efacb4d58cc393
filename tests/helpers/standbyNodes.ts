/**
 * Active-standby stations as real processes (tests/helpers/stationProcess.ts) on one
 * PostgreSQL and one broker, with MQTT terminals that publish QoS 1 telemetry to the broker and
 * remember what it acknowledged: the fixture of the failover test and its benchmark.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, telemetryTopic } from '../../protocols/mqtt/topics.js';
import type { PipelineStats } from '../../src/ingest/pipeline.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../bench/forkTs.js';
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
  readonly leaseMs: number;
  readonly heartbeatMs: number;
}

export interface Health {
  readonly node: { readonly id: string; readonly leader: boolean; readonly duties: 'active' | 'standby' };
  readonly components: Readonly<Record<string, { readonly status: string; readonly detail?: string; readonly info?: Record<string, unknown> }>>;
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
      cluster: { mode: 'active-standby', nodeId: id, heartbeatMs: s.heartbeatMs, leaseMs: s.leaseMs },
      registry: {
        terminals: Array.from({ length: s.terminals }, (_, t) => ({ id: terminalId(t), protocol: 'mqtt', profiles: [] })),
        meters: Array.from({ length: s.terminals }, (_, t) => ({ id: meterIdOf(t), terminalId: terminalId(t), address: '1' })),
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

/** The values of terminal t's message i, each distinct, so a stored row says which message it came from. */
export function telemetryValues(t: number, i: number): Record<string, number> {
  return { 'power.active': t + i / 1000, 'voltage.l1': 220 + (i % 20), 'energy.active.import': 1000 * t + i / 10 };
}

function telemetryMessage(t: number, i: number): Buffer {
  return encodeTelemetry({ ts: START_TS + i * 1000, meters: [{ address: '1', values: telemetryValues(t, i) }] });
}
