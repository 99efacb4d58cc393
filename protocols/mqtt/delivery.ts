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
 * Sink failures (README.md "Sink failures"): a rejected hand-over is retried with
 * backoff; after `sinkMaxAttempts` rejections, or one timeout, the message is copied to
 * the dead-letter topic and acknowledged, so one poison message cannot stall a session
 * forever. A hand-over interrupted by shutdown is not acknowledged: the broker redelivers
 * it in the next session.
 */
import type { PushReceipt, PushSink, RefusedReading, Settles } from '../adapter.js';
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
  private readonly waiting: PendingHandOvers;

  constructor(
    private readonly sink: PushSink,
    private readonly options: DeliveryOptions,
    private readonly counters: DeliveryCounters,
  ) {
    this.waiting = new PendingHandOvers(options.sinkTimeoutMs);
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
    deliver: () => Settles<PushReceipt> | Settles<void>,
    count: number,
    counter: 'readings' | 'events',
    origin: { topic: string; terminalId: string; receivedAt: number; payload: Buffer },
    signal: AbortSignal,
  ): Promise<Disposition> {
    let failure: SinkFailure | undefined;
    for (let attempt = 1; attempt <= this.options.sinkMaxAttempts; attempt++) {
      const outcome = await this.callSink(deliver, signal);
      if (outcome === 'aborted') return 'hold';
      if (!('code' in outcome)) {
        const refused = outcome.receipt?.refused ?? [];
        this.counters[counter] += count - refused.length;
        if (refused.length > 0) this.refuseReadings(origin, refused, count);
        return 'ack';
      }
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

  /**
   * Waits for the sink to settle, within `sinkTimeoutMs`. A sink that settles at once (no
   * promise) costs nothing more; pending hand-overs share one timer and one abort listener
   * (a listener and a timer each, with a thousand in flight, cost more than the message).
   */
  private callSink(
    deliver: () => Settles<PushReceipt> | Settles<void>,
    signal: AbortSignal,
  ): Promise<SinkOutcome> | SinkOutcome {
    let pending: Settles<PushReceipt> | Settles<void>;
    try {
      pending = deliver();
    } catch (err) {
      return { code: 'SINK_REJECTED', reason: describe(err) };
    }
    if (!(pending instanceof Promise)) return { receipt: pending ?? undefined };
    if (signal.aborted) return 'aborted';
    return this.waiting.wait(pending, signal);
  }

  private refuseReadings(origin: { topic: string; terminalId: string; receivedAt: number; payload: Buffer }, refused: readonly RefusedReading[], count: number): void {
    this.counters.refusedReadings += refused.length;
    const codes = [...new Set(refused.map((r) => r.code))].join(', ');
    const reason = `${refused.length} of ${count} readings refused (${codes}); the others are stored`;
    this.options.report({ terminalId: origin.terminalId, code: 'READINGS_REFUSED', reason });
    this.options.deadLetter({ ...origin, code: 'READINGS_REFUSED', reason, refused });
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

interface SinkFailure { readonly code: 'SINK_REJECTED' | 'SINK_TIMEOUT'; readonly reason: string }
type SinkOutcome = 'aborted' | { readonly receipt: PushReceipt | undefined } | SinkFailure;

/**
 * Hand-overs waiting for the sink to settle, oldest first. They all get the same timeout,
 * so the oldest expires first and one timer, armed for the head, serves them all; one
 * listener per abort signal answers them all with 'aborted'.
 */
class PendingHandOvers {
  private readonly queue: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly watched = new WeakSet<AbortSignal>();

  constructor(private readonly timeoutMs: number) {}

  wait(pending: Promise<PushReceipt> | Promise<void>, signal: AbortSignal): Promise<SinkOutcome> {
    if (!this.watched.has(signal)) {
      this.watched.add(signal);
      signal.addEventListener('abort', () => { this.settleAll(signal, 'aborted'); }, { once: true });
    }
    return new Promise<SinkOutcome>((resolve) => {
      const w: Waiting = { deadline: performance.now() + this.timeoutMs, signal, resolve, done: false };
      this.queue.push(w);
      if (this.timer === undefined) this.arm();
      pending.then(
        (receipt) => { this.settle(w, { receipt: receipt ?? undefined }); },
        (err: unknown) => { this.settle(w, { code: 'SINK_REJECTED', reason: describe(err) }); },
      );
    });
  }

  private settle(w: Waiting, outcome: SinkOutcome): void {
    if (w.done) return;
    w.done = true;
    w.resolve(outcome);
    // Settled ones leave from the head, so the queue holds about what is in flight.
    while (this.queue[0]?.done === true) this.queue.shift();
  }

  private settleAll(signal: AbortSignal, outcome: SinkOutcome): void {
    for (const w of this.queue) if (w.signal === signal) this.settle(w, outcome);
  }

  private arm(): void {
    while (this.queue[0]?.done === true) this.queue.shift();
    const head = this.queue[0];
    if (head === undefined) {
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(() => { this.expire(); }, Math.max(0, head.deadline - performance.now()));
    this.timer.unref();
  }

  private expire(): void {
    const now = performance.now();
    for (let head = this.queue[0]; head !== undefined && (head.done || head.deadline <= now); head = this.queue[0]) {
      this.queue.shift();
      this.settle(head, { code: 'SINK_TIMEOUT', reason: `sink did not settle within ${this.timeoutMs} ms` });
    }
    this.arm();
  }
}

interface Waiting {
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly resolve: (outcome: SinkOutcome) => void;
  done: boolean;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

