/**
 * The station's one acknowledgement rule for a received MQTT message (README.md "Sink
 * failures"): the message is handed to its consumer; a rejected hand-over is retried with
 * backoff; after `sinkMaxAttempts` rejections the caller dead-letters the message and
 * acknowledges it, so one poison message cannot stall a session forever. A hand-over that
 * outlasts `sinkTimeoutMs` is reported (`SINK_TIMEOUT`) and waited for still: the consumer
 * holds the readings (a store that is down and retried, a full pipeline), and acknowledging
 * them before the commit would let a crash lose what the device was told is safe (MQTT 3.1.1
 * §4.3.2: the receiver owns a QoS 1 message once it sends the PUBACK). A hand-over
 * interrupted by shutdown ends `aborted`: the caller does not acknowledge it and the broker
 * redelivers it in the next session (MQTT 3.1.1 §4.4).
 *
 * Used by the telemetry delivery (delivery.ts) and the DLMS-over-MQTT push subscriber, so
 * both acknowledge the same way. Knows nothing of sockets or payloads.
 */
import { sleep } from '../timers.js';
import { MqttOptionsError } from './errors.js';

export interface HandOverOptions {
  /** Wait for the consumer to settle one hand-over before it is reported as slow (it is waited for still). */
  readonly sinkTimeoutMs: number;
  /** Hand-overs of one message to a rejecting consumer before it is dead-lettered. */
  readonly sinkMaxAttempts: number;
  /** First retry delay after a rejection, doubled each time. */
  readonly sinkRetryDelayMs: number;
}

/** `SINK_TIMEOUT` is reported while the hand-over goes on; only `SINK_REJECTED` ends one. */
export interface SinkFailure { readonly code: 'SINK_REJECTED' | 'SINK_TIMEOUT'; readonly reason: string }

/** The rule's defaults: three hand-overs of at most 10 s each, 200 ms apart and doubling. */
export function handOverOptions(o: Partial<HandOverOptions>): HandOverOptions {
  return { sinkTimeoutMs: o.sinkTimeoutMs ?? 10_000, sinkMaxAttempts: o.sinkMaxAttempts ?? 3, sinkRetryDelayMs: o.sinkRetryDelayMs ?? 200 };
}

/** `aborted`: shutting down, leave the message to the broker. */
export type HandOverResult<T> = 'aborted' | { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: SinkFailure };

/**
 * A consumer that rejects holds the message through its retries, and a message held holds
 * the session once the in-flight window is full: mqtt.js reads no further packet, the
 * PINGRESP included, so the retries must end before the keepalive gives up on us. A consumer
 * that does not settle at all (the store down) holds the window until it does; should that
 * outlast the keepalive, the connection drops and the broker keeps and redelivers the rest.
 */
export function checkHoldWithinKeepalive(o: HandOverOptions, keepaliveSec: number): void {
  const holdMs = o.sinkTimeoutMs * o.sinkMaxAttempts;
  if (holdMs >= keepaliveSec * 1000) {
    throw new MqttOptionsError(`sinkTimeoutMs × sinkMaxAttempts (${holdMs} ms) must stay below the keepalive`, undefined);
  }
}

export class SinkHandOver {
  private readonly waiting: PendingHandOvers;

  constructor(private readonly options: HandOverOptions) {
    this.waiting = new PendingHandOvers(options.sinkTimeoutMs);
  }

  /**
   * Hands over until the consumer settles, the rejections run out or `signal` aborts.
   * `onFailure` hears every rejected attempt (numbered from 1), and an attempt that outlasts
   * `sinkTimeoutMs`, once, when it does.
   */
  async run<T>(
    deliver: () => T | Promise<T>,
    signal: AbortSignal,
    onFailure: (failure: SinkFailure, attempt: number) => void,
  ): Promise<HandOverResult<T>> {
    let failure: SinkFailure | undefined;
    for (let attempt = 1; attempt <= this.options.sinkMaxAttempts; attempt++) {
      const outcome = await this.attempt(deliver, signal, (slow) => { onFailure(slow, attempt); });
      if (outcome === 'aborted') return 'aborted';
      if (outcome.ok) return outcome;
      failure = outcome.failure;
      onFailure(failure, attempt);
      if (attempt === this.options.sinkMaxAttempts) break;
      if (!(await sleep(this.options.sinkRetryDelayMs * 2 ** (attempt - 1), signal))) return 'aborted';
    }
    if (failure === undefined || signal.aborted) return 'aborted';
    return { ok: false, failure };
  }

  /**
   * Waits for the consumer to settle; `onSlow` hears it once it outlasts `sinkTimeoutMs`.
   * A consumer that settles at once (no promise) costs nothing more; pending hand-overs
   * share one timer and one abort listener (a listener and a timer each, with a thousand in
   * flight, cost more than the message).
   */
  private attempt<T>(deliver: () => T | Promise<T>, signal: AbortSignal, onSlow: (failure: SinkFailure) => void): Promise<HandOverResult<T>> | HandOverResult<T> {
    let pending: T | Promise<T>;
    try {
      pending = deliver();
    } catch (err) {
      return { ok: false, failure: { code: 'SINK_REJECTED', reason: describe(err) } };
    }
    if (!(pending instanceof Promise)) return { ok: true, value: pending };
    if (signal.aborted) return 'aborted';
    return this.waiting.wait(pending, signal, onSlow);
  }
}

/**
 * Hand-overs waiting for the consumer to settle, oldest first. They all get the same
 * timeout, so the oldest expires first and one timer, armed for the head, serves them all;
 * an expired one is reported and moves to `overdue`, where it waits on. One listener per
 * abort signal answers them all, overdue ones too, with 'aborted'.
 */
class PendingHandOvers {
  private readonly queue: Waiting[] = [];
  private readonly overdue = new Set<Waiting>();
  private timer: NodeJS.Timeout | undefined;
  private readonly watched = new WeakSet<AbortSignal>();

  constructor(private readonly timeoutMs: number) {}

  wait<T>(pending: Promise<T>, signal: AbortSignal, onSlow: (failure: SinkFailure) => void): Promise<HandOverResult<T>> {
    if (!this.watched.has(signal)) {
      this.watched.add(signal);
      signal.addEventListener('abort', () => { this.settleAll(signal, 'aborted'); }, { once: true });
    }
    return new Promise<HandOverResult<T>>((resolve) => {
      const w: Waiting = { deadline: performance.now() + this.timeoutMs, signal, resolve: resolve as (outcome: HandOverResult<unknown>) => void, onSlow, done: false };
      this.queue.push(w);
      if (this.timer === undefined) this.arm();
      pending.then(
        (value) => { this.settle(w, { ok: true, value }); },
        (err: unknown) => { this.settle(w, { ok: false, failure: { code: 'SINK_REJECTED', reason: describe(err) } }); },
      );
    });
  }

  private settle(w: Waiting, outcome: HandOverResult<unknown>): void {
    if (w.done) return;
    w.done = true;
    this.overdue.delete(w);
    w.resolve(outcome);
    // Settled ones leave from the head, so the queue holds about what is in flight.
    while (this.queue[0]?.done === true) this.queue.shift();
  }

  private settleAll(signal: AbortSignal, outcome: HandOverResult<unknown>): void {
    // A copy: settle() drops settled ones from the head, which would skip entries of a live walk.
    for (const w of [...this.queue, ...this.overdue]) if (w.signal === signal) this.settle(w, outcome);
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
      if (head.done) continue;
      this.overdue.add(head);
      head.onSlow({ code: 'SINK_TIMEOUT', reason: `sink did not settle within ${this.timeoutMs} ms; still waiting, not acknowledged` });
    }
    this.arm();
  }
}

interface Waiting {
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly resolve: (outcome: HandOverResult<unknown>) => void;
  readonly onSlow: (failure: SinkFailure) => void;
  done: boolean;
}

/** An error's message, or the thrown value as text. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
