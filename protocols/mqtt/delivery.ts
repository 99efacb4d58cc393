/**
 * What happens to one received message: topic and payload checks, hand-over to the sink
 * with bounded retries, dead-lettering. Knows nothing of sockets: the adapter feeds it
 * messages in the order received (several may be in flight; each hand-over starts
 * synchronously inside `handle`, so the sink takes them in that order) and acknowledges
 * (PUBACK) according to the disposition returned, which comes once the sink committed.
 *
 * Readings the station refuses (its receipt lists them: unknown meter, quantity or unit,
 * implausible value, …) are not lost silently: the message is copied to the dead-letter
 * topic with the refusals, then acknowledged, like a payload that fails to parse.
 *
 * Sink failures follow the station's acknowledgement rule (handOver.ts): retried with
 * backoff, then copied to the dead-letter topic and acknowledged; a hand-over interrupted
 * by shutdown is not acknowledged.
 */
import type { PushReceipt, PushSink, RefusedReading, Settles } from '../adapter.js';
import type { DeadLetterInput } from './deadLetter.js';
import { parseEvents } from './events.js';
import { parseTelemetry } from './payload.js';
import { parseStatus } from './status.js';
import { parseTopic } from './topics.js';
import { SinkHandOver, describe } from './handOver.js';

/** `ack`: done with it (PUBACK). `hold`: shutting down, leave it to the broker (no PUBACK). */
export type Disposition = 'ack' | 'hold';

export interface MqttProblem {
  readonly terminalId: string | null;
  readonly code: string;
  readonly reason: string;
}

export interface DeliveryCounters {
  messages: number;
  readings: number;
  statusMessages: number;
  /** Device events the sink accepted. */
  events: number;
  malformed: number;
  /** Readings the sink refused (dead-lettered with their message). */
  refusedReadings: number;
  sinkErrors: number;
}

export interface DeliveryOptions {
  readonly topicPrefix: string;
  readonly maxPayloadBytes: number;
  readonly maxReadingsPerMessage: number;
  readonly maxEventsPerMessage: number;
  readonly maxFutureSkewMs: number;
  readonly acceptQuantity: (name: string) => boolean;
  readonly sinkTimeoutMs: number;
  readonly sinkMaxAttempts: number;
  readonly sinkRetryDelayMs: number;
  readonly clock: () => number;
  readonly report: (problem: MqttProblem) => void;
  readonly deadLetter: (input: DeadLetterInput) => void;
}

export class MessageDelivery {
  private readonly handOvers: SinkHandOver;

  constructor(
    private readonly sink: PushSink,
    private readonly options: DeliveryOptions,
    private readonly counters: DeliveryCounters,
  ) {
    this.handOvers = new SinkHandOver(options);
  }

  async handle(topic: string, payload: Buffer, signal: AbortSignal): Promise<Disposition> {
    this.counters.messages += 1;
    const receivedAt = this.options.clock();
    const where = parseTopic(this.options.topicPrefix, topic);
    if (!where.ok) {
      this.refuse({ topic, terminalId: null, code: where.error.code, reason: where.error.message, receivedAt, payload });
      return 'ack';
    }
    const { terminalId } = where;
    const limits = { ...this.options, receivedAt };
    if (where.kind === 'status') {
      const parsed = parseStatus(terminalId, payload, limits);
      if (!parsed.ok) {
        this.refuse({ topic, terminalId, code: parsed.error.code, reason: parsed.error.message, receivedAt, payload });
      } else if (parsed.status !== null) {
        this.counters.statusMessages += 1;
        this.announce(terminalId, parsed.status.online, parsed.status.ts, parsed.status.firmwareVersion);
      }
      return 'ack';
    }
    if (where.kind === 'events') {
      const events = parseEvents(terminalId, payload, limits);
      if (!events.ok) {
        this.refuse({ topic, terminalId, code: events.error.code, reason: events.error.message, receivedAt, payload });
        return 'ack';
      }
      const sink = this.sink.events?.bind(this.sink);
      // A sink without an events hook takes no events: nothing to hand over, nothing to keep.
      if (events.events.length === 0 || sink === undefined) return 'ack';
      const batch = events.events;
      return this.handOver(() => sink(batch), batch.length, 'events', { topic, terminalId, receivedAt, payload }, signal);
    }
    const parsed = parseTelemetry(terminalId, payload, limits);
    if (!parsed.ok) {
      this.refuse({ topic, terminalId, code: parsed.error.code, reason: parsed.error.message, receivedAt, payload });
      return 'ack';
    }
    if (parsed.readings.length === 0) return 'ack';
    const readings = parsed.readings;
    return this.handOver(() => this.sink.readings(readings), readings.length, 'readings', { topic, terminalId, receivedAt, payload }, signal);
  }

  private async handOver(
    deliver: () => Settles<PushReceipt> | Settles<void>,
    count: number,
    counter: 'readings' | 'events',
    origin: { topic: string; terminalId: string; receivedAt: number; payload: Buffer },
    signal: AbortSignal,
  ): Promise<Disposition> {
    const result = await this.handOvers.run(deliver, signal, (failure, attempt) => {
      this.counters.sinkErrors += 1;
      this.options.report({ terminalId: origin.terminalId, code: failure.code, reason: `attempt ${attempt}: ${failure.reason}` });
    });
    if (result === 'aborted') return 'hold';
    if (!result.ok) {
      this.options.deadLetter({ ...origin, code: result.failure.code, reason: result.failure.reason });
      return 'ack';
    }
    const refused = result.value?.refused ?? [];
    this.counters[counter] += count - refused.length;
    if (refused.length > 0) this.refuseReadings(origin, refused, count);
    return 'ack';
  }

  private refuseReadings(origin: { topic: string; terminalId: string; receivedAt: number; payload: Buffer }, refused: readonly RefusedReading[], count: number): void {
    this.counters.refusedReadings += refused.length;
    const codes = [...new Set(refused.map((r) => r.code))].join(', ');
    const reason = `${refused.length} of ${count} readings refused (${codes}); the others are stored`;
    this.options.report({ terminalId: origin.terminalId, code: 'READINGS_REFUSED', reason });
    this.options.deadLetter({ ...origin, code: 'READINGS_REFUSED', reason, refused });
  }

  private announce(terminalId: string, online: boolean, ts: number, firmwareVersion: string | undefined): void {
    try {
      this.sink.status?.(terminalId, online, ts);
      if (firmwareVersion !== undefined) this.sink.nameplate?.(terminalId, { firmwareVersion }, ts);
    } catch (err) {
      this.counters.sinkErrors += 1;
      this.options.report({ terminalId, code: 'SINK_REJECTED', reason: `status: ${describe(err)}` });
    }
  }

  private refuse(input: DeadLetterInput): void {
    this.counters.malformed += 1;
    this.options.report({ terminalId: input.terminalId, code: input.code, reason: input.reason });
    this.options.deadLetter(input);
  }
}

