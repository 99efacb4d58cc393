/**
 * The one bounded pipeline from adapters to sinks.
 *
 * Producers `offer` batches; the promise resolves when the batch is queued, and waits while
 * the queue is at capacity, so a slow sink slows intake (the MQTT adapter withholds its
 * PUBACK, pollers wait) instead of growing memory. A single drain loop hands batches to
 * every sink in order; a sink that fails is retried with backoff, never skipped, so nothing
 * accepted is lost.
 */
import type { RawReading } from '../../protocols/adapter.js';
import type { Meter, Protocol, Reading, ReadingSource } from '../domain/index.js';
import { REJECT_REASONS, normalise, type RejectReason, type Rejection } from './normalise.js';
import { DEFAULT_PLAUSIBILITY, type PlausibilityLimits } from './plausibility.js';

export interface ReadingSink {
  readonly name: string;
  /** May return a promise to apply backpressure; a rejection is retried with the same batch. */
  write(batch: readonly Reading[]): void | Promise<void>;
}

export interface PipelineOptions {
  /** Readings queued at most before offers wait. */
  readonly capacity: number;
  /** Readings handed to sinks per write, at most. */
  readonly drainBatch?: number;
  readonly sinks: readonly ReadingSink[];
  readonly meterAt: (terminalId: string, address: string) => Meter | undefined;
  readonly onReject?: (r: Rejection) => void;
  readonly onSinkError?: (sink: string, error: unknown, attempt: number) => void;
  readonly now?: () => number;
  readonly maxClockAheadMs?: number;
  /** Physical bounds readings must lie in (`ingest.plausibility`); the configuration's defaults when absent. */
  readonly plausibility?: PlausibilityLimits;
  /** Backoff bounds when a sink fails. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Longest stretch of back-to-back offers before intake lets the event loop turn; default 20 ms. */
  readonly maxBusyMs?: number;
}

export interface PipelineStats {
  readonly queued: number;
  readonly accepted: number;
  readonly delivered: number;
  /** Readings refused by normalisation, per protocol and reason. */
  readonly rejected: Readonly<Record<Protocol, Readonly<Record<RejectReason, number>>>>;
  readonly sinkErrors: number;
  readonly waitingProducers: number;
}

export class PipelineClosedError extends Error {
  readonly code = 'PIPELINE_CLOSED';
  constructor() {
    super('the ingest pipeline is closed');
    this.name = 'PipelineClosedError';
  }
}

export class IngestPipeline {
  private readonly queue: Reading[][] = [];
  private queued = 0;
  private accepted = 0;
  private delivered = 0;
  private sinkErrors = 0;
  private readonly rejected: Record<Protocol, Record<RejectReason, number>> = { dlms: noRejections(), modbus: noRejections(), mqtt: noRejections() };
  private readonly waiters: (() => void)[] = [];
  private wakeDrain: (() => void) | undefined;
  private closing = false;
  private lastYield = performance.now();
  private readonly drainLoop: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: PipelineOptions) {
    this.now = options.now ?? Date.now;
    this.drainLoop = this.drain();
  }

  /**
   * Normalises and queues a batch. Resolves once queued; waits while the queue is full.
   * Returns how many readings were accepted (the rest were rejected and reported).
   */
  async offer(raw: readonly RawReading[], protocol: Protocol, mode: ReadingSource['mode']): Promise<number> {
    if (this.closing) throw new PipelineClosedError();
    const readings: Reading[] = [];
    const rejections: Rejection[] = [];
    normalise(raw, {
      meterAt: this.options.meterAt, protocol, mode, receivedAt: this.now(), maxClockAheadMs: this.options.maxClockAheadMs ?? 300_000,
      plausibility: this.options.plausibility ?? DEFAULT_PLAUSIBILITY,
    }, readings, rejections);
    for (const r of rejections) {
      this.rejected[protocol][r.reason] += 1;
      this.options.onReject?.(r);
    }
    if (readings.length === 0) return 0;
    // A batch larger than the whole capacity is let in alone, or it could never enter.
    while (this.queued > 0 && this.queued + readings.length > this.options.capacity) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      // close() may have run while this producer waited.
      if (this.isClosing()) throw new PipelineClosedError();
    }
    this.queue.push(readings);
    this.queued += readings.length;
    this.accepted += readings.length;
    this.wakeDrain?.();
    await this.yieldIfBusy();
    return readings.length;
  }

  /**
   * Producers and the drain loop chain through promises, which never give timers and
   * sockets a turn while a broker floods us. After `maxBusyMs` of that, an offer waits for
   * one macrotask, so the API and the scheduler's timers stay responsive under load.
   */
  private async yieldIfBusy(): Promise<void> {
    const t = performance.now();
    if (t - this.lastYield < (this.options.maxBusyMs ?? 20)) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  private isClosing(): boolean {
    return this.closing;
  }

  stats(): PipelineStats {
    return {
      queued: this.queued, accepted: this.accepted, delivered: this.delivered,
      rejected: { dlms: { ...this.rejected.dlms }, modbus: { ...this.rejected.modbus }, mqtt: { ...this.rejected.mqtt } }, sinkErrors: this.sinkErrors, waitingProducers: this.waiters.length,
    };
  }

  /** Stops intake, delivers what is queued, and ends the drain loop. */
  async close(): Promise<void> {
    if (this.closing) return this.drainLoop;
    this.closing = true;
    this.wakeDrain?.();
    for (const w of this.waiters.splice(0)) w();
    return this.drainLoop;
  }

  private async drain(): Promise<void> {
    const max = this.options.drainBatch ?? 5_000;
    for (;;) {
      if (this.queue.length === 0) {
        if (this.closing) return;
        await new Promise<void>((resolve) => (this.wakeDrain = resolve));
        this.wakeDrain = undefined;
        continue;
      }
      const batch = this.take(max);
      for (const sink of this.options.sinks) await this.deliver(sink, batch);
      this.queued -= batch.length;
      this.delivered += batch.length;
      this.releaseWaiters();
      await this.yieldIfBusy();
    }
  }

  private take(max: number): Reading[] {
    const first = this.queue[0];
    if (first !== undefined && first.length >= max / 2) {
      this.queue.shift();
      return first;
    }
    const out: Reading[] = [];
    while (this.queue.length > 0 && out.length < max) {
      const next = this.queue[0];
      if (next === undefined || (out.length > 0 && out.length + next.length > max)) break;
      this.queue.shift();
      for (const r of next) out.push(r);
    }
    return out;
  }

  private async deliver(sink: ReadingSink, batch: readonly Reading[]): Promise<void> {
    const minMs = this.options.retryMinMs ?? 100;
    const maxMs = this.options.retryMaxMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await sink.write(batch);
        return;
      } catch (err) {
        this.sinkErrors += 1;
        this.options.onSinkError?.(sink.name, err, attempt);
        await new Promise((r) => setTimeout(r, Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 16))));
      }
    }
  }

  private releaseWaiters(): void {
    while (this.waiters.length > 0 && this.queued < this.options.capacity) this.waiters.shift()?.();
  }
}

function noRejections(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}
