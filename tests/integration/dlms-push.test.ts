/**
 * Simulated DLMS meters push data-notifications to the head-end's push intake over a real
 * TCP socket (wrapper) and a real MQTT broker (aedes); scalers are read from the meter over a
 * real association. Plain and ciphered pushes, events, replay, tampering, garbage.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RawDeviceEvent, RawReading } from '../../protocols/adapter.js';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import { startPushListener, type PushListener } from '../../protocols/dlms/net/pushListener.js';
import { DlmsPushMqttSubscriber } from '../../protocols/dlms/net/pushMqtt.js';
import { MemoryPushSecurity } from '../../protocols/dlms/push/memorySecurity.js';
import { encodePushNotification } from '../../protocols/dlms/push/notification.js';
import { INTERVAL_PUSH_LIST } from '../../protocols/dlms/push/pushObjects.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import { encodeWrapper } from '../../protocols/dlms/wrapper/wrapper.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { DlmsPushReceiver, DlmsPushSinkError, type DlmsPushReceiverOptions } from '../../protocols/dlms/push/receiver.js';
import { PushScalerCache } from '../../protocols/dlms/push/scalers.js';
import { RegistryPushSenders } from '../../src/dlmsPush.js';
import { QUANTITIES } from '../../src/domain/index.js';
import { startAedes, type TestBroker } from '../helpers/aedes.js';
import { PushTestDirectory } from '../helpers/dlmsPushIntake.js';
import { eventually } from '../helpers/headend.js';

const T0 = Date.UTC(2024, 5, 3, 10, 0, 0);
const ST = Uint8Array.from(Buffer.from('4752443030303032', 'hex'));
const KEYS = { ek: Uint8Array.from(Buffer.from('000102030405060708090A0B0C0D0E0F', 'hex')), ak: Uint8Array.from(Buffer.from('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', 'hex')) };

let now = T0;
const clock = () => now;
const plainMeter = new DlmsMeterSimulator({ framing: 'wrapper', seed: 1, serialNumber: '00001', startTs: T0, clock, historyDays: 0, push: { terminalId: 'dl-1' } });
const cipheredMeter = new DlmsMeterSimulator({
  framing: 'wrapper', seed: 2, serialNumber: '00002', startTs: T0, clock, historyDays: 0,
  security: { systemTitle: ST, keys: KEYS, protection: 'auth-enc' }, push: { terminalId: 'dl-2' },
});

const directory = new PushTestDirectory();

function register(id: string, port: number, extra: { logicalDeviceName?: string; security?: 'auth-enc'; systemTitle?: string }): void {
  directory.add(id, { port, meterType: 'sim-v1', ...extra });
}

const readings: RawReading[] = [];
const events: RawDeviceEvent[] = [];
const securityEvents: SecurityEvent[] = [];
const problems: string[] = [];
const security = new MemoryPushSecurity();
const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, passwordFor: () => '12345678' });
const receiverOptions: DlmsPushReceiverOptions = {
  senders: new RegistryPushSenders(directory),
  catalogue: QUANTITIES,
  security,
  scalers: new PushScalerCache({
    known: (t, a, obis) => adapter.scalers.get(`${t}/${a}`, obis),
    load: async ({ id }, address, obis) => {
      // Scalers are per meter: read each over the management client's plain LLS association (this adapter has no keys).
      const terminal = directory.findTerminal(id);
      const session = await adapter.open({ id, endpoint: terminal?.protocol === 'dlms' ? { ...terminal.dlms, auth: 'low', security: 'none' } : never() }, AbortSignal.timeout(5_000));
      const byObis = new Map<string, string>(Object.entries(QUANTITIES).map(([q, e]) => [e.obis, q]));
      await session.read(obis.map((o) => ({ address, quantity: byObis.get(o) ?? '' })), AbortSignal.timeout(5_000));
      await session.close();
      return new Map(obis.flatMap((o) => { const su = adapter.scalers.get(`${id}/${address}`, o); return su === undefined ? [] : [[o, su] as const]; }));
    },
  }),
  sink: {
    readings: (b) => { readings.push(...b); },
    events: (b) => { events.push(...b); },
  },
  onSecurityEvent: (e) => { securityEvents.push(e); },
  onProblem: (code, sender) => { problems.push(`${code}:${sender}`); },
};
const receiver = new DlmsPushReceiver(receiverOptions);

let listener: PushListener;
let broker: TestBroker;
let subscriber: DlmsPushMqttSubscriber;
const rawSockets: Socket[] = [];

beforeAll(async () => {
  const [p1, p2] = [(await plainMeter.start()).port, (await cipheredMeter.start()).port];
  register('dl-1', p1, { logicalDeviceName: 'GRD00001' });
  register('dl-2', p2, { security: 'auth-enc', systemTitle: '4752443030303032', logicalDeviceName: 'GRD00002' });
  security.add(ST, 'dl-2-1', KEYS);
  listener = await startPushListener({ host: '127.0.0.1', port: 0, onApdu: (apdu, origin) => receiver.handle(apdu, origin) });
  broker = await startAedes();
  subscriber = new DlmsPushMqttSubscriber({
    url: broker.url, clientId: 'push-test', topicPrefix: 'gridhead/v1',
    onApdu: (apdu, origin) => receiver.handle(apdu, origin),
  });
  await subscriber.start(AbortSignal.timeout(10_000));
});

afterEach(() => {
  readings.length = 0;
  events.length = 0;
  securityEvents.length = 0;
  problems.length = 0;
  for (const s of rawSockets.splice(0)) s.destroy();
});

afterAll(async () => {
  await Promise.allSettled([plainMeter.stop(), cipheredMeter.stop()]);
  await adapter.close();
  await subscriber.close();
  await listener.close();
  await broker.close();
});

const tcp = () => ({ transport: 'tcp' as const, host: '127.0.0.1', port: listener.port });

describe('DLMS push: simulated meter → head-end intake', () => {
  it('delivers a plain interval push over TCP as readings of the right meter, quantity, unit and device time', async () => {
    plainMeter.setPushDestination(tcp());
    plainMeter.pushes.push('interval');
    const got = await eventually(async () => Promise.resolve(readings.length >= 3 ? readings : undefined), 10_000, 'pushed readings');
    expect(got.map((r) => r.quantity).sort()).toEqual(['energy.active.import', 'power.active', 'voltage.l1']);
    for (const r of got) expect(r).toMatchObject({ terminalId: 'dl-1', address: '1', ts: T0 });
    const voltage = got.find((r) => r.quantity === 'voltage.l1')?.value ?? 0;
    expect(voltage).toBeGreaterThan(200);
    expect(voltage).toBeLessThan(260);
    // Energy as a poll reads it at the same instant: same register, same scaler, catalogue unit kWh.
    const [polled] = await readNow('dl-1', 'energy.active.import');
    expect(got.find((r) => r.quantity === 'energy.active.import')?.value).toBe(polled);
  });

  it('delivers pushes over MQTT and checks the topic against the sender', async () => {
    plainMeter.setPushDestination({ transport: 'mqtt', url: broker.url });
    plainMeter.pushes.push('interval');
    await eventually(async () => Promise.resolve(readings.length >= 3 ? true : undefined), 10_000, 'MQTT readings');
    expect(new Set(readings.map((r) => r.terminalId))).toEqual(new Set(['dl-1']));
  });

  it('turns a voltage loss and its restore into device events, with zero voltage pushed', async () => {
    plainMeter.setPushDestination(tcp());
    plainMeter.injectVoltageLoss(true);
    plainMeter.injectVoltageLoss(false);
    await eventually(async () => Promise.resolve(events.length >= 2 ? true : undefined), 10_000, 'voltage events');
    expect(events.map((e) => e.code)).toEqual(['voltage-loss', 'voltage-restored']);
    expect(events[0]).toMatchObject({ terminalId: 'dl-1', address: '1', detail: 'dlms event 82: missing voltage L1' });
    const voltages = readings.filter((r) => r.quantity === 'voltage.l1').map((r) => r.value);
    expect(voltages[0]).toBe(0);
    expect(voltages[1]).toBeGreaterThan(200);
  });

  it('reports a limiter trip of a ciphered meter as limiter-tripped then relay-disconnected', async () => {
    cipheredMeter.setPushDestination(tcp());
    const sim = cipheredMeter.meter.simulation;
    sim.limiter.minOverThresholdSeconds = 1;
    sim.limiter.setNormal(1); // 1 W: any load is over it
    sim.sampleLimiterNow();
    now += 5_000;
    cipheredMeter.meter.tick(now);
    await eventually(async () => Promise.resolve(events.length >= 2 ? true : undefined), 10_000, 'limiter events');
    expect(events.map((e) => [e.terminalId, e.code])).toEqual([['dl-2', 'limiter-tripped'], ['dl-2', 'relay-disconnected']]);
    expect(securityEvents).toEqual([]);
  });

  it('drops a replayed and a tampered ciphered push and reports each as a security event', async () => {
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values: cipheredMeter.meter.pushValues('interval', now) }, { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter: 1_000_000 });
    const tampered = Uint8Array.from(apdu);
    tampered[40] = (tampered[40] ?? 0) ^ 0x80;
    const s = await rawConnection();
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu }));
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu }));
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu: tampered }));
    await eventually(async () => Promise.resolve(securityEvents.length >= 2 ? true : undefined), 10_000, 'security events');
    expect(securityEvents.map((e) => [e.kind, e.systemTitle])).toEqual([['replay', '4752443030303032'], ['tag-mismatch', '4752443030303032']]);
    // The first copy only: energy, power, voltage.
    expect(readings.filter((r) => r.terminalId === 'dl-2')).toHaveLength(3);
  });

  it('gives a ciphered push back when the key store does not answer: MQTT retries it, TCP dead-letters it as not taken, neither as undecodable', async () => {
    let storeDown = true;
    const flaky = new DlmsPushReceiver({
      ...receiverOptions,
      security: { forSystemTitle: (title) => (storeDown ? Promise.reject(new Error('PostgreSQL is unreachable')) : security.forSystemTitle(title)) },
    });
    const push = (invocationCounter: number) => encodePushNotification(
      { list: INTERVAL_PUSH_LIST, values: cipheredMeter.meter.pushValues('interval', now) },
      { systemTitle: ST, keys: KEYS, protection: 'auth-enc', invocationCounter },
    );
    const overMqtt = push(2_000_000);
    await expect(flaky.handle(overMqtt, { kind: 'mqtt', terminalId: 'dl-2' })).rejects.toBeInstanceOf(DlmsPushSinkError);
    expect(readings).toHaveLength(0);
    // Its invocation counter was not spent: once the store answers, the retry deciphers it.
    storeDown = false;
    await flaky.handle(overMqtt, { kind: 'mqtt', terminalId: 'dl-2' });
    expect(readings.filter((r) => r.terminalId === 'dl-2')).toHaveLength(3);
    expect(securityEvents).toEqual([]);

    storeDown = true;
    await flaky.handle(push(2_000_001), { kind: 'tcp', remote: '127.0.0.1:1', source: 1, destination: 0x66 });
    expect(problems).toEqual(['sink:4752443030303032']);
  });

  it('refuses an unciphered push in the name of a meter set up for ciphering, and one from an unknown name', async () => {
    const values = plainMeter.meter.pushValues('interval', now);
    const s = await rawConnection();
    values[0] = { type: 'octet-string', value: new TextEncoder().encode('GRD00002') };
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu: encodePushNotification({ list: INTERVAL_PUSH_LIST, values }) }));
    values[0] = { type: 'octet-string', value: new TextEncoder().encode('NOBODY') };
    s.write(encodeWrapper({ source: 1, destination: 0x66, apdu: encodePushNotification({ list: INTERVAL_PUSH_LIST, values }) }));
    await eventually(async () => Promise.resolve(problems.length >= 2 ? true : undefined), 10_000, 'refusals');
    expect(securityEvents.map((e) => e.kind)).toEqual(['policy-violation']);
    expect(problems).toEqual(['security:dl-2', 'unknown-sender:NOBODY']);
    expect(readings).toEqual([]);
  });

  it('closes only the connection that sends garbage; other meters keep pushing', async () => {
    plainMeter.setPushDestination(tcp());
    const before = listener.stats.closedForProblem;
    const s = await rawConnection();
    const closed = new Promise<void>((resolve) => s.once('close', () => { resolve(); }));
    s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await closed;
    expect(listener.stats.closedForProblem).toBe(before + 1);
    plainMeter.pushes.push('interval');
    await eventually(async () => Promise.resolve(readings.length >= 3 ? true : undefined), 10_000, 'readings after garbage');
  });
});

async function rawConnection(): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port: listener.port });
  rawSockets.push(s);
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.once('connect', () => { resolve(); }));
  return s;
}

async function readNow(terminal: string, quantity: string): Promise<number[]> {
  const t = directory.findTerminal(terminal);
  if (t?.protocol !== 'dlms') return never();
  const session = await adapter.open({ id: t.id, endpoint: { ...t.dlms, auth: 'low' } }, AbortSignal.timeout(5_000));
  try {
    const out = await session.read([{ address: '1', quantity }], AbortSignal.timeout(5_000));
    return out.flatMap((o) => (o.ok ? [o.reading.value] : []));
  } finally {
    await session.close();
  }
}

function never(): never {
  throw new Error('unreachable in this test');
}
