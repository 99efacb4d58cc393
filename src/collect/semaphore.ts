/**
 * The global concurrency limit: at most `limit` requests on the wire at once, across all
 * terminals and profiles. Waiters are bounded by construction, not by a size check: each
 * terminal's lane runs one request at a time, so at most one waiter per terminal exists.
 * On-demand reads (an operator is waiting) are served before scheduled cycles.
 */
import { abortReason } from './clock.js';

export type Release = () => void;

export class Semaphore {
  #free: number;
  #waiting = 0;
  readonly #urgent = new Fifo<Waiter>();
  readonly #normal = new Fifo<Waiter>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
    this.#free = limit;
  }

  get inUse(): number {
    return this.limit - this.#free;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** Resolves with a release function once a permit is free; rejects if `signal` aborts first. */
  acquire(signal: AbortSignal, urgent = false): Promise<Release> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#free > 0 && this.#waiting === 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
        cancelled: false,
      };
      const onAbort = (): void => {
        // Lazy removal: the waiter stays in its queue, marked, and is skipped when reached.
        waiter.cancelled = true;
        this.#waiting--;
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      (urgent ? this.#urgent : this.#normal).push(waiter);
      this.#waiting++;
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free++;
      this.#grantNext();
    };
  }

  #grantNext(): void {
    while (this.#free > 0) {
      const next = this.#urgent.shift() ?? this.#normal.shift();
      if (next === undefined) return;
      if (next.cancelled) continue;
      this.#free--;
      this.#waiting--;
      next.grant();
    }
  }
}

interface Waiter {
  grant(): void;
  cancelled: boolean;
}

/** A queue with O(1) amortised shift (Array#shift is O(n), fatal with 100,000 waiters). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
