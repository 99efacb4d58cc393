/**
 * Readings nobody can use over MQTT (implausible, or for an unknown terminal, meter or unit), through the whole head-end (embedded aedes broker, the
 * real composition root, the embedded store): refused with its reason, counted per protocol
 * and reason, logged once per meter, dead-lettered on MQTT with the refusal, and absent from
 * live values, area load and the store.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { eventually, startTestHeadEnd, stationMqttLogin, type TestHeadEnd } from '../helpers/headend.js';

interface Latest { values: { quantity: string; value: number; quality: string }[] }
interface Overview { totalKw: number; areas: { id: string; loadKw: number | null }[] }
interface Series { points: { ts: string; value: number }[] }
interface DeadLetter { topic: string; code: string; payloadBase64: string; refused?: { code: string; reason: string }[]; refusedCount?: number }
interface LogLine { msg: string; meter?: string; quantity?: string; reason?: string; detail?: string }

const T0 = Date.now() - 60_000;
const REJECTED = /gridhead_ingest_rejected_total\{protocol="mqtt",reason="IMPLAUSIBLE_VALUE"\} (\d+)/;

describe('implausible MQTT readings', () => {
  let h: TestHeadEnd;
  let client: MqttClient;
  const lines: LogLine[] = [];
  const deadLetters: DeadLetter[] = [];

  const publish = async (ts: number, values: Record<string, number>) => {
    await client.publishAsync('gridhead/v1/q1/telemetry', JSON.stringify({ v: 1, ts, meters: [{ address: '1', values }] }), { qos: 1 });
  };
  const rejectedCount = async () => Number(REJECTED.exec(String((await h.get('/metrics')).body))?.[1] ?? 0);
  const power = async () => (await h.get('/api/v1/meters/m1/latest')).body as Latest;

  beforeAll(async () => {
    h = await startTestHeadEnd({
      simulators: { enabled: false },
      mqtt: { embeddedBroker: { enabled: true, port: 0 } },
      registry: {
        areas: [{ id: 'r1', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 }],
        terminals: [{ id: 'q1', protocol: 'mqtt' }],
        meters: [{ id: 'm1', terminalId: 'q1', address: '1', areaId: 'tx1' }],
      },
    }, {
      env: { GRIDHEAD_MASTER_KEY: '22'.repeat(32) },
      logger: createLogger('warn', { write: (s: string) => { lines.push(JSON.parse(s) as LogLine); } }),
    });
    client = await mqtt.connectAsync(h.mqttUrl, { clientId: 'implausible-test', ...stationMqttLogin(h) });
    client.on('message', (topic, payload) => {
      if (topic === 'gridhead/v1/_deadletter') deadLetters.push(JSON.parse(payload.toString()) as DeadLetter);
    });
    await client.subscribeAsync('gridhead/v1/_deadletter', { qos: 1 });
  });
  afterAll(async () => {
    await client.endAsync();
    await h.stop();
  });

  it('refuses power.active = -1e300: counted and logged, while live values, area load and the store keep the last good reading', async () => {
    await publish(T0, { 'power.active': 12.5 });
    await eventually(async () => ((await power()).values.some((v) => v.quantity === 'power.active') ? true : undefined), 10_000, 'the good reading');

    await publish(T0 + 1_000, { 'power.active': -1e300 });
    await publish(T0 + 2_000, { 'power.active': -1e300 });
    await eventually(async () => ((await rejectedCount()) === 2 ? true : undefined), 10_000, 'both refusals counted');

    expect((await power()).values.find((v) => v.quantity === 'power.active')).toMatchObject({ value: 12.5, quality: 'good' });
    const overview = (await h.get('/api/v1/live/overview')).body as Overview;
    expect(overview.totalKw).toBe(12.5);
    expect(overview.areas.filter((a) => a.id === 'r1' || a.id === 'tx1').map((a) => a.loadKw)).toEqual([12.5, 12.5]);
    const range = `from=${new Date(T0 - 1).toISOString()}&to=${new Date(T0 + 60_000).toISOString()}`;
    const stored = (await h.get(`/api/v1/meters/m1/readings?quantity=power.active&${range}`)).body as Series;
    expect(stored.points.map((p) => p.value)).toEqual([12.5]);
    const bucket = (await h.get(`/api/v1/meters/m1/readings?quantity=power.active&${range}&step=900`)).body as Series;
    expect(bucket.points.map((p) => p.value)).toEqual([12.5]);

    // One warning for the meter, the second refusal throttled into it.
    const warnings = lines.filter((l) => l.msg === 'reading rejected');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ meter: 'm1', quantity: 'power.active', reason: 'IMPLAUSIBLE_VALUE' });
    expect(warnings[0]?.detail).toMatch(/-1e\+300 kW is outside the plausible range/);

    // Each refused message is copied to the dead-letter topic with its bytes and the refusal.
    await eventually(() => Promise.resolve(deadLetters.length === 2 ? true : undefined), 10_000, 'both dead letters');
    for (const d of deadLetters.splice(0)) {
      expect(d).toMatchObject({ topic: 'gridhead/v1/q1/telemetry', code: 'READINGS_REFUSED', refusedCount: 1 });
      expect(d.refused?.[0]?.code).toBe('IMPLAUSIBLE_VALUE');
      expect(Buffer.from(d.payloadBase64, 'base64').toString()).toContain('-1e+300');
    }
  });

  it('dead-letters readings nobody can use: an unknown terminal, an unknown meter address, an unknown unit', async () => {
    await client.publishAsync('gridhead/v1/q-unknown/telemetry', JSON.stringify({ v: 1, ts: T0, meters: [{ address: '1', values: { 'power.active': 1 } }] }), { qos: 1 });
    await client.publishAsync('gridhead/v1/q1/telemetry', JSON.stringify({ v: 1, ts: T0, meters: [{ address: '7', values: { 'power.active': 1 } }] }), { qos: 1 });
    await client.publishAsync('gridhead/v1/q1/telemetry', JSON.stringify({ v: 1, ts: T0 + 3_000, meters: [{ address: '1', values: { 'power.active': { value: 1, unit: 'hp' } } }] }), { qos: 1 });
    await eventually(() => Promise.resolve(deadLetters.length === 3 ? true : undefined), 10_000, 'three dead letters');
    expect(deadLetters.map((d) => [d.topic, d.code, d.refused?.[0]?.code])).toEqual([
      ['gridhead/v1/q-unknown/telemetry', 'READINGS_REFUSED', 'UNKNOWN_METER'],
      ['gridhead/v1/q1/telemetry', 'READINGS_REFUSED', 'UNKNOWN_METER'],
      ['gridhead/v1/q1/telemetry', 'READINGS_REFUSED', 'UNKNOWN_UNIT'],
    ]);
  });
});
