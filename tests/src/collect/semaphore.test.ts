import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../../src/collect/semaphore.js';

describe('Semaphore', () => {
  it('grants at most `limit` permits and serves urgent waiters first', async () => {
    const s = new Semaphore(1);
    const never = new AbortController().signal;
    const first = await s.acquire(never);
    const order: string[] = [];
    const routine = s.acquire(never).then((r) => {
      order.push('routine');
      return r;
    });
    const urgent = s.acquire(never, true).then((r) => {
      order.push('urgent');
      return r;
    });
    expect([s.inUse, s.waiting]).toEqual([1, 2]);
    first();
    (await urgent)();
    (await routine)();
    expect(order).toEqual(['urgent', 'routine']);
    expect([s.inUse, s.waiting]).toEqual([0, 0]);
  });

  it('drops a waiter whose signal aborts and hands the permit to the next', async () => {
    const s = new Semaphore(1);
    const never = new AbortController().signal;
    const held = await s.acquire(never);
    const ac = new AbortController();
    const gone = s.acquire(ac.signal);
    const next = s.acquire(never);
    ac.abort(new Error('caller left'));
    await expect(gone).rejects.toThrow('caller left');
    expect(s.waiting).toBe(1);
    held();
    held();
    const release = await next;
    expect(s.inUse).toBe(1);
    release();
    expect(s.inUse).toBe(0);
  });
});
