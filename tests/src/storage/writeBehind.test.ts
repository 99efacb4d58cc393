import { describe, expect, it } from 'vitest';
import { refusedForGood } from '../../../src/storage/refusedRows.js';
import { WriteBehindQueue, WritesAbandoned, type WriteBehindOptions } from '../../../src/storage/writeBehind.js';

/** A store that refuses its first `failures` writes, then takes them in order; `calls` is every batch it was handed. */
function flakySink(failures: number) {
  const stored: number[] = [];
  const calls: number[][] = [];
  let left = failures;
  return {
    stored,
    calls,
    write: (items: readonly number[]) => {
      calls.push([...items]);
      if (left > 0) {
        left -= 1;
        return Promise.reject(new Error('database unreachable'));
      }
      stored.push(...items);
      return Promise.resolve();
    },
  };
}

function queueOf(sink: ReturnType<typeof flakySink>, options: Omit<WriteBehindOptions<number>, 'write'>): WriteBehindQueue<number> {
  return new WriteBehindQueue<number>({ write: sink.write, ...options });
}

describe('write-behind queue', () => {
  it('runs a write at once when nothing is ahead of it, so a synchronous store has it before push returns', () => {
    const sink = flakySink(0);
    const queue = queueOf(sink, { max: 10 });
    void queue.push(1);
    expect(sink.stored).toEqual([1]);
  });

  it('retries a failed write, never skips it, and keeps the order of the writes behind it', async () => {
    const failures: number[] = [];
    const sink = flakySink(3);
    const queue = queueOf(sink, { max: 10, retryMinMs: 1, retryMaxMs: 2, onFailure: (_e, attempt) => failures.push(attempt) });
    const done = [1, 2, 3, 4].map((n) => queue.push(n));
    await Promise.all(done);
    expect(sink.stored).toEqual([1, 2, 3, 4]);
    expect(failures).toEqual([1, 2, 3]);
    expect(queue.stats()).toEqual({ waiting: 0, written: 4, failures: 3, refused: 0 });
  });

  it('hands at most maxBatch items to a write, in order, and retries a failed batch whole', async () => {
    const sink = flakySink(1);
    const queue = queueOf(sink, { max: 10, maxBatch: 2, retryMinMs: 1, retryMaxMs: 1 });
    // The first push starts a write of its own; the rest wait behind it and go two by two.
    const done = [1, 2, 3, 4, 5].map((n) => queue.push(n));
    await Promise.all(done);
    expect(sink.calls).toEqual([[1], [1, 2], [3, 4], [5]]);
    expect(sink.stored).toEqual([1, 2, 3, 4, 5]);
    expect(queue.stats()).toEqual({ waiting: 0, written: 5, failures: 1, refused: 0 });
  });

  it('has no room at its limit, and settles once every write queued before is stored', async () => {
    const sink = flakySink(2);
    const queue = queueOf(sink, { max: 2, retryMinMs: 1, retryMaxMs: 2 });
    void queue.push(1);
    void queue.push(2);
    expect(queue.hasRoom()).toBe(false);
    await queue.settled();
    expect(sink.stored).toEqual([1, 2]);
    expect(queue.hasRoom()).toBe(true);
  });

  it('gives up at the drain deadline on writes the store never takes, rejects them and says how many', async () => {
    const sink = flakySink(Number.POSITIVE_INFINITY);
    const queue = queueOf(sink, { max: 10, retryMinMs: 1, retryMaxMs: 2, what: 'alarm' });
    const first = queue.push(1);
    void queue.push(2);
    expect(await queue.drain(50)).toBe(2);
    await expect(first).rejects.toBeInstanceOf(WritesAbandoned);
    await expect(first).rejects.toMatchObject({ code: 'WRITES_ABANDONED', count: 2 });
    expect(queue.hasRoom()).toBe(false);
    expect(sink.stored).toEqual([]);
  });

  it('drains what a recovered store takes, without waiting out the backoff', async () => {
    // Twelve failures waiting out their doubling backoff would take 4 s, twice the deadline.
    const sink = flakySink(12);
    const queue = queueOf(sink, { max: 10, retryMinMs: 1, retryMaxMs: 3_600_000 });
    for (let n = 1; n <= 3; n++) void queue.push(n);
    expect(await queue.drain(2_000)).toBe(0);
    expect(sink.stored).toEqual([1, 2, 3]);
  });

  it('drops a write the database refuses for good, rejects its promise, and goes on with the writes behind it', async () => {
    const stored: number[] = [];
    const constraint = Object.assign(new Error('NOT NULL constraint failed: alarms.value'), { code: 'SQLITE_CONSTRAINT_NOTNULL' });
    const queue = new WriteBehindQueue<number>({
      max: 10, retryMinMs: 1, retryMaxMs: 2, refusedForGood,
      write: (items) => (items[0] === 2 ? Promise.reject(constraint) : Promise.resolve(void stored.push(...items))),
    });
    const done = [1, 2, 3].map((n) => queue.push(n));
    await expect(done[1]).rejects.toBe(constraint);
    await Promise.all([done[0], done[2]]);
    await queue.settled();
    expect(stored).toEqual([1, 3]);
    expect(queue.stats()).toEqual({ waiting: 0, written: 2, failures: 1, refused: 1 });
  });

  it('tells a refused row from a passing fault, in SQLite and PostgreSQL terms, also when wrapped', () => {
    expect(refusedForGood(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }))).toBe(true);
    expect(refusedForGood(Object.assign(new Error('x'), { code: '23505' }))).toBe(true);
    expect(refusedForGood(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '22003' }) }))).toBe(true);
    expect(refusedForGood(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }))).toBe(false);
    expect(refusedForGood(Object.assign(new Error('x'), { code: '57014' }))).toBe(false);
    expect(refusedForGood(new Error('database unreachable'))).toBe(false);
  });
});
