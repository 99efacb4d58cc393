/**
 * Crash safety of MQTT ingest (DESIGN.md target "SIGKILL mid-ingest, restart: stored ==
 * published (QoS 1), nothing twice"), through Debian's mosquitto: terminals publish QoS 1
 * while the station, a child process on its own data directory, is killed with SIGKILL
 * three times mid-stream and started again on the same directory. The broker keeps the station's
 * persistent session meanwhile. Afterwards the store holds exactly what the broker
 * acknowledged to the terminals: every reading, each once, with its value.
 *
 * Skipped, with the reason printed, where mosquitto is not installed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, expect, it } from 'vitest';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, telemetryTopic } from '../../protocols/mqtt/topics.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../bench/forkTs.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import type { TestBroker } from '../helpers/aedes.js';
import { isStationReply, type StationReply } from '../helpers/stationProcess.js';

const TERMINALS = 20;
const MESSAGES_PER_TERMINAL = 3_000;
/** Messages a terminal has awaiting PUBACK at once: enough for the station to be busy when killed. */
const INFLIGHT_PER_TERMINAL = 10;
const TOTAL_READINGS = TERMINALS * MESSAGES_PER_TERMINAL * 3;
const START_TS = Date.UTC(2024, 0, 1);
/** Kill when the station has taken this share of the whole stream, then this one. */
const KILL_AT = [0.2, 0.45, 0.7];

const absent = mosquittoPath() === null;
if (absent) console.log('mqtt crash test: skipped, mosquitto is not installed (apt-get install mosquitto)');

let broker: TestBroker | undefined;
let station: ForkedModule | undefined;
const publishers: MqttClient[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-crash-'));

afterAll(async () => {
  await station?.dispose();
  await Promise.all(publishers.map((p) => p.endAsync()));
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it.skipIf(absent)('stores exactly what the broker acknowledged to the terminals across SIGKILLs of the station', async () => {
  broker = await startMosquitto({ extraConfig: ['max_queued_messages 0', 'max_inflight_messages 1000'] });
  const config = {
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { url: broker.url, embeddedBroker: { enabled: false } },
    simulators: { enabled: false },
    registry: {
      terminals: Array.from({ length: TERMINALS }, (_, t) => ({ id: terminal(t), protocol: 'mqtt', profiles: [] })),
      meters: Array.from({ length: TERMINALS }, (_, t) => ({ id: `${terminal(t)}-m1`, terminalId: terminal(t), address: '1' })),
    },
  };
  // The same master key on every start: the station restarts on its own data directory.
  process.env.GRIDHEAD_MASTER_KEY = randomBytes(32).toString('hex');
  let taken = 0;
  const startStation = async () => {
    const forked = await forkTypeScript('tests/helpers/stationProcess.ts', ['--station', JSON.stringify(config)]);
    station = forked;
    const ready = await nextMessage(forked.child, isStationReply);
    if (ready.type !== 'ready') throw new Error(`station did not start: ${JSON.stringify(ready)}`);
    const before = taken;
    forked.child.on('message', (m: StationReply) => { if (m.type === 'stats') taken = before + m.pipeline.accepted; });
    return forked;
  };
  await startStation();

  // Terminals publish throughout; each message has its own device timestamp and values.
  for (let t = 0; t < TERMINALS; t++) {
    publishers.push(await mqtt.connectAsync(broker.url, { clientId: `${terminal(t)}-crash`, clean: true, reconnectPeriod: 0 }));
  }
  const publishing = Promise.all(publishers.map(async (client, t) => {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < MESSAGES_PER_TERMINAL; i = next++) {
        await client.publishAsync(telemetryTopic(DEFAULT_TOPIC_PREFIX, terminal(t)), message(t, i), { qos: 1 });
      }
    };
    await Promise.all(Array.from({ length: INFLIGHT_PER_TERMINAL }, worker));
  }));

  for (const share of KILL_AT) {
    await waitUntil(() => taken >= TOTAL_READINGS * share, `the station to take ${share * 100} % of the stream`);
    const victim = station;
    const exited = new Promise((resolve) => victim?.child.once('exit', resolve));
    victim?.child.kill('SIGKILL');
    await exited;
    await victim?.dispose();
    await startStation();
  }
  await publishing; // every PUBACK from the broker: all of it must end up stored

  // Until everything is there, or the store stopped growing: a loss shows as a count, not a hang.
  let last = { count: -1, at: Date.now() };
  await waitUntil(() => {
    const count = storedCount();
    if (count !== last.count) last = { count, at: Date.now() };
    return count >= TOTAL_READINGS || Date.now() - last.at > 10_000;
  }, 'the store to hold every acknowledged reading or stop growing', 120_000);
  const rows = storedRows();
  expect(rows.length).toBe(TOTAL_READINGS);
  const expected = new Map<string, number>();
  for (let t = 0; t < TERMINALS; t++) {
    for (let i = 0; i < MESSAGES_PER_TERMINAL; i++) {
      for (const [quantity, value] of Object.entries(values(t, i))) expected.set(`${terminal(t)}-m1|${quantity}|${START_TS + i * 1000}`, value);
    }
  }
  const stored = new Map(rows.map((r) => [r.key, r.value]));
  expect([...expected.keys()].filter((k) => !stored.has(k)).slice(0, 5)).toEqual([]);
  expect(rows.filter((r) => Math.abs(r.value - (expected.get(r.key) ?? Number.NaN)) > 1e-9 || !expected.has(r.key)).slice(0, 5)).toEqual([]);
}, 180_000);

function terminal(t: number): string {
  return `crash-${String(t).padStart(3, '0')}`;
}

function values(t: number, i: number): Record<string, number> {
  return { 'power.active': t + i / 1000, 'voltage.l1': 220 + (i % 20), 'energy.active.import': 1000 * t + i / 10 };
}

function message(t: number, i: number): Buffer {
  return encodeTelemetry({ ts: START_TS + i * 1000, meters: [{ address: '1', values: values(t, i) }] });
}

function openStore(): Database.Database {
  return new Database(join(dataDir, 'gridhead.db'), { readonly: true, fileMustExist: true });
}

function storedCount(): number {
  const db = openStore();
  try {
    return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM readings').get()?.n ?? 0;
  } finally {
    db.close();
  }
}

function storedRows(): { key: string; value: number }[] {
  const db = openStore();
  try {
    return db.prepare<[], { key: string; value: number }>(
      `SELECT m.id || '|' || q.name || '|' || r.ts AS key, r.value AS value
       FROM readings r JOIN meters m ON m.key = r.meter_key JOIN quantity_codes q ON q.code = r.quantity`,
    ).all();
  } finally {
    db.close();
  }
}

/** Polls until `condition` holds; fails after `limitMs` (a hang bound, not a speed check). */
async function waitUntil(condition: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
