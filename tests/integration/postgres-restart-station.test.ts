/**
 * No acknowledged MQTT reading lost across a PostgreSQL crash under a running station: an
 * mqtt.js client publishes QoS 1 telemetry to the station's embedded broker while the whole
 * PostgreSQL server is killed (SIGKILL) and started again. The station's ingest queue is
 * small, so the outage fills it: intake pauses, the MQTT adapter holds its PUBACKs (it
 * acknowledges after the commit) and the broker keeps the rest. The outage outlasts the
 * adapter's sink timeout, which reports the wait and acknowledges nothing early: no message
 * is dead-lettered. Afterwards PostgreSQL holds every reading of every message the client
 * saw PUBACKed, each once, with its value.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { DEFAULT_TOPIC_PREFIX, telemetryTopic } from '../../protocols/mqtt/topics.js';
import { meterId } from '../../src/domain/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { eventually, startTestHeadEnd, stationMqttLogin, type TestHeadEnd } from '../helpers/headend.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const TERMINAL = 'pg-crash-t1';
const METERS = 5;
/** Messages the client has awaiting PUBACK at once, and its pause after each: a steady stream, not a burst. */
const INFLIGHT = 5;
const PAUSE_MS = 20;
/** Messages after PostgreSQL is back before the client stops; at most MAX_MESSAGES in all. */
const AFTER_RESTART = 500;
const MAX_MESSAGES = 50_000;
const STEP_MS = 100;
const READINGS_PER_MESSAGE = METERS * 2;
/** Smaller than what the outage brings, so the station's intake has to pause. */
const QUEUE_CAPACITY = 200;

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the station's PostgreSQL crash test: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('a station whose PostgreSQL is killed and restarted under MQTT ingest', () => {
  let cluster: TestPostgres;
  let url: string;
  let h: TestHeadEnd;
  let client: MqttClient | undefined;
  const warnings: string[] = [];
  // Device time two hours back, STEP_MS per message: inside the reading partitions, never in the future.
  const startTs = Date.now() - 2 * 3_600_000;

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    h = await startTestHeadEnd({
      mqtt: { embeddedBroker: { enabled: true, port: 0 } },
      ingest: { queueCapacity: QUEUE_CAPACITY },
      storage: { postgres: { reconnectMinMs: 20, reconnectMaxMs: 200 } },
      rules: { enabled: false },
      registry: {
        terminals: [{ id: TERMINAL, protocol: 'mqtt', profiles: [] }],
        meters: Array.from({ length: METERS }, (_, m) => ({ id: `${TERMINAL}-${m + 1}`, terminalId: TERMINAL, address: String(m + 1) })),
      },
    }, {
      env: { GRIDHEAD_DATABASE_URL: url, GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') },
      logger: createLogger('warn', { write: (line: string) => { warnings.push(line); } }),
    });
  }, 60_000);

  afterAll(async () => {
    await client?.endAsync(true);
    await h.stop();
    await cluster.dispose();
  });

  it('stores every reading of every PUBACKed message exactly once', async () => {
    const c = await mqtt.connectAsync(h.mqttUrl, { clientId: 'pg-crash-terminal', clean: true, reconnectPeriod: 0, ...stationMqttLogin(h) });
    client = c;
    const acknowledged: number[] = [];
    let phase: 'before' | 'down' | 'back' = 'before';
    let duringOutage = 0;
    let afterRestart = 0;
    let next = 0;
    const publishing = Promise.all(Array.from({ length: INFLIGHT }, async () => {
      for (let i = next++; i < MAX_MESSAGES && afterRestart < AFTER_RESTART; i = next++) {
        await c.publishAsync(telemetryTopic(DEFAULT_TOPIC_PREFIX, TERMINAL), message(i, startTs), { qos: 1 });
        acknowledged.push(i);
        if (phase === 'down') duringOutage++;
        if (phase === 'back') afterRestart++;
        await sleep(PAUSE_MS);
      }
    }));

    const delivered = (): number => h.pipeline.stats().delivered;
    await eventually(() => Promise.resolve(delivered() >= 200 * READINGS_PER_MESSAGE ? true : undefined), 60_000, 'the first readings stored');
    await cluster.kill();
    phase = 'down';
    const atKill = delivered();
    const errorsAtKill = h.pipeline.stats().sinkErrors;
    // The station tried the dead server and kept the batch; meanwhile its queue fills and intake pauses.
    await eventually(() => Promise.resolve(h.pipeline.stats().sinkErrors >= errorsAtKill + 3 ? true : undefined), 30_000, 'the store writes to fail against the dead server');
    await eventually(() => Promise.resolve(h.pipeline.stats().waitingProducers > 0 ? true : undefined), 30_000, 'the full queue to pause intake');
    expect(delivered()).toBe(atKill);
    // Down for longer than the MQTT adapter waits for a commit before it reports the wait.
    await eventually(() => Promise.resolve(warnings.some((w) => w.includes('"code":"SINK_TIMEOUT"')) ? true : undefined), 30_000, 'the sink timeout to pass');
    expect(delivered()).toBe(atKill);
    await cluster.start();
    phase = 'back';
    await publishing;
    // The client went on publishing, and was acknowledged, while the server was down.
    expect(duringOutage).toBeGreaterThan(0);
    expect(afterRestart).toBeGreaterThanOrEqual(AFTER_RESTART);
    expect(acknowledged.length).toBeLessThan(MAX_MESSAGES);
    const total = acknowledged.length * READINGS_PER_MESSAGE;

    // Until everything is there, or the table stopped growing: a loss shows as a count, not a hang.
    let last = { count: -1, at: Date.now() };
    await eventually(async () => {
      const [row] = await queryPostgres<{ n: number }>(url, 'SELECT count(*)::int AS n FROM readings');
      const count = row?.n ?? 0;
      if (count !== last.count) last = { count, at: Date.now() };
      return count >= total || Date.now() - last.at > 10_000 ? true : undefined;
    }, 120_000, 'PostgreSQL to hold every acknowledged reading or stop growing');

    const rows = await queryPostgres<{ meter: string; quantity: string; ts: string; value: number }>(url,
      'SELECT r.meter_key::text AS meter, q.name AS quantity, r.ts::text AS ts, r.value FROM readings r JOIN quantity_codes q ON q.code = r.quantity');
    const stored = new Map<string, number[]>();
    for (const r of rows) {
      const key = `${r.meter}|${r.quantity}|${r.ts}`;
      stored.set(key, [...(stored.get(key) ?? []), r.value]);
    }
    const expected = new Map<string, number>();
    for (const i of acknowledged) {
      for (let m = 1; m <= METERS; m++) {
        const key = h.registry.meterKey(meterId(`${TERMINAL}-${m}`)) ?? -1;
        for (const [quantity, value] of Object.entries(values(i, m))) expected.set(`${key}|${quantity}|${startTs + i * STEP_MS}`, value);
      }
    }
    expect([...expected.keys()].filter((k) => !stored.has(k)).slice(0, 5), 'acknowledged readings missing').toEqual([]);
    expect([...stored].filter(([, v]) => v.length > 1).slice(0, 5), 'readings stored twice').toEqual([]);
    expect([...stored].filter(([k, v]) => v[0] !== expected.get(k)).slice(0, 5), 'readings with another value, or never published').toEqual([]);
    expect(rows.length).toBe(total);
    // Nothing acknowledged early: a message the station gave up on would be dead-lettered.
    expect((await h.get('/metrics')).body).toMatch(/^gridhead_mqtt_messages_total\{outcome="dead_lettered"\} 0$/m);
  }, 180_000);
});

function values(i: number, meter: number): Record<string, number> {
  return { 'power.active': meter + i / 1_000, 'energy.active.import': 1_000 * meter + i / 10 };
}

function message(i: number, startTs: number): Buffer {
  return encodeTelemetry({ ts: startTs + i * STEP_MS, meters: Array.from({ length: METERS }, (_, m) => ({ address: String(m + 1), values: values(i, m + 1) })) });
}
