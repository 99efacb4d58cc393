import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttAdapter, type MqttAdapterOptions, type MqttProblem } from '../../../protocols/mqtt/adapter.js';
import { isQuantity } from '../../../src/domain/quantity.js';
import { startAedes, type TestBroker } from '../../helpers/aedes.js';
import { waitFor } from './scenarios.js';

const base: MqttAdapterOptions = {
  url: 'mqtt://127.0.0.1:1',
  clientId: 'gridhead-test',
  topicPrefix: 'gridhead/v1',
  deadLetterTopic: 'gridhead/v1/_deadletter',
  maxPayloadBytes: 4096,
  maxReadingsPerMessage: 100,
  acceptQuantity: isQuantity,
  reconnectPeriodMs: 50,
};

let closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

function adapter(options: Partial<MqttAdapterOptions> = {}): MqttAdapter {
  const a = new MqttAdapter({ ...base, ...options });
  closers.push(() => a.close());
  return a;
}

describe('MqttAdapter', () => {
  it('refuses on-demand reads: MQTT terminals are push-only (their sessions only send commands)', async () => {
    const a = adapter();
    const session = await a.open({ id: 'T1', endpoint: {} }, new AbortController().signal);
    const [outcome] = await session.read([{ address: '1', quantity: 'power.active' }], new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_OPERATION', terminalId: 'T1' } });
    await session.close();
    await a.close();
  });

  it('refuses a dead-letter topic its own subscription would deliver back to it', () => {
    expect(() => new MqttAdapter({ ...base, deadLetterTopic: 'gridhead/v1/_dead/telemetry' })).toThrow(expect.objectContaining({ code: 'MQTT_OPTIONS' }));
    expect(() => new MqttAdapter({ ...base, deadLetterTopic: 'gridhead/#' })).toThrow(expect.objectContaining({ code: 'MQTT_OPTIONS' }));
  });

  it('refuses a sink hold that could outlast the keepalive', () => {
    expect(() => new MqttAdapter({ ...base, keepaliveSec: 10, sinkTimeoutMs: 5_000, sinkMaxAttempts: 2 })).toThrow(expect.objectContaining({ code: 'MQTT_OPTIONS' }));
  });

  it('refuses a second subscription and any after close', async () => {
    const a = adapter();
    a.subscribe({ readings: () => undefined });
    expect(() => a.subscribe({ readings: () => undefined })).toThrow(expect.objectContaining({ code: 'ADAPTER_STATE' }));
    await a.close();
    expect(() => a.subscribe({ readings: () => undefined })).toThrow(expect.objectContaining({ code: 'ADAPTER_STATE' }));
  });

  it('reports an unreachable broker, keeps retrying, and still closes promptly', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => { resolve(); })); // nothing listens there now
    const problems: MqttProblem[] = [];
    const a = adapter({ url: `mqtt://127.0.0.1:${port}`, onProblem: (p) => problems.push(p) });
    a.subscribe({ readings: () => undefined });
    await waitFor(() => problems.length >= 2 && a.stats().reconnects >= 1, 'connection errors and a reconnect');
    expect(problems[0]).toMatchObject({ terminalId: null, code: 'BROKER_ERROR' });
    const gaveUp = new AbortController();
    const waiting = a.whenSubscribed(gaveUp.signal);
    gaveUp.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ADAPTER_STATE' });
    await a.close();
  });

  describe('against a broker that refuses the subscription', () => {
    let broker: TestBroker;

    it('rejects whenSubscribed with SUBSCRIBE_REFUSED and reports it', async () => {
      broker = await startAedes({ authorizeSubscribe: (_client, _sub, callback) => { callback(null, null); } });
      closers.push(() => broker.close());
      const problems: MqttProblem[] = [];
      const a = adapter({ url: broker.url, onProblem: (p) => problems.push(p) });
      a.subscribe({ readings: () => undefined });
      await expect(a.whenSubscribed()).rejects.toMatchObject({ code: 'SUBSCRIBE_REFUSED' });
      expect(problems.map((p) => p.code)).toContain('SUBSCRIBE_REFUSED');
    });
  });
});
