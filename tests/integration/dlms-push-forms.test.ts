/**
 * Pushes in each of the three forms the Blue Book allows (IC 40 push_object_list): one that
 * describes itself, one that names its push setup, one that carries neither. Simulated meters
 * push each form plain and general-glo-ciphered to the head-end's push intake over a real TCP
 * socket; the intake reads an unknown list from the meter through the terminal's collection
 * lane, remembers it in the embedded store across a restart, and keeps every push it cannot
 * read as a dead letter with its bytes (embedded store for TCP, dead-letter topic for MQTT).
 */
import { connect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlmsNotifyTopic } from '../../protocols/dlms/net/pushMqtt.js';
import { MemoryPushSecurity } from '../../protocols/dlms/push/memorySecurity.js';
import { encodePushNotification } from '../../protocols/dlms/push/notification.js';
import { INTERVAL_PUSH_LIST } from '../../protocols/dlms/push/pushObjects.js';
import { encodeWrapper } from '../../protocols/dlms/wrapper/wrapper.js';
import { pushListIn, type PushForm } from '../../simulators/dlms/meterObjects.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { startAedes, type TestBroker } from '../helpers/aedes.js';
import { PushTestDirectory, startPushIntake, type PushIntake } from '../helpers/dlmsPushIntake.js';
import { eventually } from '../helpers/headend.js';
import { freePort } from '../helpers/victoriaMetrics.js';

const T0 = Date.UTC(2024, 5, 3, 10, 0, 0);
const clock = () => T0;
const KEYS = { ek: Uint8Array.from(Buffer.from('000102030405060708090A0B0C0D0E0F', 'hex')), ak: Uint8Array.from(Buffer.from('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', 'hex')) };
const FORMS: readonly PushForm[] = ['self-describing', 'push-setup-name', 'bare'];
const ENERGY = 'energy.active.import';

interface Sim { readonly id: string; readonly form: PushForm; readonly ciphered: boolean; readonly sim: DlmsMeterSimulator }

const sims: Sim[] = FORMS.flatMap((form, i) => [false, true].map((ciphered) => {
  const n = 21 + i * 2 + (ciphered ? 1 : 0);
  const serial = `000000${n}`;
  return {
    id: `${form}-${ciphered ? 'ciphered' : 'plain'}`, form, ciphered,
    sim: new DlmsMeterSimulator({
      framing: 'wrapper', seed: n, serialNumber: serial, startTs: T0, clock, historyDays: 0, pushForm: form,
      push: { terminalId: `${form}-${ciphered ? 'ciphered' : 'plain'}` },
      ...(ciphered ? { security: { systemTitle: titleOf(n), keys: KEYS, protection: 'auth-enc' as const } } : {}),
    }),
  };
}));

function titleOf(n: number): Uint8Array {
  return Uint8Array.from(Buffer.from(`GRD000${n}`, 'latin1'));
}

const directory = new PushTestDirectory();

function register(id: string, port: number, logicalDeviceName: string): void {
  // Polled over the management client's plain LLS association (the intake's adapter holds no HLS keys).
  directory.add(id, { port, logicalDeviceName });
}

const security = new MemoryPushSecurity();
let db: Db;
let intake: PushIntake;
let broker: TestBroker;
/** A port nothing listens on: a terminal registered there cannot be read. */
let deadPort: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  for (const [i, s] of sims.entries()) {
    const { port } = await s.sim.start();
    const n = 21 + i;
    register(s.id, port, `GRD000000${n}`);
    if (s.ciphered) security.add(titleOf(n), `${s.id}-1`, KEYS);
  }
  deadPort = await freePort();
  register('unreachable', deadPort, 'GRD00000099');
  broker = await startAedes();
  db = openDatabase(':memory:');
  intake = await startPushIntake({ directory, security, db, password: '12345678', mqtt: { url: broker.url, deadLetterTopic: 'gridhead/v1/_deadletter' } });
}, 30_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.allSettled(sims.map((s) => s.sim.stop()));
  await intake.close();
  db.close();
  await broker.close();
});

const pushedBy = (p: PushIntake, id: string) => p.readings.filter((r) => r.terminalId === id);

async function pushFrom(p: PushIntake, s: Sim): Promise<void> {
  s.sim.setPushDestination({ transport: 'tcp', host: '127.0.0.1', port: p.service.tcpPort ?? 0 });
  s.sim.pushes.push('interval');
  await eventually(async () => Promise.resolve(pushedBy(p, s.id).length >= 3 ? true : undefined), 15_000, `the push of ${s.id}`);
}

describe('DLMS pushes in the three forms the Blue Book allows', () => {
  it('reads each form, plain and ciphered, as the values a poll of the same instant reads', async () => {
    for (const s of sims) {
      await pushFrom(intake, s);
      const got = pushedBy(intake, s.id);
      expect(got.map((r) => r.quantity).sort(), s.id).toEqual([ENERGY, 'power.active', 'voltage.l1']);
      for (const r of got) expect(r, s.id).toMatchObject({ address: '1', ts: T0 });
      const polled = await intake.scheduler.pollNow(s.id, { quantities: [ENERGY, 'voltage.l1'] });
      for (const q of [ENERGY, 'voltage.l1']) {
        expect(got.find((r) => r.quantity === q)?.value, `${s.id} ${q}`).toBe(polled.readings.find((r) => r.quantity === q)?.value);
      }
    }
    expect(intake.service.receiver.counters.lists).toEqual({ described: 2, known: 2, learnt: 0, read: 2 });
    expect(intake.service.receiver.counters.deadLettered).toBe(0);
    expect(intake.problems).toEqual([]);
  }, 60_000);

  it('reads an unknown list from the meter through its collection lane, on the session polling uses', async () => {
    // The two bare meters' lists were read, once each, and every request to a terminal (list,
    // scalers, the poll above) went over the one session its lane opened.
    expect(intake.service.learner.counters).toEqual({ reads: 2, readFailures: 0, refused: 0 });
    expect(intake.scheduler.counters().sessionOpens).toBe(sims.length);
    const rows = db.prepare('SELECT meter_key FROM dlms_push_lists ORDER BY meter_key').all() as { meter_key: string }[];
    expect(rows.map((r) => r.meter_key)).toEqual(['bare-ciphered/1', 'bare-plain/1']);
    expect(await intake.service.learner.lists('bare-plain', '1')).toContainEqual(pushListIn('bare', INTERVAL_PUSH_LIST));
  });

  it('remembers the learnt lists across a restart and reads no meter for them again', async () => {
    await intake.close();
    intake = await startPushIntake({ directory, security, db, password: '12345678', mqtt: { url: broker.url, deadLetterTopic: 'gridhead/v1/_deadletter' } });
    for (const s of sims.filter((x) => x.form === 'bare')) await pushFrom(intake, s);
    expect(intake.service.receiver.counters.lists).toMatchObject({ learnt: 2, read: 0 });
    expect(intake.service.learner.counters.reads).toBe(0);
  }, 30_000);

  it('keeps a push whose list cannot be read from its meter as a dead letter with its bytes', async () => {
    const values = sims[4]?.sim.meter.pushValues('interval', T0) ?? [];
    values[0] = { type: 'octet-string', value: new TextEncoder().encode('GRD00000099') };
    const apdu = encodePushNotification({ list: pushListIn('bare', INTERVAL_PUSH_LIST), values });
    (await rawConnection()).write(encodeWrapper({ source: 1, destination: 0x66, apdu }));
    const letter = await eventually(async () => (await intake.service.deadLetters.list({ limit: 1 }))[0], 15_000, 'the dead letter');
    expect(letter).toMatchObject({ origin: 'tcp', terminalId: 'unreachable', code: 'list-read-failed' });
    expect(Buffer.from(letter.apdu).equals(Buffer.from(apdu))).toBe(true);
    expect(intake.service.learner.counters.readFailures).toBe(1);
  }, 30_000);

  it('keeps a ciphered push no key deciphers as a dead letter: over TCP in the store, over MQTT on the dead-letter topic', async () => {
    const stranger = Uint8Array.from(Buffer.from('5354520000000001', 'hex'));
    const values = sims[1]?.sim.meter.pushValues('interval', T0) ?? [];
    const apdu = encodePushNotification({ list: INTERVAL_PUSH_LIST, values }, { systemTitle: stranger, keys: KEYS, protection: 'auth-enc', invocationCounter: 7 });
    (await rawConnection()).write(encodeWrapper({ source: 1, destination: 0x66, apdu }));
    const stored = await eventually(async () => (await intake.service.deadLetters.list({ limit: 10 })).find((d) => d.code === 'unknown-sender'), 15_000, 'the TCP dead letter');
    expect(stored.sender).toBe('5354520000000001');
    expect(Buffer.from(stored.apdu).equals(Buffer.from(apdu))).toBe(true);

    const watcher = await mqtt.connectAsync(broker.url, { clientId: 'dead-letter-watcher' });
    try {
      const letters: { code: string; reason: string; terminalId: string | null; payloadBase64: string; topic: string }[] = [];
      watcher.on('message', (_topic, payload) => { letters.push(JSON.parse(payload.toString()) as (typeof letters)[number]); });
      await watcher.subscribeAsync('gridhead/v1/_deadletter', { qos: 1 });
      await watcher.publishAsync(dlmsNotifyTopic('gridhead/v1', 'bare-plain'), Buffer.from(apdu), { qos: 1 });
      const letter = await eventually(async () => Promise.resolve(letters[0]), 15_000, 'the MQTT dead letter');
      expect(letter).toMatchObject({ code: 'unknown-sender', terminalId: null, topic: 'gridhead/v1/bare-plain/dlms/notify' });
      expect(letter.reason).toContain('5354520000000001');
      expect(Buffer.from(letter.payloadBase64, 'base64').equals(Buffer.from(apdu))).toBe(true);
    } finally {
      await watcher.endAsync(true);
    }
  }, 30_000);
});

async function rawConnection(): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port: intake.service.tcpPort ?? 0 });
  sockets.push(s);
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.once('connect', () => { resolve(); }));
  return s;
}
