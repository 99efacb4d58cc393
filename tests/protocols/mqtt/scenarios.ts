/**
 * End-to-end scenarios of the MQTT adapter and simulator, run against any broker:
 * tests/integration/mqtt.aedes.test.ts and tests/integration/mqtt.mosquitto.test.ts.
 * Each test uses its own topic prefix and client ids, so tests sharing a broker never
 * see each other's retained statuses or sessions.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, expect, it as vitestIt } from 'vitest';
import type { PushSink, RawReading } from '../../../protocols/adapter.js';
import { MqttAdapter, type MqttAdapterOptions, type MqttProblem } from '../../../protocols/mqtt/adapter.js';
import type { DeadLetterRecord } from '../../../protocols/mqtt/deadLetter.js';
import { encodeTelemetry } from '../../../protocols/mqtt/payload.js';
import { telemetryTopic } from '../../../protocols/mqtt/topics.js';
import { MeterModel } from '../../../simulators/loadShape.js';
import { catalogueValues, MqttTerminalSimulator } from '../../../simulators/mqtt/terminal.js';
import { isQuantity } from '../../../src/domain/quantity.js';
import type { TestBroker } from '../../helpers/aedes.js';

/** What a simulated terminal publishes for each meter: every meter quantity of the catalogue. */
const PUBLISHED = Object.keys(catalogueValues(new MeterModel({ seed: 1, startTs: 0 }).advance(0)));

/** `startBroker` null: the broker binary is absent and every scenario is skipped. */
export function mqttScenarios(startBroker: (() => Promise<TestBroker>) | null): void {
  const it = vitestIt.skipIf(startBroker === null);
  let broker: TestBroker | undefined;
  let closers: (() => Promise<unknown>)[] = [];
  let n = 0;
  let prefix = '';
  let deadLetterTopic = '';

  beforeAll(async () => {
    broker = await startBroker?.();
  });
  afterAll(async () => {
    await broker?.close();
  });

  function url(): string {
    if (broker === undefined) throw new Error('no broker');
    return broker.url;
  }
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    closers = [];
  });

  function nextPrefix(): void {
    n += 1;
    prefix = `t${n}-${process.pid}/v1`;
    deadLetterTopic = `t${n}-${process.pid}/_deadletter`;
  }

  function adapter(overrides: Partial<MqttAdapterOptions> & { clientId: string }): MqttAdapter {
    const a = new MqttAdapter({
      url: url(),
      topicPrefix: prefix,
      deadLetterTopic,
      maxPayloadBytes: 2048,
      maxReadingsPerMessage: 5000,
      acceptQuantity: isQuantity,
      reconnectPeriodMs: 100,
      ...overrides,
    });
    closers.push(() => a.close());
    return a;
  }

  function simulator(terminalId: string, meters: number | string[], clock?: () => number): MqttTerminalSimulator {
    const sim = new MqttTerminalSimulator({ url: url(), terminalId, meters, seed: 42, publishIntervalMs: 3_600_000, prefix, ...(clock ? { clock } : {}) });
    closers.push(() => sim.stop());
    return sim;
  }

  async function rawClient(): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url(), { clientId: `raw-${n}-${Math.random().toString(36).slice(2, 8)}`, clean: true, reconnectPeriod: 0 });
    closers.push(() => client.endAsync());
    return client;
  }

  async function publishValues(client: MqttClient, terminalId: string, values: number[]): Promise<void> {
    for (const value of values) {
      const payload = encodeTelemetry({ ts: Date.now(), meters: [{ address: '1', values: { 'energy.active.import': value } }] });
      await client.publishAsync(telemetryTopic(prefix, terminalId), payload, { qos: 1 });
    }
  }

  function collector() {
    const readings: RawReading[] = [];
    const statuses: [string, boolean][] = [];
    const sink: PushSink = {
      readings: (batch) => { readings.push(...batch); },
      status: (id, online) => { statuses.push([id, online]); },
    };
    return { readings, statuses, sink };
  }

  it('delivers a simulated terminal readings with the device timestamps', async () => {
    nextPrefix();
    const { readings, statuses, sink } = collector();
    const headend = adapter({ clientId: `he-${n}` });
    headend.subscribe(sink);
    await headend.whenSubscribed();
    const deviceTs = Date.now() - 3_600_000; // the terminal's clock runs an hour behind
    await simulator('T-100', ['7', '8'], () => deviceTs).start();

    await waitFor(() => readings.length >= 2 * PUBLISHED.length, 'both meters readings');
    expect(new Set(readings.map((r) => r.address))).toEqual(new Set(['7', '8']));
    for (const address of ['7', '8']) {
      expect(readings.filter((r) => r.address === address).map((r) => r.quantity).sort()).toEqual([...PUBLISHED].sort());
    }
    expect(readings.every((r) => r.terminalId === 'T-100' && r.ts === deviceTs && Number.isFinite(r.value))).toBe(true);
    await waitFor(() => statuses.length > 0, 'birth status');
    expect(statuses).toContainEqual(['T-100', true]);
    expect(headend.stats()).toMatchObject({ readings: readings.length, malformed: 0, sinkErrors: 0 });
  });

  it('dead-letters garbage with the right code, counts it, and still delivers the next good message', async () => {
    nextPrefix();
    const problems: MqttProblem[] = [];
    const { readings, sink } = collector();
    const headend = adapter({ clientId: `he-${n}`, onProblem: (p) => problems.push(p) });
    headend.subscribe(sink);
    await headend.whenSubscribed();
    const watcher = await rawClient();
    const deadLetters: DeadLetterRecord[] = [];
    watcher.on('message', (_topic, payload) => deadLetters.push(JSON.parse(payload.toString()) as DeadLetterRecord));
    await watcher.subscribeAsync(deadLetterTopic, { qos: 1 });

    const publisher = await rawClient();
    const huge = Buffer.alloc(8000, 0x20);
    const sent: [string, string | Buffer][] = [
      [telemetryTopic(prefix, 'T1'), 'this is not json'],
      [telemetryTopic(prefix, 'T1'), JSON.stringify({ v: 1, ts: Date.now(), meters: {} })],
      [telemetryTopic(prefix, 'T1'), JSON.stringify({ v: 1, ts: Date.now(), meters: [{ address: '1', values: { 'power.apparent': 1 } }] })],
      [telemetryTopic(prefix, 'T1'), huge],
      [`${prefix}/bad id/telemetry`, encodeTelemetry({ ts: Date.now(), meters: [] })],
    ];
    for (const [topic, payload] of sent) await publisher.publishAsync(topic, payload, { qos: 1 });
    await publishValues(publisher, 'T1', [123.5]);

    await waitFor(() => readings.length === 1 && deadLetters.length === 5, 'good reading and five dead letters');
    expect(readings[0]).toMatchObject({ terminalId: 'T1', quantity: 'energy.active.import', value: 123.5 });
    expect(deadLetters.map((d) => d.code)).toEqual(['INVALID_JSON', 'INVALID_SHAPE', 'UNKNOWN_QUANTITY', 'TOO_LARGE', 'INVALID_TERMINAL_ID']);
    expect(deadLetters.map((d) => d.terminalId)).toEqual(['T1', 'T1', 'T1', 'T1', null]);
    expect(Buffer.from(deadLetters[0]!.payloadBase64, 'base64').toString()).toBe('this is not json');
    expect(deadLetters[3]).toMatchObject({ truncated: true, topic: telemetryTopic(prefix, 'T1') });
    expect(Buffer.from(deadLetters[3]!.payloadBase64, 'base64')).toEqual(huge.subarray(0, 4096));
    expect(problems.map((p) => p.code)).toEqual(deadLetters.map((d) => d.code));
    expect(headend.stats()).toMatchObject({ messages: 6, readings: 1, malformed: 5, deadLettered: 5, sinkErrors: 0 });
  });

  it('announces birth on connect and the last will when the terminal vanishes, retained for late subscribers', async () => {
    nextPrefix();
    const { statuses, sink } = collector();
    const headend = adapter({ clientId: `he-${n}` });
    headend.subscribe(sink);
    await headend.whenSubscribed();
    const sim = simulator('T-200', 1);
    await sim.start();
    await waitFor(() => statuses.some(([, online]) => online), 'birth');
    await sim.crash();
    await waitFor(() => statuses.length >= 2, 'last will');
    expect(statuses).toEqual([['T-200', true], ['T-200', false]]);

    const late = collector();
    const second = adapter({ clientId: `he-${n}-late` });
    second.subscribe(late.sink);
    await waitFor(() => late.statuses.length > 0, 'retained status');
    expect(late.statuses).toEqual([['T-200', false]]);
  });

  it('keeps several messages in flight, hands them over in order, and stops reading once the window is full', async () => {
    nextPrefix();
    const delivered: number[] = [];
    const releases: (() => void)[] = [];
    const headend = adapter({ clientId: `he-${n}`, maxInflightMessages: 3 });
    headend.subscribe({
      readings: (batch) => {
        delivered.push(...batch.map((r) => r.value));
        return new Promise<void>((resolve) => { releases.push(resolve); });
      },
    });
    await headend.whenSubscribed();
    const publisher = await rawClient();
    await publishValues(publisher, 'T1', [1, 2, 3, 4, 5, 6]);
    await waitFor(() => delivered.length === 3, 'a full window');
    await new Promise((resolve) => setTimeout(resolve, 300)); // give a wrong adapter the chance to take more
    expect(delivered).toEqual([1, 2, 3]);
    expect(headend.stats().inflight).toBe(3);

    // The second commit completing first frees nothing: PUBACKs go out in order (MQTT 3.1.1 §4.6).
    releases[1]?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(delivered).toEqual([1, 2, 3]);
    releases[0]?.();
    await waitFor(() => delivered.length === 5, 'two more messages');
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
    for (const release of releases) release();
    await waitFor(() => delivered.length === 6, 'the last message');
    for (const release of releases) release();
    await waitFor(() => headend.stats().inflight === 0, 'every acknowledgement');
    expect(delivered).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('acknowledges only what the sink settled, in order: the broker redelivers the rest after a stop', async () => {
    nextPrefix();
    const clientId = `he-${n}`;
    const taken: number[] = [];
    const first = adapter({ clientId });
    const stop = first.subscribe({
      // 1 settles (committed), 2 is held, 3 settles but comes after 2: only 1 may be acknowledged.
      readings: (batch) => {
        const value = batch[0]?.value ?? 0;
        taken.push(value);
        return value === 2 ? new Promise<void>(() => undefined) : Promise.resolve();
      },
    });
    await first.whenSubscribed();
    const publisher = await rawClient();
    await publishValues(publisher, 'T1', [1, 2, 3]);
    await waitFor(() => taken.length === 3, 'three messages taken');
    await stop();

    const { readings, sink } = collector();
    const second = adapter({ clientId });
    second.subscribe(sink);
    await waitFor(() => readings.length === 2, 'redelivery');
    await new Promise((resolve) => setTimeout(resolve, 200)); // a wrongly unacknowledged 1 would arrive too
    expect(readings.map((r) => r.value)).toEqual([2, 3]);
  });

  it('does not acknowledge a message it was holding when stopped: the broker redelivers it', async () => {
    nextPrefix();
    const clientId = `he-${n}`;
    let held = false;
    const first = adapter({ clientId });
    const stop = first.subscribe({ readings: () => { held = true; return new Promise<void>(() => undefined); } });
    await first.whenSubscribed();
    const publisher = await rawClient();
    await publishValues(publisher, 'T1', [42]);
    await waitFor(() => held, 'message held');
    await stop();

    const { readings, sink } = collector();
    const second = adapter({ clientId });
    second.subscribe(sink);
    await waitFor(() => readings.length === 1, 'redelivery');
    expect(readings[0]).toMatchObject({ terminalId: 'T1', value: 42 });
  });

  it('keeps its session: messages published while it is away arrive after it reconnects', async () => {
    nextPrefix();
    const clientId = `he-${n}`;
    const first = adapter({ clientId });
    const stop = first.subscribe(collector().sink);
    await first.whenSubscribed();
    await stop();

    const publisher = await rawClient();
    await publishValues(publisher, 'T1', [10, 20, 30]);

    const { readings, sink } = collector();
    const second = adapter({ clientId });
    second.subscribe(sink);
    await waitFor(() => readings.length === 3, 'queued messages');
    expect(readings.map((r) => r.value)).toEqual([10, 20, 30]);
  });

  it('dead-letters a message the sink keeps rejecting and goes on with the next', async () => {
    nextPrefix();
    const accepted: number[] = [];
    const problems: MqttProblem[] = [];
    const headend = adapter({ clientId: `he-${n}`, sinkMaxAttempts: 2, sinkRetryDelayMs: 5, onProblem: (p) => problems.push(p) });
    headend.subscribe({
      readings: (batch) => {
        if (batch.some((r) => r.value === 1)) return Promise.reject<undefined>(new Error('refused by pipeline'));
        accepted.push(...batch.map((r) => r.value));
        return Promise.resolve();
      },
    });
    await headend.whenSubscribed();
    const watcher = await rawClient();
    const deadLetters: DeadLetterRecord[] = [];
    watcher.on('message', (_topic, payload) => deadLetters.push(JSON.parse(payload.toString()) as DeadLetterRecord));
    await watcher.subscribeAsync(deadLetterTopic, { qos: 1 });
    const publisher = await rawClient();
    await publishValues(publisher, 'T1', [1, 2]);

    await waitFor(() => accepted.length === 1 && deadLetters.length === 1, 'second message and the dead letter');
    expect(accepted).toEqual([2]);
    expect(deadLetters[0]).toMatchObject({ code: 'SINK_REJECTED', terminalId: 'T1', reason: 'refused by pipeline' });
    expect(problems.map((p) => p.code)).toEqual(['SINK_REJECTED', 'SINK_REJECTED']);
    expect(headend.stats()).toMatchObject({ sinkErrors: 2, deadLettered: 1, readings: 1 });
  });

  it('delivers every reading of a simulator burst, each message with its own timestamp', async () => {
    nextPrefix();
    const { readings, sink } = collector();
    const headend = adapter({ clientId: `he-${n}`, maxPayloadBytes: 64 * 1024 });
    headend.subscribe(sink);
    await headend.whenSubscribed();
    const sim = simulator('T-300', 3);
    await sim.start();
    await waitFor(() => readings.length === 3 * PUBLISHED.length, 'the first publish');
    const burst = await sim.publishBurst(40, { maxInflight: 8 });
    expect(burst.readings).toBe(40 * 3 * PUBLISHED.length);
    await waitFor(() => readings.length === 41 * 3 * PUBLISHED.length, 'the burst');
    // The burst's device times step 1 ms up to now, so the first publish may share one of
    // them when the burst follows it within 40 ms: count the burst's own timestamps.
    expect(new Set(readings.slice(3 * PUBLISHED.length).map((r) => r.ts)).size).toBe(40);
  });
}

/** Polls `condition` until true; fails with `what` after `limitMs` (a hang bound, not a speed check). */
export async function waitFor(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
