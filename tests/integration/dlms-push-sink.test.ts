/**
 * A DLMS push the station did not store is never taken as stored. Over MQTT (a real aedes
 * broker) the refusal reaches the push subscriber, which hands the push over again and, when
 * the store keeps refusing, dead-letters it on the dead-letter topic; a ciphered push handed
 * over again is not deciphered twice (its invocation counter is spent: a second decipher
 * would be a replay). Over TCP the push is dead-lettered in the embedded store.
 */
import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dlmsNotifyTopic } from '../../protocols/dlms/net/pushMqtt.js';
import { MemoryPushSecurity } from '../../protocols/dlms/push/memorySecurity.js';
import { encodePushNotification } from '../../protocols/dlms/push/notification.js';
import { INTERVAL_PUSH_LIST } from '../../protocols/dlms/push/pushObjects.js';
import type { DeadLetterRecord } from '../../protocols/mqtt/deadLetter.js';
import { encodeWrapper } from '../../protocols/dlms/wrapper/wrapper.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { startAedes, type TestBroker } from '../helpers/aedes.js';
import { PushTestDirectory, startPushIntake, type PushIntake } from '../helpers/dlmsPushIntake.js';
import { eventually } from '../helpers/headend.js';

const T0 = Date.UTC(2024, 5, 3, 10, 0, 0);
const DEAD = 'gridhead/v1/_deadletter';
const ST = Uint8Array.from(Buffer.from('4752443030303331', 'hex'));
const KEYS = { ek: Uint8Array.from(Buffer.from('000102030405060708090A0B0C0D0E0F', 'hex')), ak: Uint8Array.from(Buffer.from('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', 'hex')) };

const plain = new DlmsMeterSimulator({ framing: 'wrapper', seed: 30, serialNumber: '00030', startTs: T0, clock: () => T0, historyDays: 0, push: { terminalId: 'sink-plain' } });
const ciphered = new DlmsMeterSimulator({ framing: 'wrapper', seed: 31, serialNumber: '00031', startTs: T0, clock: () => T0, historyDays: 0, push: { terminalId: 'sink-ciphered' } });
const directory = new PushTestDirectory();
const security = new MemoryPushSecurity();

/** Batches the store refuses from now on. */
let refusals = 0;
let broker: TestBroker;
let intake: PushIntake;
let gateway: MqttClient;
const deadLetters: DeadLetterRecord[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  // Polled over the management client's plain LLS association; the ciphered meter's pushes are tied to it by its system title.
  directory.add('sink-plain', { port: (await plain.start()).port, logicalDeviceName: 'GRD00030' });
  directory.add('sink-ciphered', { port: (await ciphered.start()).port, logicalDeviceName: 'GRD00031' });
  security.add(ST, 'sink-ciphered-1', KEYS);
  broker = await startAedes();
  intake = await startPushIntake({
    directory, security, mqtt: { url: broker.url, deadLetterTopic: DEAD },
    refuse: () => {
      if (refusals === 0) return false;
      refusals -= 1;
      return true;
    },
  });
  gateway = await mqtt.connectAsync(broker.url, { clientId: 'sink-gateway', reconnectPeriod: 0 });
  gateway.on('message', (_topic, payload) => { deadLetters.push(JSON.parse(payload.toString('utf8')) as DeadLetterRecord); });
  await gateway.subscribeAsync(DEAD, { qos: 1 });
}, 30_000);

afterEach(() => {
  refusals = 0;
  intake.readings.length = 0;
  deadLetters.length = 0;
  for (const s of sockets.splice(0)) s.destroy();
});

afterAll(async () => {
  await gateway.endAsync(true);
  await intake.close();
  await broker.close();
  await Promise.allSettled([plain.stop(), ciphered.stop()]);
});

const plainPush = () => encodePushNotification({ list: INTERVAL_PUSH_LIST, values: plain.meter.pushValues('interval', T0) });

describe('DLMS push: the station refuses to store it', () => {
  it('over MQTT, hands the push over again, then dead-letters it on the dead-letter topic', async () => {
    const before = structuredClone(intake.service.receiver.counters);
    refusals = Number.POSITIVE_INFINITY;
    const apdu = plainPush();
    await gateway.publishAsync(dlmsNotifyTopic('gridhead/v1', 'sink-plain'), Buffer.from(apdu), { qos: 1 });
    const [letter] = await eventually(async () => Promise.resolve(deadLetters.length > 0 ? deadLetters : undefined), 15_000, 'the dead letter');
    expect(letter).toMatchObject({ topic: dlmsNotifyTopic('gridhead/v1', 'sink-plain'), terminalId: 'sink-plain', code: 'SINK_REJECTED', payloadBase64: Buffer.from(apdu).toString('base64') });
    expect(letter?.reason).toContain('the store refused the batch');
    expect(intake.problems.filter((p) => p.startsWith('mqtt:handler-error'))).toHaveLength(3);
    expect(intake.readings).toEqual([]);
    const after = intake.service.receiver.counters;
    expect(after.received - before.received).toBe(1);
    expect(after.accepted - before.accepted).toBe(0);
  }, 30_000);

  it('over MQTT, stores a ciphered push the store took on the second hand-over, once and without a replay', async () => {
    const before = structuredClone(intake.service.receiver.counters);
    refusals = 1;
    const apdu = encodePushNotification(
      { list: INTERVAL_PUSH_LIST, values: ciphered.meter.pushValues('interval', T0) },
      { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 5_000 },
    );
    await gateway.publishAsync(dlmsNotifyTopic('gridhead/v1', 'sink-ciphered'), Buffer.from(apdu), { qos: 1 });
    const got = await eventually(async () => Promise.resolve(intake.readings.length >= 3 ? intake.readings : undefined), 15_000, 'the stored push');
    expect(got.map((r) => r.quantity).sort()).toEqual(['energy.active.import', 'power.active', 'voltage.l1']);
    for (const r of got) expect(r).toMatchObject({ terminalId: 'sink-ciphered', address: '1', ts: T0 });
    expect(intake.securityEvents).toEqual([]);
    expect(deadLetters).toEqual([]);
    const after = intake.service.receiver.counters;
    expect(after.received - before.received).toBe(1);
    expect(after.accepted - before.accepted).toBe(1);
    expect(after.dropped.sink - before.dropped.sink).toBe(1);
  }, 30_000);

  it('over TCP, keeps the push as a dead letter and does not count it accepted', async () => {
    const before = structuredClone(intake.service.receiver.counters);
    refusals = Number.POSITIVE_INFINITY;
    const apdu = plainPush();
    const s = connect({ host: '127.0.0.1', port: intake.service.tcpPort ?? 0 });
    sockets.push(s);
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('connect', () => { resolve(); }));
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu }));
    const letter = await eventually(async () => (await intake.service.deadLetters.list({ limit: 10 })).find((d) => d.code === 'sink'), 15_000, 'the TCP dead letter');
    expect(letter).toMatchObject({ origin: 'tcp', terminalId: 'sink-plain' });
    expect(Buffer.from(letter.apdu).equals(Buffer.from(apdu))).toBe(true);
    const after = intake.service.receiver.counters;
    expect(after.accepted - before.accepted).toBe(0);
    expect(after.deadLettered - before.deadLettered).toBe(1);
  }, 30_000);
});
