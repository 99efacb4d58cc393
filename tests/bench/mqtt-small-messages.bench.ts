/**
 * Push ingest of small messages, the shape most field terminals send: 1,000 terminals,
 * each one meter with three values per message, QoS 1, through Debian's mosquitto.
 *
 * What dominates here is the cost per message, not per reading, so the figures are
 * messages/s and CPU µs per message. The ceiling beside them is a bare mqtt.js
 * subscriber that parses every message (protocols/mqtt/payload.ts) and does nothing else,
 * drained from the same broker in the same run.
 *
 * Shape of the run: the station and the bare subscriber first subscribe with persistent
 * sessions and go away; the publishers (a forked child, tests/bench/mqttSmallPublisherProcess.ts)
 * publish the whole backlog, which the broker queues for both sessions; then the station
 * starts again on its data directory and drains its queue into the store, and after it the
 * bare subscriber drains its own. Draining a backlog measures the station alone, without
 * the publishers competing for the two cores, and is the field case that matters: a
 * station that fell behind, or restarted, catching up. The rates are taken between 10 %
 * and 90 % of the backlog, so start-up and the last stragglers do not count.
 *
 * At the end the store must hold exactly what the broker acknowledged to the publishers.
 * Skipped, with the reason printed, where mosquitto is not installed.
 * GRIDHEAD_BENCH_CPU_PROFILE=<file> writes a CPU profile of the station's drain.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, expect, it } from 'vitest';
import { parseTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, parseTopic, subscriptionFilters } from '../../protocols/mqtt/topics.js';
import { isQuantity } from '../../src/domain/index.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import type { TestBroker } from '../helpers/aedes.js';
import { startProfiler } from './cpuProfile.js';
import { forkTypeScript, nextMessage, type ForkedModule } from './forkTs.js';
import {
  SMALL_MESSAGE_READINGS, SMALL_METER_ADDRESS, isSmallPublishersReply, smallTerminalId,
  type SmallPublishersStart,
} from './mqttSmallPublisherProcess.js';

const TERMINALS = 1_000;
const MESSAGES_PER_TERMINAL = 150;
const BACKLOG = TERMINALS * MESSAGES_PER_TERMINAL;
/** The window of the backlog the rates are taken over. */
const FROM = 0.1;
const TO = 0.9;
const SAMPLE_MS = 10;
/** Give up on a drain once nothing moved for this long. */
const STALL_MS = 15_000;
const BARE_CLIENT_ID = 'gridhead-bench-bare';

const absent = mosquittoPath() === null;
if (absent) console.log('mqtt small messages: skipped, mosquitto is not installed (apt-get install mosquitto)');

let broker: TestBroker | undefined;
let headEnd: TestHeadEnd | undefined;
let publishers: ForkedModule | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await publishers?.dispose();
  await headEnd?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  await broker?.close();
});

it.skipIf(absent)('ingests a backlog of small MQTT messages into the embedded store', async () => {
  // The queue for each session must hold the whole backlog: beyond max_queued_messages
  // Mosquitto drops QoS 1 messages it has already acknowledged to the publishers.
  broker = await startMosquitto({ extraConfig: [`max_queued_messages ${BACKLOG * 2}`, 'max_inflight_messages 1000'] });
  const env = { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
  // GRIDHEAD_BENCH_DURABILITY=normal measures what the per-commit fsync of the default costs.
  const durability = process.env.GRIDHEAD_BENCH_DURABILITY === 'normal' ? 'normal' : 'full';
  const overrides = {
    mqtt: { url: broker.url, embeddedBroker: { enabled: false } }, simulators: { enabled: false }, registry: seedRegistry(), storage: { durability },
  };

  // Sessions first, so the broker queues the backlog for both subscribers.
  headEnd = await startTestHeadEnd(overrides, { env });
  dataDir = headEnd.dataDir;
  await waitSubscribed(headEnd);
  await headEnd.close();
  headEnd = undefined;
  const bare = await mqtt.connectAsync(broker.url, { clientId: BARE_CLIENT_ID, clean: false, protocolVersion: 4 });
  await bare.subscribeAsync([...subscriptionFilters(DEFAULT_TOPIC_PREFIX)], { qos: 1 });
  await bare.endAsync();

  publishers = await forkTypeScript('tests/bench/mqttSmallPublisherProcess.ts', ['--mqtt-small-publishers']);
  const start: SmallPublishersStart = {
    type: 'start', url: broker.url, terminals: TERMINALS, messagesPerTerminal: MESSAGES_PER_TERMINAL,
    deviceStartTs: Date.now() - 24 * 3_600_000, stepMs: 1_000, maxInflight: 10,
  };
  publishers.child.send(start);
  const published = await nextMessage(publishers.child, isSmallPublishersReply);
  if (published.type !== 'done') throw new Error(`publishers failed: ${published.message}`);
  expect(published.errors).toBe(0);

  // The station drains its queue: counted in readings delivered to every sink.
  const stationCpu0 = process.cpuUsage();
  const profiler = await startProfiler(process.env.GRIDHEAD_BENCH_CPU_PROFILE);
  headEnd = await startTestHeadEnd(overrides, { env, dataDir });
  const he = headEnd;
  const station = await drain(() => he.pipeline.stats().delivered / SMALL_MESSAGE_READINGS, published.messages);
  await profiler?.();
  const stationTotalCpuUs = cpuSince(stationCpu0);
  await he.close();
  headEnd = undefined;
  const stored = countStoredReadings(dataDir);

  // The ceiling: a bare subscriber on the same broker, parsing every message.
  const ceiling = await drainBare(broker.url, published.messages);

  const loadNow = (await import('node:os')).loadavg()[0]?.toFixed(2);
  console.log(`mqtt small messages: broker = mosquitto (own process), ${TERMINALS} terminals × 1 meter × ${SMALL_MESSAGE_READINGS} values, QoS 1, `
    + `backlog ${published.messages} messages offered at ${published.messagesPerS.toFixed(0)} messages/s; load average ${loadNow}`);
  console.log(`bench: mqtt.small.durability = ${durability}`);
  console.log(`bench: mqtt.small.messages_per_s = ${station.rate.toFixed(0)} messages/s`);
  console.log(`bench: mqtt.small.readings_per_s = ${(station.rate * SMALL_MESSAGE_READINGS).toFixed(0)} readings/s`);
  console.log(`bench: mqtt.small.cpu_us_per_message = ${station.cpuUsPerMessage.toFixed(1)} µs`);
  console.log(`bench: mqtt.small.bare_subscriber_messages_per_s = ${ceiling.rate.toFixed(0)} messages/s`);
  console.log(`bench: mqtt.small.bare_subscriber_cpu_us_per_message = ${ceiling.cpuUsPerMessage.toFixed(1)} µs`);
  console.log(`bench: mqtt.small.share_of_ceiling = ${(100 * station.rate / ceiling.rate).toFixed(0)} %`);
  console.log(`bench: mqtt.small.publishers_offered_messages_per_s = ${published.messagesPerS.toFixed(0)} messages/s`);
  console.log(`bench: mqtt.small.station_cpu_s_whole_run = ${(stationTotalCpuUs / 1e6).toFixed(1)} s`);

  if (stored !== published.readings) {
    console.error(`\n!!!!!!!!!! MQTT SMALL-MESSAGE BENCHMARK LOST OR DUPLICATED DATA: acknowledged ${published.readings} readings, stored ${stored} !!!!!!!!!!\n`);
  }
  expect(station.stalled).toBe(false);
  expect(ceiling.stalled).toBe(false);
  expect(stored).toBe(published.readings);
});

interface Drain { readonly rate: number; readonly cpuUsPerMessage: number; readonly stalled: boolean }

/**
 * Samples `progress` (messages done) every SAMPLE_MS until it reaches `total` or stalls;
 * the rate and CPU are taken from the first sample past FROM × total to the first past TO × total.
 */
async function drain(progress: () => number, total: number): Promise<Drain> {
  const sample = () => ({ t: performance.now(), cpuUs: cpuSince(), done: progress() });
  let from: ReturnType<typeof sample> | undefined;
  let to: ReturnType<typeof sample> | undefined;
  let last = sample();
  const stalled = await new Promise<boolean>((resolve) => {
    const timer = setInterval(() => {
      const s = sample();
      if (from === undefined && s.done >= total * FROM) from = s;
      if (to === undefined && s.done >= total * TO) to = s;
      if (s.done > last.done) last = s;
      if (s.done >= total || s.t - last.t > STALL_MS) {
        clearInterval(timer);
        resolve(s.done < total);
      }
    }, SAMPLE_MS);
  });
  if (from === undefined || to === undefined || to.done === from.done) return { rate: 0, cpuUsPerMessage: 0, stalled: true };
  const messages = to.done - from.done;
  return { rate: messages / ((to.t - from.t) / 1000), cpuUsPerMessage: (to.cpuUs - from.cpuUs) / messages, stalled };
}

async function drainBare(url: string, total: number): Promise<Drain> {
  let done = 0;
  const options = { acceptQuantity: isQuantity, maxReadingsPerMessage: 5_000, maxPayloadBytes: 256 * 1024, receivedAt: Date.now() };
  const client = mqtt.connect(url, { clientId: BARE_CLIENT_ID, clean: false, protocolVersion: 4, manualConnect: true });
  client.on('message', (topic, payload) => {
    const where = parseTopic(DEFAULT_TOPIC_PREFIX, topic);
    if (where.ok && where.kind === 'telemetry' && parseTelemetry(where.terminalId, payload, options).ok) done += 1;
  });
  client.connect();
  try {
    return await drain(() => done, total);
  } finally {
    await client.endAsync();
  }
}

function cpuSince(previous?: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(previous);
  return cpu.user + cpu.system;
}

async function waitSubscribed(he: TestHeadEnd): Promise<void> {
  await eventually(async () => {
    const health = (await he.get('/health')).body as { components?: { mqtt?: { status?: string } } };
    return health.components?.mqtt?.status === 'ok' ? true : undefined;
  }, 15_000, 'the head-end to subscribe');
}

function seedRegistry(): { terminals: unknown[]; meters: unknown[] } {
  const terminals: unknown[] = [];
  const meters: unknown[] = [];
  for (let i = 0; i < TERMINALS; i++) {
    const terminalId = smallTerminalId(i);
    terminals.push({ id: terminalId, protocol: 'mqtt', profiles: [] });
    meters.push({ id: `${terminalId}-m${SMALL_METER_ADDRESS}`, terminalId, address: SMALL_METER_ADDRESS });
  }
  return { terminals, meters };
}

function countStoredReadings(dir: string): number {
  const db = new Database(join(dir, 'gridhead.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM readings').get()?.n ?? 0;
  } finally {
    db.close();
  }
}
