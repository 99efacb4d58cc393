/**
 * The DLMS-over-MQTT push subscriber acknowledges by the station's one rule (as the
 * telemetry adapter does): a failing handler is retried with backoff, then the push is
 * dead-lettered and acknowledged; a push interrupted by shutdown is not acknowledged and
 * comes back in the next session. Through a real broker (aedes).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DlmsPushMqttSubscriber, dlmsNotifyTopic, type DlmsPushMqttOptions } from '../../../../protocols/dlms/net/pushMqtt.js';
import type { DeadLetterRecord } from '../../../../protocols/mqtt/deadLetter.js';
import { startAedes, type TestBroker } from '../../../helpers/aedes.js';
import { eventually } from '../../../helpers/headend.js';

const PREFIX = 'gridhead/v1';
const DEAD = 'gridhead/v1/_deadletter';

let broker: TestBroker;
let gateway: MqttClient;
const deadLetters: DeadLetterRecord[] = [];
const subscribers: DlmsPushMqttSubscriber[] = [];

beforeEach(async () => {
  broker = await startAedes();
  deadLetters.length = 0;
  gateway = await mqtt.connectAsync(broker.url, { clientId: 'push-gateway', reconnectPeriod: 0 });
  gateway.on('message', (_topic, payload) => { deadLetters.push(JSON.parse(payload.toString('utf8')) as DeadLetterRecord); });
  await gateway.subscribeAsync(DEAD, { qos: 1 });
});

afterEach(async () => {
  for (const s of subscribers.splice(0)) await s.close();
  await gateway.endAsync(true);
  await broker.close();
});

async function subscriber(onApdu: DlmsPushMqttOptions['onApdu'], problems: string[] = []): Promise<DlmsPushMqttSubscriber> {
  const s = new DlmsPushMqttSubscriber({
    url: broker.url, clientId: 'push-subscriber', topicPrefix: PREFIX, deadLetterTopic: DEAD,
    sinkMaxAttempts: 3, sinkRetryDelayMs: 1, sinkTimeoutMs: 5_000,
    onApdu,
    onProblem: (code, detail) => { problems.push(`${code}: ${detail}`); },
  });
  subscribers.push(s);
  await s.start(AbortSignal.timeout(10_000));
  return s;
}

function push(terminalId: string, bytes: readonly number[]): Promise<unknown> {
  return gateway.publishAsync(dlmsNotifyTopic(PREFIX, terminalId), Buffer.from(bytes), { qos: 1 });
}

/**
 * What a new session of the same client receives first once a fresh push from T2 follows:
 * the broker redelivers what the last session left unacknowledged before it.
 */
async function nextSessionReceives(): Promise<string[]> {
  const got: string[] = [];
  await subscriber((apdu, origin) => { got.push(`${origin.terminalId}:${apdu[1]}`); });
  await push('T2', [0x0f, 2]);
  await eventually(async () => Promise.resolve(got.length > 0 ? true : undefined), 10_000, 'the next push');
  return got;
}

describe('DLMS push subscriber: acknowledgement', () => {
  it('retries a failing handler, then dead-letters the push on the dead-letter topic and acknowledges it', async () => {
    const calls: string[] = [];
    const problems: string[] = [];
    const first = await subscriber((apdu, origin) => {
      calls.push(`${origin.terminalId}:${apdu[0]}`);
      return Promise.reject(new Error('pipeline refused the batch'));
    }, problems);
    await push('T1', [0x0f, 1, 2, 3]);
    const [record] = await eventually(async () => Promise.resolve(deadLetters.length > 0 ? deadLetters : undefined), 10_000, 'the dead letter');
    expect(calls).toEqual(['T1:15', 'T1:15', 'T1:15']);
    expect(problems).toEqual([1, 2, 3].map((n) => `handler-error: attempt ${n}: pipeline refused the batch`));
    expect(record).toMatchObject({
      topic: dlmsNotifyTopic(PREFIX, 'T1'), terminalId: 'T1', code: 'SINK_REJECTED', reason: 'pipeline refused the batch',
      payloadBase64: Buffer.from([0x0f, 1, 2, 3]).toString('base64'),
    });
    expect(first.stats).toEqual({ deadLettered: 1, deadLetterDropped: 0 });

    // Acknowledged: the next session of the same client gets the next push, not this one again.
    await first.close();
    expect(await nextSessionReceives()).toEqual(['T2:2']);
  });

  it('acknowledges a push whose handler succeeds on a retry, without dead-lettering it', async () => {
    let calls = 0;
    const first = await subscriber(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('busy')) : Promise.resolve();
    });
    await push('T1', [0x0f, 1]);
    await eventually(async () => Promise.resolve(calls >= 2 ? true : undefined), 10_000, 'the retry');
    await first.close();
    expect(await nextSessionReceives()).toEqual(['T2:2']);
    expect(calls).toBe(2);
    expect(deadLetters).toEqual([]);
  });

  it('does not acknowledge a push whose handling shutdown interrupted: the broker delivers it again', async () => {
    let started: () => void = () => undefined;
    const handling = new Promise<void>((resolve) => { started = resolve; });
    const first = await subscriber(() => {
      started();
      return new Promise<void>(() => undefined); // never settles: the pipeline is stuck
    });
    await push('T1', [0x0f, 7]);
    await handling;
    await first.close();
    const again: string[] = [];
    await subscriber((apdu, origin) => { again.push(`${origin.terminalId}:${apdu[1]}`); });
    await eventually(async () => Promise.resolve(again.length > 0 ? true : undefined), 10_000, 'the redelivered push');
    expect(again).toEqual(['T1:7']);
    expect(deadLetters).toEqual([]);
  });
});
