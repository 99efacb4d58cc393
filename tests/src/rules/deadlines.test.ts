import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../../src/rules/deadlines.js';

/** A small deterministic generator so a failure reproduces. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function drain<T>(q: DeadlineQueue<T>): [number, T][] {
  const out: [number, T][] = [];
  while (q.size > 0) {
    const at = q.peekAt();
    out.push([at, q.pop() as T]);
  }
  return out;
}

describe('deadline queue', () => {
  it('pops entries in deadline order whatever the order they were pushed in', () => {
    const q = new DeadlineQueue<number>();
    const rnd = lcg(7);
    const ats = Array.from({ length: 5_000 }, () => Math.floor(rnd() * 1_000_000));
    ats.forEach((at, i) => { q.push(at, i); });
    const popped = drain(q);
    expect(popped.map(([at]) => at)).toEqual([...ats].sort((a, b) => a - b));
    expect(popped.every(([at, i]) => ats[i] === at)).toBe(true);
  });

  it('reports +Infinity and undefined when empty, and takes -Infinity as due first', () => {
    const q = new DeadlineQueue<string>();
    expect(q.peekAt()).toBe(Number.POSITIVE_INFINITY);
    expect(q.pop()).toBeUndefined();
    q.push(10, 'later');
    q.push(Number.NEGATIVE_INFINITY, 'now');
    expect(drain(q).map(([, s]) => s)).toEqual(['now', 'later']);
  });

  it('keeps order while pushes and pops interleave', () => {
    const q = new DeadlineQueue<number>();
    const rnd = lcg(11);
    const out: number[] = [];
    let clock = 0;
    for (let i = 0; i < 20_000; i++) {
      q.push(clock + Math.floor(rnd() * 100), i);
      if (i % 3 === 0) {
        clock += 10;
        while (q.peekAt() <= clock) {
          out.push(q.peekAt());
          q.pop();
        }
      }
    }
    for (let k = 1; k < out.length; k++) expect(out[k]).toBeGreaterThanOrEqual(out[k - 1] ?? 0);
  });

  it('drops what retain rejects and keeps the rest in deadline order', () => {
    const q = new DeadlineQueue<number>();
    const rnd = lcg(3);
    for (let i = 0; i < 1_000; i++) q.push(Math.floor(rnd() * 10_000), i);
    q.retain((i) => i % 4 === 0);
    expect(q.size).toBe(250);
    const popped = drain(q);
    expect(popped.every(([, i]) => i % 4 === 0)).toBe(true);
    for (let k = 1; k < popped.length; k++) expect(popped[k]?.[0]).toBeGreaterThanOrEqual(popped[k - 1]?.[0] ?? 0);
  });
});
