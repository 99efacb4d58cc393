/**
 * The broker's dropped-message alarm through a real Mosquitto broker (Debian `mosquitto`):
 * the station is down while a terminal publishes, the broker acknowledges every message
 * and keeps only `max_queued_messages` of them for the station's session; the station
 * comes back, sees the counter grown since it last looked, raises the alarm with the
 * numbers and clears it after the quiet period.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { BROKER_DROPS_RULE_ID, BROKER_SUBJECT } from '../../src/broker/dropWatch.js';
import type { Alarm } from '../../src/domain/index.js';
import { fetchApi } from '../helpers/api.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';
import type { TestBroker } from '../helpers/aedes.js';

const absent = mosquittoPath() === null;
if (absent) console.log('skipping the broker dropped-message alarm test: no mosquitto binary (apt-get install mosquitto)');

const QUEUE_LIMIT = 5;
const PUBLISHED = 20;
const CLEAR_AFTER_MS = 2_000;

let broker: TestBroker | undefined;
let station: TestHeadEnd | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-broker-drops-'));
const env = { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };

afterEach(async () => {
  await station?.close();
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function stationConfig(url: string) {
  return {
    mqtt: { url, embeddedBroker: { enabled: false }, brokerDrops: { clearAfterMs: CLEAR_AFTER_MS } },
    simulators: { enabled: false },
    registry: {
      terminals: [{ id: 'q1', protocol: 'mqtt', profiles: [] }],
      meters: [{ id: 'q1-m1', terminalId: 'q1', address: '1' }],
    },
  };
}

async function brokerDropsHealth(h: TestHeadEnd): Promise<{ status: string; detail: string }> {
  const res = await h.get('/health');
  return (res.body as { components: Record<string, { status: string; detail: string }> }).components.mqttBrokerDrops ?? { status: 'absent', detail: '' };
}

it.skipIf(absent)('raises a major alarm with the numbers when the broker dropped acknowledged messages while the station was down, and clears it once quiet', async () => {
  broker = await startMosquitto({ extraConfig: [`max_queued_messages ${QUEUE_LIMIT}`, 'sys_interval 1'] });
  const url = broker.url;

  // First run: the station's persistent session subscribes, the monitor sees (and keeps) the counter at 0.
  station = await startTestHeadEnd(stationConfig(url), { dataDir, env });
  const first = station;
  await eventually(async () => ((await brokerDropsHealth(first)).detail.includes('counter 0') ? true : undefined), 15_000, 'the dropped counter at 0');
  await first.close();
  station = undefined;

  // The station is down: the broker acknowledges every QoS 1 message, queues 5 for the session and drops the rest.
  const terminal = await mqtt.connectAsync(url, { clientId: 'q1', clean: true, reconnectPeriod: 0 });
  let acknowledged = 0;
  for (let i = 0; i < PUBLISHED; i++) {
    const payload = JSON.stringify({ ts: Date.now(), readings: [{ meter: '1', quantity: 'power.active', value: i }] });
    await terminal.publishAsync('gridhead/v1/q1/telemetry', payload, { qos: 1 });
    acknowledged += 1;
  }
  await terminal.endAsync();
  expect(acknowledged).toBe(PUBLISHED);

  // The station comes back on the same store: the counter grew since it last looked.
  const raisedAt = Date.now();
  station = await startTestHeadEnd(stationConfig(url), { dataDir, env });
  const second = station;
  const raised = await eventually(() => Promise.resolve(second.alarms.openFor(BROKER_DROPS_RULE_ID, BROKER_SUBJECT)), 15_000, 'the dropped-message alarm');
  const dropped = PUBLISHED - QUEUE_LIMIT;
  expect(raised).toMatchObject({ subject: { kind: 'station', id: 'mqtt-broker' }, severity: 'major', state: 'raised', value: dropped, areaId: null });
  expect(raised.explanation).toContain(`dropped ${dropped} QoS 1 messages between`);
  expect(raised.explanation).toContain('told they were delivered');
  expect(raised.explanation).toContain('max_queued_messages');
  expect(raised.explanation).toContain('fell behind or was disconnected');
  expect(raised.since).toBeLessThan(raisedAt);

  // Through the API, the metric and /health as an operator sees them.
  const listed = await second.get(`/api/v1/alarms?rule=${BROKER_DROPS_RULE_ID}&state=raised`);
  expect(listed.body).toMatchObject({ items: [{ id: raised.id, subject: { kind: 'station', id: 'mqtt-broker' }, value: dropped }] });
  const zh = await (await fetchApi(second, `/api/v1/alarms/${raised.id}`, { headers: { 'accept-language': 'zh-CN' } })).json() as { explanation: string };
  expect(zh.explanation).toContain(`丢弃了 ${dropped} 条 QoS 1 消息`);
  const metrics = await second.get('/metrics');
  expect(String(metrics.body)).toMatch(new RegExp(`^gridhead_mqtt_broker_dropped_messages_total ${dropped}$`, 'm'));
  expect(await brokerDropsHealth(second)).toMatchObject({ status: 'degraded' });

  // Nothing more dropped: the alarm clears after the quiet period.
  const cleared = await eventually(async () => {
    const a: Alarm = await second.alarms.get(raised.id);
    return a.state === 'cleared' ? a : undefined;
  }, 15_000, 'the alarm to clear');
  expect(cleared.clearExplanation).toContain(`${dropped} messages were lost in all`);
  expect(cleared.value).toBe(dropped);
  expect(await brokerDropsHealth(second)).toMatchObject({ status: 'ok' });
});

it('says in /health that a broker without a dropped counter (the embedded aedes) cannot be watched', async () => {
  station = await startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 }, brokerDrops: { counterWaitMs: 1_000 } },
    simulators: { enabled: false },
  }, { dataDir, env });
  const h = station;
  const health = await eventually(async () => {
    const c = await brokerDropsHealth(h);
    return c.detail.includes('publishes no') ? c : undefined;
  }, 15_000, 'the absent counter in /health');
  expect(health).toMatchObject({ status: 'ok', detail: expect.stringContaining('$SYS/broker/publish/messages/dropped') as unknown });
  expect(h.alarms.openFor(BROKER_DROPS_RULE_ID, BROKER_SUBJECT)).toBeUndefined();
});
