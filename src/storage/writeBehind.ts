/**
 * A write-behind queue: writes a hot path does not wait for, stored in the order they were
 * queued, bounded, retried, drained at shutdown. The alarm service and the security event log
 * write through it; the caller's in-memory state is authoritative for the running node and
 * this queue carries the rows behind it.
 *
 * Items are written by the caller's `write`, up to `maxBatch` at a time (one by default), in
 * the order they were pushed: a later item never overtakes an earlier one. A write starts at
 * once when nothing is ahead of it, so on the embedded store (whose statements run at the call)
 * the row is on disk before `push` returns. A write that fails is retried, the same items, with
 * a backoff doubling from `retryMinMs` up to `retryMaxMs` (equal bounds give a fixed delay),
 * never skipped (as the ingest pipeline retries its batches): each failure is counted and handed
 * to `onFailure`, whose caller logs it throttled. Bounded: `hasRoom()` is false at `max` items
 * waiting, and the caller then refuses or only counts what it would have queued.
 *
 * What a crash can lose is what is still queued; each caller says why that is acceptable for
 * its rows. `drain` at shutdown loses nothing the store takes before its deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WriteBehindOptions<T> {
  /** Stores `items` (at most `maxBatch`, in queue order), all or none; a rejection has the same items tried again. */
  readonly write: (items: readonly T[]) => Promise<void>;
  /** Items waiting, at most (the caller's config key names it). */
  readonly max: number;
  /** Items handed to one `write`, at most; 1 by default. */
  readonly maxBatch?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** What the items are, for the error of an abandoned write ("alarm", "security event"). */
  readonly what?: string;
  /** Every failed attempt; the write is tried again after the backoff. */
  readonly onFailure?: (error: unknown, attempt: number, waiting: number) => void;
  /**
   * True for an error no retry can mend: the database refused the row itself (a constraint,
   * a value it cannot hold). Such items are taken off the queue, their promises rejected with
   * the error and counted as `refused`, so one bad row never holds up every write behind it.
   * Everything else (unreachable, timeout, busy) is retried. Default: nothing is permanent.
   */
  readonly refusedForGood?: (error: unknown) => boolean;
}

export interface WriteBehindStats {
  /** Items queued, the one being written included. */
  readonly waiting: number;
  /** Items stored. */
  readonly written: number;
  /** Failed attempts, each retried. */
  readonly failures: number;
  /** Items the database refused for good (`refusedForGood`): dropped from the queue, reported. */
  readonly refused: number;
}

interface Entry<T> {
  readonly item: T;
  /** Settles when the item is stored, or abandoned at shutdown. */
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Items left unstored when `drain` gave up; the rows are lost, so the caller reports how many. */
export class WritesAbandoned extends Error {
  readonly code = 'WRITES_ABANDONED';
  constructor(readonly count: number, what = 'queued') {
    super(`${count} ${what} write(s) could not be stored before shutdown`);
    this.name = 'WritesAbandoned';
  }
}

export class WriteBehindQueue<T> {
  private readonly entries: Entry<T>[] = [];
  private readonly maxBatch: number;
  private running = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private counts = { written: 0, failures: 0, refused: 0 };

  constructor(private readonly options: WriteBehindOptions<T>) {
    this.maxBatch = options.maxBatch ?? 1;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError('maxBatch must be an integer of at least 1');
  }

  /** False at `max` items waiting, and once `drain` has begun. */
  hasRoom(): boolean {
    return this.entries.length < this.options.max && !this.stopping;
  }

  /** Queues `item` after every item before it; resolves once it is stored. The caller checks `hasRoom` first. */
  push(item: T): Promise<void> {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    // The hot path does not wait for its writes: an abandoned one is reported by `drain`, not as an unhandled rejection.
    done.catch(() => undefined);
    this.entries.push({ item, done, resolve, reject });
    if (!this.running) void this.pump();
    return done;
  }

  /** Resolves once every item queued so far is stored (read-your-writes for the caller's readers); rejects if it was abandoned. */
  settled(): Promise<void> {
    return this.entries[this.entries.length - 1]?.done ?? Promise.resolve();
  }

  /**
   * Waits until every queued item is stored, for up to `timeoutMs` (retries go on meanwhile,
   * at the shortest backoff); then rejects what is left with `WritesAbandoned`.
   * Returns how many items were abandoned.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.stopping = true;
    this.wake?.();
    const done = this.settled();
    const ac = new AbortController();
    const outcome = await Promise.race([
      done.then(() => 'done' as const, () => 'done' as const),
      sleep(timeoutMs, 'timeout' as const, { signal: ac.signal }).catch(() => 'done' as const),
    ]);
    ac.abort();
    if (outcome === 'done') return 0;
    const left = this.entries.splice(0);
    const error = new WritesAbandoned(left.length, this.options.what);
    for (const e of left) e.reject(error);
    this.wake?.();
    return left.length;
  }

  stats(): WriteBehindStats {
    return { waiting: this.entries.length, ...this.counts };
  }

  private async pump(): Promise<void> {
    this.running = true;
    let attempt = 0;
    try {
      while (this.entries.length > 0) {
        const batch = this.entries.slice(0, this.maxBatch);
        try {
          await this.options.write(batch.map((e) => e.item));
          // drain may have given up on them meanwhile; they were stored all the same.
          if (this.entries[0] === batch[0]) this.entries.splice(0, batch.length);
          this.counts.written += batch.length;
          attempt = 0;
          for (const e of batch) e.resolve();
        } catch (err) {
          attempt += 1;
          this.counts.failures += 1;
          this.options.onFailure?.(err, attempt, this.entries.length);
          if (this.options.refusedForGood?.(err) === true) {
            if (this.entries[0] === batch[0]) this.entries.splice(0, batch.length);
            this.counts.refused += batch.length;
            attempt = 0;
            const error = err instanceof Error ? err : new Error(String(err));
            for (const e of batch) e.reject(error);
            continue;
          }
          await this.backoff(attempt);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** min·2^(attempt−1) up to max; cut short by `drain`, which retries at the shortest backoff. */
  private async backoff(attempt: number): Promise<void> {
    const min = this.options.retryMinMs ?? 100;
    const max = Math.max(min, this.options.retryMaxMs ?? 10_000);
    const ms = this.stopping ? min : Math.min(max, min * 2 ** Math.min(attempt - 1, 20));
    const ac = new AbortController();
    await Promise.race([
      sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined),
      new Promise<void>((resolve) => { this.wake = resolve; }),
    ]);
    ac.abort();
    this.wake = undefined;
  }
}
