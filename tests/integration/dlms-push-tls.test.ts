/**
 * DLMS pushes over MQTT through a broker that speaks only TLS (aedes over node:tls with a
 * throw-away self-signed certificate): the head-end's push intake connects with the
 * station's TLS settings, like every other station client, and receives the push.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlmsNotifyTopic } from '../../protocols/dlms/net/pushMqtt.js';
import { encodePushNotification } from '../../protocols/dlms/push/notification.js';
import { INTERVAL_PUSH_LIST } from '../../protocols/dlms/push/pushObjects.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { startAedes, type TestBroker } from '../helpers/aedes.js';
import { PushTestDirectory, startPushIntake, type PushIntake } from '../helpers/dlmsPushIntake.js';
import { eventually } from '../helpers/headend.js';
import { selfSignedCertificate } from '../helpers/tlsCert.js';

const certificate = selfSignedCertificate();
if (!certificate.ok) console.log(`skipping the DLMS push over TLS test: ${certificate.reason}`);

const T0 = Date.UTC(2024, 5, 3, 10, 0, 0);
const meter = new DlmsMeterSimulator({ framing: 'wrapper', seed: 7, serialNumber: '00007', startTs: T0, clock: () => T0, historyDays: 0, push: { terminalId: 'tls-1' } });
const directory = new PushTestDirectory();

let broker: TestBroker;
let intake: PushIntake;
let gateway: MqttClient;

describe.skipIf(!certificate.ok)('DLMS push over MQTT with TLS', () => {
  beforeAll(async () => {
    if (!certificate.ok) return;
    const { key, cert } = certificate.value;
    directory.add('tls-1', { port: (await meter.start()).port, logicalDeviceName: 'GRD00007' });
    broker = await startAedes({}, { key, cert });
    intake = await startPushIntake({
      directory,
      mqtt: { url: broker.url, tls: { ca: cert, rejectUnauthorized: true }, deadLetterTopic: 'gridhead/v1/_deadletter' },
    });
    // The meter's gateway, publishing the raw APDU as a meter would.
    gateway = await mqtt.connectAsync(broker.url, { clientId: 'tls-gateway', ca: cert, rejectUnauthorized: true, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await gateway.endAsync(true);
    await intake.close();
    await broker.close();
    await meter.stop();
  });

  it('receives a push through a TLS-only broker, with the station\'s TLS settings', async () => {
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: meter.meter.pushValues('interval', T0) });
    await gateway.publishAsync(dlmsNotifyTopic('gridhead/v1', 'tls-1'), Buffer.from(apdu), { qos: 1 });
    const got = await eventually(async () => Promise.resolve(intake.readings.length >= 3 ? intake.readings : undefined), 10_000, 'readings pushed over TLS');
    expect(got.map((r) => r.quantity).sort()).toEqual(['energy.active.import', 'power.active', 'voltage.l1']);
    for (const r of got) expect(r).toMatchObject({ terminalId: 'tls-1', address: '1', ts: T0 });
  });
});
