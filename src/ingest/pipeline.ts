/**
 * The one bounded pipeline from adapters to sinks.
 *
 * Producers `offer` batches; the promise resolves when the batch is queued, and waits while
 * the queue is at capacity, so a slow sink slows intake instead of growing memory. Offers
 * are queued strictly in the order they were made (a waiting offer is never overtaken by a
 * later, smaller one), so one terminal's readings reach the sinks in the order it sent them.
 *
 * A single drain loop hands batches to every sink in order; a sink that fails is retried
 * with backoff, never skipped, so nothing accepted is lost. Each offer also carries a
 * `committed` promise that resolves once its readings went through every sink, the store
 * included: that, not the queueing, is what a push adapter may acknowledge to a device.
 * Group commit: when what is queued is small (fewer than `groupCommitMinReadings`, as when
 * terminals send a few values per message), the loop lets the event loop turn once before
 * taking it, so every message already read from the sockets lands in the same store
 * transaction. A batch already that large goes at once: waiting would only delay it, and
 * the rules behind the store would judge larger batches later.
 *
 * While a sink keeps failing, the sinks after it see nothing: `stall()` says which sink,
 * since when and how many readings wait, so what judges readings by their absence (the
 * rules' communication loss) can tell the station's own stall from silent devices.
 */
import type { RawReading } from '../../protocols/adapter.js';
import { errorCode, type Meter, type Protocol, type Reading, type ReadingSource } from '../domain/index.js';
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
  /** Below this many queued readings the drain waits one event-loop turn for more to join; default 256. */
  readonly groupCommitMinReadings?: number;
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

/** A sink failing and retrying the same batch: it and every sink after it wait. */
export interface PipelineStall {
  readonly sink: string;
  /** When the batch now retried first failed (the pipeline's clock). */
  readonly since: number;
  readonly attempts: number;
  /** The last failure's stable code (`errorCode`), never its message, which may name a connection string. */
  readonly errorCode: string;
  /** Readings accepted and not yet through every sink, and those of offers waiting for room. */
  readonly held: number;
}

/** What became of one offer. */
export interface Offer {
  /** Readings accepted into the queue. */
  readonly accepted: number;
  /** Readings refused by normalisation, in the order offered; also reported through `onReject`. */
  readonly rejections: readonly Rejection[];
  /** Resolves once the accepted readings were written by every sink; never rejects. */
  readonly committed: Promise<void>;
}

const NOTHING_TO_COMMIT: Promise<void> = Promise.resolve();

interface Entry {
  readonly readings: Reading[];
  /** Resolves the offer's `committed`. */
  readonly commit: () => void;
}

interface Waiter {
  readonly entry: Entry;
  /** Called with true once queued, with false when the pipeline closed first. */
  readonly queued: (ok: boolean) => void;
}

export class PipelineClosedError extends Error {
  readonly code = 'PIPELINE_CLOSED';
  constructor() {
    super('the ingest pipeline is closed');
    this.name = 'PipelineClosedError';
  }
}

export class IngestPipeline {
  private readonly queue: Entry[] = [];
  private queued = 0;
  private accepted = 0;
  private delivered = 0;
  private sinkErrors = 0;
  private stalled: Omit<PipelineStall, 'held'> | undefined;
  private readonly rejected: Record<Protocol, Record<RejectReason, number>> = { dlms: noRejections(), modbus: noRejections(), mqtt: noRejections() };
  /** Offers waiting for room, in the order they were made. */
  private readonly waiters: Waiter[] = [];
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
   * Normalises and queues a batch. Resolves once queued; waits while the queue is full or
   * earlier offers are still waiting. Refused readings are reported and listed in the result.
   */
  async offer(raw: readonly RawReading[], protocol: Protocol, mode: ReadingSource['mode']): Promise<Offer> {
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
    if (readings.length === 0) return { accepted: 0, rejections, committed: NOTHING_TO_COMMIT };
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => { commit = resolve; });
    const entry: Entry = { readings, commit };
    if (this.waiters.length > 0 || !this.fits(readings.length)) {
      const queued = await new Promise<boolean>((resolve) => this.waiters.push({ entry, queued: resolve }));
      // close() may have run while this producer waited.
      if (!queued) throw new PipelineClosedError();
    } else {
      this.enqueue(entry);
    }
    await this.yieldIfBusy();
    return { accepted: readings.length, rejections, committed };
  }

  /** A batch larger than the whole capacity is let in alone, or it could never enter. */
  private fits(n: number): boolean {
    return this.queued === 0 || this.queued + n <= this.options.capacity;
  }

  private enqueue(entry: Entry): void {
    this.queue.push(entry);
    this.queued += entry.readings.length;
    this.accepted += entry.readings.length;
    this.wakeDrain?.();
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

  /** A method, so the compiler does not assume the flag unchanged across an await. */
  private isClosing(): boolean {
    return this.closing;
  }

  stats(): PipelineStats {
    return {
      queued: this.queued, accepted: this.accepted, delivered: this.delivered,
      rejected: { dlms: { ...this.rejected.dlms }, modbus: { ...this.rejected.modbus }, mqtt: { ...this.rejected.mqtt } }, sinkErrors: this.sinkErrors, waitingProducers: this.waiters.length,
    };
  }

  /** The sink failing now, or undefined while every write goes through. */
  stall(): PipelineStall | undefined {
    const s = this.stalled;
    if (s === undefined) return undefined;
    let held = this.queued;
    for (const w of this.waiters) held += w.entry.readings.length;
    return { ...s, held };
  }

  /** Stops intake, delivers what is queued, and ends the drain loop. */
  async close(): Promise<void> {
    if (this.closing) return this.drainLoop;
    this.closing = true;
    this.wakeDrain?.();
    for (const w of this.waiters.splice(0)) w.queued(false);
    return this.drainLoop;
  }

  private async drain(): Promise<void> {
    const max = this.options.drainBatch ?? 5_000;
    for (;;) {
      if (this.queue.length === 0) {
        if (this.closing) return;
        await new Promise<void>((resolve) => (this.wakeDrain = resolve));
        this.wakeDrain = undefined;
        // Group commit: what the sockets delivered in this turn joins the same batch.
        if (!this.isClosing() && this.queued < (this.options.groupCommitMinReadings ?? 256)) {
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        continue;
      }
      const taken = this.take(max);
      const batch = taken.length === 1 ? (taken[0]?.readings ?? []) : taken.flatMap((e) => e.readings);
      for (const sink of this.options.sinks) await this.deliver(sink, batch);
      this.queued -= batch.length;
      this.delivered += batch.length;
      for (const e of taken) e.commit();
      this.releaseWaiters();
      await this.yieldIfBusy();
    }
  }

  /** Whole entries from the head of the queue, up to `max` readings (a first larger one alone). */
  private take(max: number): Entry[] {
    const out: Entry[] = [];
    let n = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next === undefined || (out.length > 0 && n + next.readings.length > max)) break;
      this.queue.shift();
      out.push(next);
      n += next.readings.length;
    }
    return out;
  }

  private async deliver(sink: ReadingSink, batch: readonly Reading[]): Promise<void> {
    const minMs = this.options.retryMinMs ?? 100;
    const maxMs = this.options.retryMaxMs ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await sink.write(batch);
        this.stalled = undefined;
        return;
      } catch (err) {
        this.sinkErrors += 1;
        const since = attempt === 1 ? this.now() : this.stalled?.since ?? this.now();
        this.stalled = { sink: sink.name, since, attempts: attempt, errorCode: errorCode(err) };
        this.options.onSinkError?.(sink.name, err, attempt);
        await new Promise((r) => setTimeout(r, Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 16))));
      }
    }
  }

  /** Queues waiting offers in order, as long as the head one fits. */
  private releaseWaiters(): void {
    for (let head = this.waiters[0]; head !== undefined && this.fits(head.entry.readings.length); head = this.waiters[0]) {
      this.waiters.shift();
      this.enqueue(head.entry);
      head.queued(true);
    }
  }
}

function noRejections(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}
