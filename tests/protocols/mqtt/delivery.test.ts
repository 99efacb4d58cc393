import { describe, expect, it } from 'vitest';
import type { PushSink, RawDeviceEvent, RawReading } from '../../../protocols/adapter.js';
import type { DeadLetterInput } from '../../../protocols/mqtt/deadLetter.js';
import { MessageDelivery, type DeliveryCounters, type MqttProblem } from '../../../protocols/mqtt/delivery.js';
import { encodeEvents } from '../../../protocols/mqtt/events.js';
import { encodeTelemetry } from '../../../protocols/mqtt/payload.js';
import { encodeStatus } from '../../../protocols/mqtt/status.js';
import { isQuantity } from '../../../src/domain/quantity.js';

const now = Date.UTC(2024, 5, 1, 12);
const good = encodeTelemetry({ ts: now, meters: [{ address: '1', values: { frequency: 50 } }] });

function setup(sink: PushSink, overrides: { sinkMaxAttempts?: number; sinkTimeoutMs?: number } = {}) {
  const counters: DeliveryCounters = { messages: 0, readings: 0, statusMessages: 0, events: 0, malformed: 0, refusedReadings: 0, sinkErrors: 0 };
  const problems: MqttProblem[] = [];
  const deadLetters: DeadLetterInput[] = [];
  const delivery = new MessageDelivery(
    sink,
    {
      topicPrefix: 'gridhead/v1',
      maxPayloadBytes: 4096,
      maxReadingsPerMessage: 100,
      maxEventsPerMessage: 10,
      maxFutureSkewMs: 86_400_000,
      acceptQuantity: isQuantity,
      sinkTimeoutMs: overrides.sinkTimeoutMs ?? 5_000,
      sinkMaxAttempts: overrides.sinkMaxAttempts ?? 3,
      sinkRetryDelayMs: 1,
      clock: () => now,
      report: (p) => problems.push(p),
      deadLetter: (d) => deadLetters.push(d),
    },
    counters,
  );
  return { delivery, counters, problems, deadLetters };
}

describe('MessageDelivery', () => {
  it('acknowledges a message once the sink accepted its readings', async () => {
    const batches: (readonly RawReading[])[] = [];
    const { delivery, counters } = setup({ readings: (b) => { batches.push(b); return Promise.resolve(); } });
    expect(await delivery.handle('gridhead/v1/T1/telemetry', good, new AbortController().signal)).toBe('ack');
    expect(batches).toHaveLength(1);
    expect(counters).toMatchObject({ messages: 1, readings: 1, sinkErrors: 0 });
  });

  it('dead-letters a message whose readings the station refused, with the reasons, then acknowledges it', async () => {
    const two = encodeTelemetry({ ts: now, meters: [{ address: '1', values: { frequency: 50, 'power.active': 1e9 } }] });
    const { delivery, counters, deadLetters, problems } = setup({
      readings: () => Promise.resolve({ refused: [{ code: 'IMPLAUSIBLE_VALUE', reason: 'power.active 1000000000 kW is beyond the meter\'s range' }] }),
    });
    expect(await delivery.handle('gridhead/v1/T1/telemetry', two, new AbortController().signal)).toBe('ack');
    expect(counters).toMatchObject({ readings: 1, refusedReadings: 1, sinkErrors: 0 });
    expect(problems.map((p) => p.code)).toEqual(['READINGS_REFUSED']);
    expect(deadLetters).toEqual([expect.objectContaining({
      code: 'READINGS_REFUSED', terminalId: 'T1', payload: two,
      reason: '1 of 2 readings refused (IMPLAUSIBLE_VALUE); the others are stored',
      refused: [{ code: 'IMPLAUSIBLE_VALUE', reason: 'power.active 1000000000 kW is beyond the meter\'s range' }],
    })]);
  });

  it('retries a rejecting sink and acknowledges when a later attempt succeeds', async () => {
    let calls = 0;
    const { delivery, counters, problems, deadLetters } = setup({
      readings: () => {
        calls += 1;
        if (calls < 3) throw new Error('pipeline busy');
      },
    });
    expect(await delivery.handle('gridhead/v1/T1/telemetry', good, new AbortController().signal)).toBe('ack');
    expect(calls).toBe(3);
    expect(counters).toMatchObject({ readings: 1, sinkErrors: 2 });
    expect(problems.map((p) => p.code)).toEqual(['SINK_REJECTED', 'SINK_REJECTED']);
    expect(deadLetters).toHaveLength(0);
  });

  it('dead-letters a message the sink keeps rejecting, then acknowledges it', async () => {
    const { delivery, counters, deadLetters } = setup({ readings: () => Promise.reject<undefined>(new Error('poison')) });
    expect(await delivery.handle('gridhead/v1/T1/telemetry', good, new AbortController().signal)).toBe('ack');
    expect(counters).toMatchObject({ readings: 0, sinkErrors: 3 });
    expect(deadLetters).toEqual([expect.objectContaining({ code: 'SINK_REJECTED', terminalId: 'T1', reason: 'poison' })]);
  });

  it('reports a hand-over that outlasts sinkTimeoutMs, and acknowledges it only once the sink settles, never handing it over again', async () => {
    let calls = 0;
    let commit = (): void => undefined;
    const { delivery, deadLetters, problems } = setup({
      readings: () => { calls += 1; return new Promise<void>((resolve) => { commit = resolve; }); },
    }, { sinkTimeoutMs: 20 });
    let outcome: string | undefined;
    const handled = delivery.handle('gridhead/v1/T1/telemetry', good, new AbortController().signal).then((d) => { outcome = d; return d; });
    while (problems.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(problems).toEqual([expect.objectContaining({ terminalId: 'T1', code: 'SINK_TIMEOUT' })]);
    // Slow, not refused: the store may still commit it, so it is neither acknowledged nor dead-lettered yet.
    expect(outcome).toBeUndefined();
    expect(deadLetters).toEqual([]);
    commit();
    expect(await handled).toBe('ack');
    expect(calls).toBe(1);
    expect(deadLetters).toEqual([]);
  });

  it('leaves a hand-over that outlasted sinkTimeoutMs unacknowledged when stopped before the sink settles', async () => {
    const stop = new AbortController();
    const { delivery, deadLetters, problems } = setup({ readings: () => new Promise<void>(() => undefined) }, { sinkTimeoutMs: 20 });
    const outcome = delivery.handle('gridhead/v1/T1/telemetry', good, stop.signal);
    while (problems.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort();
    expect(await outcome).toBe('hold');
    expect(deadLetters).toEqual([]);
  });

  it('leaves the message unacknowledged when stopped while the sink holds it', async () => {
    const stop = new AbortController();
    const { delivery, deadLetters } = setup({ readings: () => new Promise<void>(() => undefined) });
    const outcome = delivery.handle('gridhead/v1/T1/telemetry', good, stop.signal);
    stop.abort();
    expect(await outcome).toBe('hold');
    expect(deadLetters).toHaveLength(0);
  });

  it('dead-letters a refused payload with its code and counts it as malformed', async () => {
    const { delivery, counters, deadLetters } = setup({ readings: () => undefined });
    expect(await delivery.handle('gridhead/v1/T1/telemetry', Buffer.from('nope'), new AbortController().signal)).toBe('ack');
    expect(counters.malformed).toBe(1);
    expect(deadLetters).toEqual([expect.objectContaining({ code: 'INVALID_JSON', terminalId: 'T1', topic: 'gridhead/v1/T1/telemetry' })]);
  });

  it('reports status changes and survives a status callback that throws', async () => {
    const seen: [string, boolean][] = [];
    const { delivery, counters } = setup({
      readings: () => undefined,
      status: (id, online) => {
        seen.push([id, online]);
        throw new Error('boom');
      },
    });
    expect(await delivery.handle('gridhead/v1/T9/status', encodeStatus(false), new AbortController().signal)).toBe('ack');
    expect(seen).toEqual([['T9', false]]);
    expect(counters).toMatchObject({ statusMessages: 1, sinkErrors: 1 });
  });

  it('hands an events message to the sink\'s events hook and counts the events', async () => {
    const batches: (readonly RawDeviceEvent[])[] = [];
    const { delivery, counters } = setup({ readings: () => undefined, events: (b) => { batches.push(b); return Promise.resolve(); } });
    const payload = encodeEvents({ events: [{ meter: '1', code: 'cover-open', ts: now - 1000 }, { meter: '2', code: 'power-down', detail: 'mains lost' }] });
    expect(await delivery.handle('gridhead/v1/T1/events', payload, new AbortController().signal)).toBe('ack');
    expect(batches).toEqual([[
      { terminalId: 'T1', address: '1', code: 'cover-open', ts: now - 1000 },
      { terminalId: 'T1', address: '2', code: 'power-down', detail: 'mains lost' },
    ]]);
    expect(counters.events).toBe(2);
  });

  it('dead-letters a malformed events message and retries a rejecting events sink like telemetry', async () => {
    let calls = 0;
    const { delivery, deadLetters, counters } = setup({ readings: () => undefined, events: () => { calls += 1; return calls === 1 ? Promise.reject(new Error('busy')) : Promise.resolve(); } });
    const bad = Buffer.from(JSON.stringify({ events: [{ meter: '1', code: 'Cover Open!' }] }));
    expect(await delivery.handle('gridhead/v1/T1/events', bad, new AbortController().signal)).toBe('ack');
    expect(deadLetters.map((d) => d.code)).toEqual(['INVALID_SHAPE']);
    const good = encodeEvents({ events: [{ meter: '1', code: 'power-up' }] });
    expect(await delivery.handle('gridhead/v1/T1/events', good, new AbortController().signal)).toBe('ack');
    expect(calls).toBe(2);
    expect(counters).toMatchObject({ events: 1, sinkErrors: 1, malformed: 1 });
  });
});
