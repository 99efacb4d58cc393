/**
 * Head-ends that share the device stream through an MQTT shared subscription, as sharded
 * nodes do: the telemetry adapter and the DLMS push subscriber, two of each in one group,
 * each with its own persistent session, through Debian's mosquitto (aedes has no shared
 * subscriptions). Every message reaches exactly one of them, and both take a share; one that
 * is stopped leaves the group, or the broker would go on queuing a share for its session.
 *
 * Skipped, with the reason printed, without mosquitto.
 */
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DlmsPushMqttSubscriber, dlmsNotifyTopic } from '../../protocols/dlms/net/pushMqtt.js';
import { MqttAdapter } from '../../protocols/mqtt/adapter.js';
import { encodeTelemetry } from '../../protocols/mqtt/payload.js';
import { telemetryTopic } from '../../protocols/mqtt/topics.js';
import { isQuantity } from '../../src/domain/quantity.js';
import type { TestBroker } from '../helpers/aedes.js';
import { eventually } from '../helpers/headend.js';
import { mosquittoPath, startMosquitto } from '../helpers/mosquitto.js';

const binary = mosquittoPath();
if (binary === null) console.warn('skipping the shared subscription tests: mosquitto is not installed (apt-get install mosquitto)');

const PREFIX = 'gridhead/v1';
const MESSAGES = 40;

describe.skipIf(binary === null)('shared subscriptions through mosquitto', () => {
  let broker: TestBroker;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker.close();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function publisher(): Promise<mqtt.MqttClient> {
    const client = await mqtt.connectAsync(broker.url, { clientId: `pub-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 });
    closers.push(() => client.endAsync());
    return client;
  }

  it('hands each telemetry message to one adapter of the group', async () => {
    const received: number[][] = [[], []];
    for (const [i, node] of ['node-a', 'node-b'].entries()) await member(node, received[i] ?? []).whenSubscribed(AbortSignal.timeout(5_000));
    const client = await publisher();
    for (let v = 0; v < MESSAGES; v++) {
      await client.publishAsync(telemetryTopic(PREFIX, 'T-1'), encodeTelemetry({ ts: Date.now(), meters: [{ address: '1', values: { 'power.active': v } }] }), { qos: 1 });
    }
    await eventually(() => Promise.resolve((received[0]?.length ?? 0) + (received[1]?.length ?? 0) >= MESSAGES ? true : undefined), 10_000, 'every message');
    const all = [...(received[0] ?? []), ...(received[1] ?? [])].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: MESSAGES }, (_, v) => v));
    expect(received.every((r) => r.length > 0)).toBe(true);
  });

  function member(node: string, received: number[]): MqttAdapter {
    const adapter = new MqttAdapter({
      url: broker.url, clientId: `gridhead-headend-${node}`, shareGroup: 'gridhead', topicPrefix: PREFIX, deadLetterTopic: 'gridhead/_deadletter',
      maxPayloadBytes: 4096, maxReadingsPerMessage: 100, acceptQuantity: isQuantity, commandClientId: `gridhead-headend-${node}-cmd`,
    });
    closers.push(() => adapter.close());
    adapter.subscribe({ readings: (batch) => { for (const r of batch) received.push(r.value); } });
    return adapter;
  }

  it('leaves the group when stopped, so the members still there receive the whole stream, not a share of it', async () => {
    const stays: number[] = [];
    const leaves: number[] = [];
    await member('node-c', stays).whenSubscribed(AbortSignal.timeout(5_000));
    const leaving = member('node-d', leaves);
    await leaving.whenSubscribed(AbortSignal.timeout(5_000));
    await leaving.close();
    const client = await publisher();
    for (let v = 0; v < MESSAGES; v++) {
      await client.publishAsync(telemetryTopic(PREFIX, 'T-2'), encodeTelemetry({ ts: Date.now(), meters: [{ address: '1', values: { 'power.active': v } }] }), { qos: 1 });
    }
    await eventually(() => Promise.resolve(stays.length >= MESSAGES ? true : undefined), 10_000, 'every message at the member still there');
    expect(stays).toEqual(Array.from({ length: MESSAGES }, (_, v) => v));
    expect(leaves).toEqual([]);
  });

  it('hands each DLMS push to one subscriber of the group', async () => {
    const received: number[][] = [[], []];
    for (const [i, node] of ['node-a', 'node-b'].entries()) {
      const subscriber = new DlmsPushMqttSubscriber({
        url: broker.url, clientId: `gridhead-headend-${node}-dlms-push`, shareGroup: 'gridhead', topicPrefix: PREFIX,
        onApdu: (apdu) => { received[i]?.push(apdu[0] ?? -1); },
      });
      closers.push(() => subscriber.close());
      await subscriber.start(AbortSignal.timeout(5_000));
    }
    const client = await publisher();
    for (let v = 0; v < MESSAGES; v++) await client.publishAsync(dlmsNotifyTopic(PREFIX, 'T-1'), Buffer.from([v, 0x0f]), { qos: 1 });
    await eventually(() => Promise.resolve((received[0]?.length ?? 0) + (received[1]?.length ?? 0) >= MESSAGES ? true : undefined), 10_000, 'every push');
    const all = [...(received[0] ?? []), ...(received[1] ?? [])].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: MESSAGES }, (_, v) => v));
    expect(received.every((r) => r.length > 0)).toBe(true);
  });
});
