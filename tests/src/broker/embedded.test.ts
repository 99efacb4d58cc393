/**
 * The embedded broker against real mqtt.js clients and raw sockets: who may connect, publish
 * and subscribe, that the station's sessions cannot be taken, that an oversize packet is
 * refused before it is buffered, and that refusals are logged, throttled.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import { generate } from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CREDENTIALS_FILE, loadBrokerCredentials, type BrokerCredentials } from '../../../src/broker/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/broker/embedded.js';
import { createLogger } from '../../../src/observe/logger.js';

const PREFIX = 'gridhead/v1';
const MAX_PACKET = 64 * 1024;

let dataDir: string;
let credentials: BrokerCredentials;
let broker: EmbeddedBroker;
let logLines: { msg: string; refused?: string; reason?: string; suppressed?: number }[];
const clients: MqttClient[] = [];

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gridhead-broker-'));
  credentials = loadBrokerCredentials(dataDir);
  logLines = [];
  const sink = new Writable({ write(chunk: Buffer, _e, done) { for (const l of chunk.toString().split('\n')) if (l !== '') logLines.push(JSON.parse(l) as never); done(); } });
  broker = await startEmbeddedBroker({
    host: '127.0.0.1', port: 0, maxPacketBytes: MAX_PACKET, credentials,
    access: { topicPrefix: PREFIX, stationClientId: 'gridhead-headend' },
    isSimulated: (id) => id.startsWith('sim-'),
    logger: createLogger('warn', sink),
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function client(options: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }).then((c) => {
    clients.push(c);
    return c;
  });
}
const station = (clientId = 'gridhead-headend') => client({ clientId, ...credentials.station });
const terminal = (id: string, clientId = `t-${id}`) => client({ clientId, username: id, password: credentials.simulatorPassword(id) });
/** Resolves with the close of `c` or undefined if it stayed open for `ms`. */
const closes = (c: MqttClient, ms = 2_000) => new Promise<true | undefined>((resolve) => {
  const t = setTimeout(() => { resolve(undefined); }, ms);
  c.once('close', () => { clearTimeout(t); resolve(true); });
});
const connackCode = async (options: mqtt.IClientOptions): Promise<number | undefined> => {
  try {
    await client(options);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
};

describe('embedded broker credentials', () => {
  it('keeps generated credentials in the data directory with mode 0600, the same across restarts', () => {
    const file = join(dataDir, CREDENTIALS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadBrokerCredentials(dataDir).station).toEqual(credentials.station);
    expect(credentials.station.password.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses a connection without credentials or with a wrong password', async () => {
    expect(await connackCode({ clientId: 'anon' })).toBe(4);
    expect(await connackCode({ clientId: 'wrong', username: credentials.station.username, password: 'not-the-password' })).toBe(4);
    expect(await connackCode({ clientId: 'not-sim', username: 'T-1', password: credentials.simulatorPassword('T-1') })).toBe(4);
    expect(broker.stats().refused.connect).toBe(3);
  });

  it('accepts a real terminal added to the credentials file, without a restart', async () => {
    const file = join(dataDir, CREDENTIALS_FILE);
    const content = JSON.parse(readFileSync(file, 'utf8')) as { terminals: Record<string, string> };
    content.terminals['T-0001'] = `sha256:${createHash('sha256').update('a-long-terminal-password-0001').digest('hex')}`;
    writeFileSync(file, JSON.stringify(content));
    const c = await client({ clientId: 'field-T-0001', username: 'T-0001', password: 'a-long-terminal-password-0001' });
    expect(c.connected).toBe(true);
    expect(await connackCode({ clientId: 'field-T-0001b', username: 'T-0001', password: 'another-password-entirely' })).toBe(4);
  });
});

describe('embedded broker ACL', () => {
  it('delivers a terminal\'s publish under its own prefix to the station', async () => {
    const s = await station();
    await s.subscribeAsync(`${PREFIX}/+/telemetry`, { qos: 1 });
    const got = new Promise<string>((resolve) => s.once('message', (topic) => { resolve(topic); }));
    const t = await terminal('sim-mq-01');
    await t.publishAsync(`${PREFIX}/sim-mq-01/telemetry`, '{}', { qos: 1 });
    expect(await got).toBe(`${PREFIX}/sim-mq-01/telemetry`);
  });

  it('closes a terminal that publishes under another terminal\'s prefix or the alarm topics, and delivers nothing', async () => {
    const s = await station();
    const seen: string[] = [];
    s.on('message', (topic) => seen.push(topic));
    await s.subscribeAsync('#', { qos: 1 });
    for (const topic of [`${PREFIX}/sim-mq-02/telemetry`, `${PREFIX}/_alarms/critical/meter/m1`, `${PREFIX}/_deadletter`]) {
      const t = await terminal('sim-mq-01', `t-${topic.length}`);
      const closed = closes(t);
      t.publish(topic, 'forged', { qos: 1 });
      expect(await closed, topic).toBe(true);
    }
    // The station's own publish still flows; the forged ones never arrived before it.
    await s.publishAsync(`${PREFIX}/_alarms/info/meter/m1`, 'real', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([`${PREFIX}/_alarms/info/meter/m1`]);
    expect(broker.stats().refused.publish).toBe(3);
  });

  it('refuses a terminal\'s subscription outside its own prefix with SUBACK 0x80', async () => {
    const t = await terminal('sim-mq-01');
    const [own] = await t.subscribeAsync(`${PREFIX}/sim-mq-01/cmd`, { qos: 1 });
    expect(own?.qos).toBe(1);
    await expect(t.subscribeAsync(`${PREFIX}/+/telemetry`, { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
    await expect(t.subscribeAsync(`${PREFIX}/_alarms/#`, { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
    expect(t.connected).toBe(true);
    expect(broker.stats().refused.subscribe).toBe(2);
  });
});

describe('embedded broker client ids', () => {
  it('keeps the station\'s client ids to the station: a terminal cannot take over its session', async () => {
    const s = await station();
    const stationClosed = closes(s, 1_000);
    expect(await connackCode({ clientId: 'gridhead-headend', username: 'sim-mq-01', password: credentials.simulatorPassword('sim-mq-01') })).toBe(2);
    expect(await connackCode({ clientId: 'gridhead-headend-alarms', username: 'sim-mq-01', password: credentials.simulatorPassword('sim-mq-01') })).toBe(2);
    expect(await stationClosed).toBeUndefined();
    expect(s.connected).toBe(true);
  });

  it('refuses a client id in use by another identity, and lets the same identity reconnect', async () => {
    await terminal('sim-mq-01', 'shared-id');
    expect(await connackCode({ clientId: 'shared-id', username: 'sim-mq-02', password: credentials.simulatorPassword('sim-mq-02') })).toBe(2);
    const again = await terminal('sim-mq-01', 'shared-id');
    expect(again.connected).toBe(true);
  });
});

describe('embedded broker packet size', () => {
  it('closes a connection announcing a packet over the limit before buffering it', async () => {
    const announced = 250 * 1024 * 1024;
    const rssBefore = process.memoryUsage().rss;
    const socket = connectTcp(broker.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // An authenticated terminal, as in the field trial: CONNECT, CONNACK 0, then the oversize PUBLISH.
    socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'big-sender', username: 'sim-mq-01', password: Buffer.from(credentials.simulatorPassword('sim-mq-01')) }));
    const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    expect([...connack]).toEqual([0x20, 0x02, 0x00, 0x00]);
    const closed = new Promise<void>((resolve) => socket.once('close', () => { resolve(); }));
    socket.on('error', () => undefined);
    // PUBLISH QoS 0 whose Remaining Length (MQTT 3.1.1 §2.2.3) announces 250 MB, then body bytes in 1 MiB chunks.
    const header = Buffer.from([0x30, ...remainingLength(announced)]);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    socket.write(header);
    const link = { open: true };
    void closed.then(() => { link.open = false; });
    while (link.open && sent < 100 * 1024 * 1024) {
      const more = socket.write(chunk);
      sent += chunk.length;
      if (!more) await new Promise<void>((resolve) => { socket.once('drain', resolve); socket.once('close', resolve); });
    }
    const closedByBroker = !link.open;
    const grown = process.memoryUsage().rss - rssBefore;
    socket.destroy();
    await closed;
    expect(closedByBroker).toBe(true);
    expect(broker.stats().refused['packet-too-large']).toBe(1);
    // Without the bound the parser holds every byte sent (up to 100 MiB) waiting for the rest.
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });

  it('passes packets up to the limit', async () => {
    const s = await station();
    await s.subscribeAsync(`${PREFIX}/sim-mq-01/telemetry`, { qos: 1 });
    const got = new Promise<number>((resolve) => s.once('message', (_t, p) => { resolve(p.length); }));
    const t = await terminal('sim-mq-01');
    await t.publishAsync(`${PREFIX}/sim-mq-01/telemetry`, Buffer.alloc(MAX_PACKET - 100), { qos: 1 });
    expect(await got).toBe(MAX_PACKET - 100);
  });
});

describe('embedded broker refusal log', () => {
  it('logs a refused client once a minute, counting what it held back', async () => {
    for (let i = 0; i < 5; i++) await connackCode({ clientId: `bad-${i}`, username: 'intruder', password: 'guess' });
    const lines = logLines.filter((l) => l.refused === 'connect');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.reason).toBe('bad user name or password');
    expect(broker.stats().refused.connect).toBe(5);
  });
});

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}
