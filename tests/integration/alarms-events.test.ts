/**
 * Alarms and device events through the whole head-end over real sockets: the embedded
 * broker, a simulated MQTT terminal publishing an event, the HTTP API with its SSE
 * stream, and an MQTT subscriber receiving alarm notifications.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { get, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areaId, meterId } from '../../src/domain/index.js';
import { eventually, startTestHeadEnd, stationMqttLogin, type TestHeadEnd } from '../helpers/headend.js';

describe('alarms and device events in the head-end', () => {
  let h: TestHeadEnd;
  let subscriber: MqttClient;
  const alarmMessages: { topic: string; payload: { change: string; alarm: { id: string } } }[] = [];
  const streams: ClientRequest[] = [];

  beforeAll(async () => {
    h = await startTestHeadEnd({
      mqtt: { embeddedBroker: { enabled: true, port: 0 } },
      registry: { areas: [{ id: 'tx1', name: 'TX 1', kind: 'transformer' }] },
      simulators: { enabled: true, seed: 3, areaIds: ['tx1'], mqtt: { count: 1, metersPerTerminal: 2, publishIntervalMs: 60_000 } },
    });
    subscriber = await mqtt.connectAsync(h.mqttUrl, { clientId: 'alarm-e2e-sub', reconnectPeriod: 0, ...stationMqttLogin(h) });
    subscriber.on('message', (topic, payload) => {
      alarmMessages.push({ topic, payload: JSON.parse(payload.toString('utf8')) as { change: string; alarm: { id: string } } });
    });
    await subscriber.subscribeAsync('gridhead/v1/_alarms/#', { qos: 1 });
  });

  afterAll(async () => {
    await subscriber.endAsync(true);
    // Stopped with the SSE stream still open: shutdown must end it, not wait for the client.
    await h.stop();
    for (const s of streams) s.destroy();
  });

  it('stores an event a simulated MQTT terminal publishes, tied to its meter, and serves it at /api/v1/events', async () => {
    const sim = h.fleet?.mqtt[0];
    if (sim === undefined) throw new Error('no simulated MQTT terminal');
    await sim.publishEvent('2', 'cover-open', 'opened by hand');
    await sim.publishEvent('9', 'vendor-specific-thing');
    const found = await eventually(async () => {
      const r = await h.get(`/api/v1/events?terminal=${sim.terminalId}`);
      const items = (r.body as { items: { meterId: string | null; code: string; detail: string | null; source: string }[] }).items;
      return items.length >= 2 ? items : undefined;
    }, 15_000, 'the events');
    expect(found).toEqual(expect.arrayContaining([
      expect.objectContaining({ meterId: `${sim.terminalId}-2`, code: 'cover-open', detail: 'opened by hand', source: 'mqtt' }),
      expect.objectContaining({ meterId: null, code: 'other', detail: 'code: vendor-specific-thing' }),
    ]));
    const byMeter = await h.get(`/api/v1/events?meter=${sim.terminalId}-2&code=cover-open`);
    expect((byMeter.body as { items: unknown[] }).items).toHaveLength(1);
  });

  it('streams a raised alarm over SSE, publishes it over MQTT, lists it and acknowledges it', async () => {
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = get(`${h.url}/api/v1/alarms/stream`, { headers: { authorization: `Bearer ${h.token}` } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => frames.push(chunk));
        res.on('error', () => undefined);
        resolve();
      });
      req.on('error', reject);
      streams.push(req);
    });
    await eventually(() => Promise.resolve(frames.join('').includes('retry:') ? true : undefined), 5_000, 'the stream to open');
    const alarm = h.alarms.onSignal({
      ruleId: 'demo-over-limit', detector: 'power-over-limit', subject: { kind: 'meter', id: meterId('sim-mq-01-1') }, kind: 'raise',
      severity: 'critical', at: Date.now(), since: Date.now() - 60_000, explanation: 'power 12 kW over the 10 kW limit for 60 s', value: 12, areaId: areaId('tx1'),
    });
    expect(alarm?.state).toBe('raised');
    const id = alarm?.id ?? '';
    await eventually(() => Promise.resolve(frames.join('').includes(`"id":"${id}"`) ? true : undefined), 5_000, 'the SSE event');
    expect(frames.join('')).toMatch(/event: alarm\ndata: \{"change":"raised"/);
    const message = await eventually(() => Promise.resolve(alarmMessages.find((m) => m.payload.alarm.id === id)), 5_000, 'the MQTT notification');
    expect(message.topic).toBe('gridhead/v1/_alarms/critical/meter/sim-mq-01-1');

    const list = await h.get('/api/v1/alarms?area=tx1&state=raised');
    expect((list.body as { items: { id: string }[] }).items.map((a) => a.id)).toEqual([id]);
    const acked = await h.send('POST', `/api/v1/alarms/${id}/ack`, { comment: 'seen' });
    expect(acked).toMatchObject({ status: 200, body: { state: 'acknowledged', acknowledgedBy: 'token:bootstrap' } });
    await eventually(() => Promise.resolve(alarmMessages.some((m) => m.payload.alarm.id === id && m.payload.change === 'acknowledged') ? true : undefined), 5_000, 'the acknowledgement over MQTT');

    const metrics = (await h.get('/metrics')).body as string;
    expect(metrics).toMatch(/^gridhead_alarms_open 1$/m);
    expect(metrics).toMatch(/^gridhead_alarm_store_waiting 0$/m);
    expect(metrics).toMatch(/^gridhead_alarm_store_write_failures_total 0$/m);
    expect(metrics).toMatch(/^gridhead_alarm_streams 1$/m);
    expect(metrics).toMatch(/^gridhead_alarm_notifications_total\{channel="mqtt",outcome="published"\} [1-9]/m);
    expect(metrics).toMatch(/^gridhead_device_events_total\{kind="stored"\} 2$/m);
  });
});
