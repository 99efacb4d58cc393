/**
 * What happens to one received message: topic and payload checks, hand-over to the sink
 * with bounded retries, dead-lettering. Knows nothing of sockets: the adapter feeds it
 * messages one at a time and acknowledges (PUBACK) according to the disposition returned.
 *
 * Sink failures (README.md "Sink failures"): a rejected hand-over is retried with
 * backoff; after `sinkMaxAttempts` rejections, or one timeout, the message is copied to
 * the dead-letter topic and acknowledged, so one poison message cannot stall a session
 * forever. A hand-over interrupted by shutdown is not acknowledged: the broker redelivers
 * it in the next session.
 */
import type { PushSink } from '../adapter.js';
import type { DeadLetterInput } from './deadLetter.js';
import { parseEvents } from './events.js';
import { parseTelemetry } from './payload.js';
import { parseStatus } from './status.js';
import { parseTopic } from './topics.js';
import { sleep } from '../timers.js';

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
  constructor(
    private readonly sink: PushSink,
    private readonly options: DeliveryOptions,
    private readonly counters: DeliveryCounters,
  ) {}

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
        this.announce(terminalId, parsed.status.online, parsed.status.ts);
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
    deliver: () => void | Promise<void>,
    count: number,
    counter: 'readings' | 'events',
    origin: { topic: string; terminalId: string; receivedAt: number; payload: Buffer },
    signal: AbortSignal,
  ): Promise<Disposition> {
    let failure: { code: 'SINK_REJECTED' | 'SINK_TIMEOUT'; reason: string } | undefined;
    for (let attempt = 1; attempt <= this.options.sinkMaxAttempts; attempt++) {
      const outcome = await this.callSink(deliver, signal);
      if (outcome === 'accepted') {
        this.counters[counter] += count;
        return 'ack';
      }
      if (outcome === 'aborted') return 'hold';
      failure = outcome;
      this.counters.sinkErrors += 1;
      this.options.report({ terminalId: origin.terminalId, code: failure.code, reason: `attempt ${attempt}: ${failure.reason}` });
      // A sink that timed out may still be working on the batch: handing it over again
      // would queue it twice behind the same congestion.
      if (failure.code === 'SINK_TIMEOUT' || attempt === this.options.sinkMaxAttempts) break;
      if (!(await sleep(this.options.sinkRetryDelayMs * 2 ** (attempt - 1), signal))) return 'hold';
    }
    if (failure === undefined || signal.aborted) return 'hold';
    this.options.deadLetter({ ...origin, code: failure.code, reason: failure.reason });
    return 'ack';
  }

  private async callSink(
    deliver: () => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<'accepted' | 'aborted' | { code: 'SINK_REJECTED' | 'SINK_TIMEOUT'; reason: string }> {
    let pending: void | Promise<void>;
    try {
      pending = deliver();
    } catch (err) {
      return { code: 'SINK_REJECTED', reason: describe(err) };
    }
    if (pending === undefined) return 'accepted';
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, this.options.sinkTimeoutMs, 'timeout');
    });
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => {
        resolve('aborted');
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const settled = await Promise.race([pending.then(() => 'accepted' as const), timeout, aborted]);
      if (settled === 'timeout') return { code: 'SINK_TIMEOUT', reason: `sink did not settle within ${this.options.sinkTimeoutMs} ms` };
      return settled;
    } catch (err) {
      return { code: 'SINK_REJECTED', reason: describe(err) };
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  private announce(terminalId: string, online: boolean, ts: number): void {
    try {
      this.sink.status?.(terminalId, online, ts);
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

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

