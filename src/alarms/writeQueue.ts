/**
 * The alarm store's writes, in the order the service made them, one at a time: an update
 * never overtakes the insert of its alarm. The service's in-memory state is authoritative for
 * the running node, so the rule engine raises alarms without waiting for a database; this
 * queue carries the rows behind it.
 *
 * A write starts at once when nothing is ahead of it, so on the embedded store (whose
 * statements run at the call) every row is on disk before `push` returns, as before. A write
 * that fails is retried, the same write, with a backoff doubling up to `retryMaxMs`, never
 * skipped (as the ingest pipeline retries its batches): each failure is counted and handed to
 * `onFailure`, whose caller logs it throttled. Bounded: `hasRoom()` is false at `max` writes
 * waiting, and the service then refuses the change (counted, reported) rather than hold it.
 *
 * What a crash can lose: on PostgreSQL, the writes still queued (the database unreachable, or
 * the last few milliseconds). The rules raise again what is still true after the restart, and
 * a lost clear leaves an alarm open that the next evaluation clears (a clear without an open
 * alarm is counted, not an error); the notifiers have already told the operator. That is the
 * price of never stalling collection on the alarm store. `drain` at shutdown loses nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface AlarmWriteQueueOptions {
  /** `alarms.storeQueueMax`: writes waiting, at most. */
  readonly max: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Every failed attempt; the write is tried again after the backoff. */
  readonly onFailure?: (error: unknown, attempt: number, waiting: number) => void;
}

export interface AlarmWriteQueueStats {
  readonly waiting: number;
  readonly written: number;
  readonly failures: number;
}

interface Entry {
  readonly write: () => Promise<void>;
  /** Settles when the write is stored, or abandoned at shutdown. */
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Writes left unstored when `drain` gave up; the rows are lost, so the caller reports how many. */
export class AlarmWritesAbandoned extends Error {
  readonly code = 'ALARM_WRITES_ABANDONED';
  constructor(readonly count: number) {
    super(`${count} alarm write(s) could not be stored before shutdown`);
    this.name = 'AlarmWritesAbandoned';
  }
}

export class AlarmWriteQueue {
  private readonly entries: Entry[] = [];
  private running = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private counts = { written: 0, failures: 0 };

  constructor(private readonly options: AlarmWriteQueueOptions) {}

  hasRoom(): boolean {
    return this.entries.length < this.options.max && !this.stopping;
  }

  /** Queues `write` after every write before it; resolves once it is stored. The caller checks `hasRoom` first. */
  push(write: () => Promise<void>): Promise<void> {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    // The hot path does not wait for its writes: an abandoned one is reported by `drain`, not as an unhandled rejection.
    done.catch(() => undefined);
    this.entries.push({ write, done, resolve, reject });
    if (!this.running) void this.pump();
    return done;
  }

  /** Resolves once every write queued so far is stored (read-your-writes for the service's readers). */
  settled(): Promise<void> {
    return this.entries[this.entries.length - 1]?.done ?? Promise.resolve();
  }

  /**
   * Waits until every queued write is stored, for up to `timeoutMs` (retries go on meanwhile,
   * at the shortest backoff); then rejects what is left with `AlarmWritesAbandoned`.
   * Returns how many writes were abandoned.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.stopping = true;
    this.wake?.();
    const done = this.settled();
    const outcome = await Promise.race([done.then(() => 'done' as const, () => 'done' as const), sleep(timeoutMs, 'timeout' as const)]);
    if (outcome === 'done') return 0;
    const left = this.entries.splice(0);
    const error = new AlarmWritesAbandoned(left.length);
    for (const e of left) e.reject(error);
    this.wake?.();
    return left.length;
  }

  stats(): AlarmWriteQueueStats {
    return { waiting: this.entries.length, ...this.counts };
  }

  private async pump(): Promise<void> {
    this.running = true;
    let attempt = 0;
    try {
      for (let head = this.entries[0]; head !== undefined; head = this.entries[0]) {
        try {
          await head.write();
          // drain may have given up on it meanwhile; it was stored all the same.
          if (this.entries[0] === head) this.entries.shift();
          this.counts.written += 1;
          attempt = 0;
          head.resolve();
        } catch (err) {
          attempt += 1;
          this.counts.failures += 1;
          this.options.onFailure?.(err, attempt, this.entries.length);
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
    const max = this.options.retryMaxMs ?? 10_000;
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
