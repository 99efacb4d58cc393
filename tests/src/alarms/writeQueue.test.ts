import { describe, expect, it } from 'vitest';
import { AlarmWriteQueue, AlarmWritesAbandoned } from '../../../src/alarms/writeQueue.js';

/** A sink that refuses its first `failures` writes, then takes them in order. */
function flakySink(failures: number) {
  const stored: number[] = [];
  let left = failures;
  return {
    stored,
    write: (n: number) => () => {
      if (left > 0) {
        left -= 1;
        return Promise.reject(new Error('database unreachable'));
      }
      stored.push(n);
      return Promise.resolve();
    },
  };
}

describe('alarm store write queue', () => {
  it('runs a write at once when nothing is ahead of it, so a synchronous store has it before push returns', () => {
    const queue = new AlarmWriteQueue({ max: 10 });
    const stored: string[] = [];
    void queue.push(() => { stored.push('insert'); return Promise.resolve(); });
    expect(stored).toEqual(['insert']);
  });

  it('retries a failed write, never skips it, and keeps the order of the writes behind it', async () => {
    const failures: number[] = [];
    const queue = new AlarmWriteQueue({ max: 10, retryMinMs: 1, retryMaxMs: 2, onFailure: (_e, attempt) => failures.push(attempt) });
    const sink = flakySink(3);
    const done = [1, 2, 3, 4].map((n) => queue.push(sink.write(n)));
    await Promise.all(done);
    expect(sink.stored).toEqual([1, 2, 3, 4]);
    expect(failures).toEqual([1, 2, 3]);
    expect(queue.stats()).toEqual({ waiting: 0, written: 4, failures: 3 });
  });

  it('has no room at its limit, and settles once every write queued before is stored', async () => {
    const queue = new AlarmWriteQueue({ max: 2, retryMinMs: 1, retryMaxMs: 2 });
    const sink = flakySink(2);
    void queue.push(sink.write(1));
    void queue.push(sink.write(2));
    expect(queue.hasRoom()).toBe(false);
    await queue.settled();
    expect(sink.stored).toEqual([1, 2]);
    expect(queue.hasRoom()).toBe(true);
  });

  it('gives up at the drain deadline on writes the store never takes, rejects them and says how many', async () => {
    const queue = new AlarmWriteQueue({ max: 10, retryMinMs: 1, retryMaxMs: 2 });
    const sink = flakySink(Number.POSITIVE_INFINITY);
    const first = queue.push(sink.write(1));
    void queue.push(sink.write(2));
    expect(await queue.drain(50)).toBe(2);
    await expect(first).rejects.toBeInstanceOf(AlarmWritesAbandoned);
    expect(queue.hasRoom()).toBe(false);
    expect(sink.stored).toEqual([]);
  });

  it('drains what a recovered store takes, without waiting out the backoff', async () => {
    const queue = new AlarmWriteQueue({ max: 10, retryMinMs: 1, retryMaxMs: 3_600_000 });
    // Twelve failures waiting out their doubling backoff would take 4 s, twice the deadline.
    const sink = flakySink(12);
    for (let n = 1; n <= 3; n++) void queue.push(sink.write(n));
    expect(await queue.drain(2_000)).toBe(0);
    expect(sink.stored).toEqual([1, 2, 3]);
  });
});
