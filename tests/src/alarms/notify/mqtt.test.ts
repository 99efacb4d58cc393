import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqttAlarmNotifier, alarmTopic } from '../../../../src/alarms/notify/mqtt.js';
import { startAedes, type TestBroker } from '../../../helpers/aedes.js';
import { notice } from './notice.js';

let broker: TestBroker;
let subscriber: MqttClient;
let notifier: MqttAlarmNotifier | undefined;
const messages: { topic: string; payload: unknown; qos: number }[] = [];

beforeEach(async () => {
  broker = await startAedes();
  messages.length = 0;
  subscriber = await mqtt.connectAsync(broker.url, { clientId: 'alarm-test-sub', reconnectPeriod: 0 });
  subscriber.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: JSON.parse(payload.toString('utf8')) as unknown, qos: packet.qos });
  });
  await subscriber.subscribeAsync('gridhead/v1/_alarms/#', { qos: 1 });
});

afterEach(async () => {
  await notifier?.close();
  notifier = undefined;
  await subscriber.endAsync(true);
  await broker.close();
});

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('MQTT alarm notifier', () => {
  it('publishes every change at QoS 1 under <prefix>/<severity>/<subject-kind>/<subject-id>', async () => {
    notifier = new MqttAlarmNotifier({ url: broker.url, clientId: 'gridhead-alarms-test', topicPrefix: 'gridhead/v1/_alarms' });
    notifier.start();
    notifier.notify(notice('7', 'critical', 'm-42'));
    await until(() => messages.length === 1, 'the alarm message');
    expect(messages[0]).toMatchObject({
      topic: 'gridhead/v1/_alarms/critical/meter/m-42',
      qos: 1,
      payload: { change: 'raised', alarm: { id: '7', severity: 'critical', subject: { kind: 'meter', id: 'm-42' } } },
    });
    await until(() => notifier?.stats().published === 1, 'the PUBACK');
  });

  it('holds changes made before the broker connection and publishes them once connected', async () => {
    notifier = new MqttAlarmNotifier({ url: broker.url, clientId: 'gridhead-alarms-test2', topicPrefix: 'gridhead/v1/_alarms', queueCapacity: 2 });
    for (const id of ['1', '2', '3']) notifier.notify(notice(id));
    expect(notifier.stats()).toMatchObject({ queued: 2, dropped: 1 });
    notifier.start();
    await until(() => messages.length === 2, 'the queued messages');
    expect(messages.map((m) => (m.payload as { alarm: { id: string } }).alarm.id)).toEqual(['2', '3']);
  });

  it('publishes again after a close and a new start, as a node that leads again', async () => {
    notifier = new MqttAlarmNotifier({ url: broker.url, clientId: 'gridhead-alarms-test3', topicPrefix: 'gridhead/v1/_alarms' });
    notifier.start();
    notifier.notify(notice('1'));
    await until(() => notifier?.stats().published === 1, 'the first PUBACK');
    await notifier.close();
    expect(notifier.isConnected()).toBe(false);
    notifier.notify(notice('2'));
    notifier.start();
    await until(() => messages.length === 2, 'the message after the restart');
    expect(messages.map((m) => (m.payload as { alarm: { id: string } }).alarm.id)).toEqual(['1', '2']);
  });

  it('keeps MQTT wildcard characters out of topic levels', () => {
    expect(alarmTopic('p', notice('1', 'minor', 'a/b+c#'))).toBe('p/minor/meter/a_b_c_');
  });
});
