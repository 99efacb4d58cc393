import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/collect/clock.js';
import { ProfileCycle, nextAlignedStart } from '../../../src/collect/profileCycle.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('nextAlignedStart', () => {
  it('aligns a 900 s interval to the quarter hour', () => {
    expect(nextAlignedStart(Date.UTC(2025, 0, 15, 10, 7, 30), 900_000, 0)).toBe(Date.UTC(2025, 0, 15, 10, 15));
    expect(nextAlignedStart(Date.UTC(2025, 0, 15, 10, 15), 900_000, 0)).toBe(Date.UTC(2025, 0, 15, 10, 15));
  });

  it('aligns a daily interval to station midnight', () => {
    // UTC+8: station midnight of the 16th is 16:00 UTC on the 15th.
    expect(nextAlignedStart(Date.UTC(2025, 0, 15, 10), 86_400_000, 8 * 3_600_000)).toBe(Date.UTC(2025, 0, 15, 16));
  });
});

describe('ProfileCycle', () => {
  function cycle(o: { align: boolean; jitterMs: number; random?: () => number }): { c: ProfileCycle; due: [string, number, number][] } {
    const due: [string, number, number][] = [];
    const c = new ProfileCycle({
      intervalMs: 10_000, align: o.align, jitterMs: o.jitterMs, utcOffsetMs: 0, clock: systemClock,
      random: o.random ?? Math.random,
      onDue: (id, start) => due.push([id, start, Date.now()]),
    });
    return { c, due };
  }

  it('fires unaligned cycles from start() on, every interval', async () => {
    vi.useFakeTimers({ now: 1_234 });
    const { c, due } = cycle({ align: false, jitterMs: 0 });
    c.add('a');
    c.start();
    await vi.advanceTimersByTimeAsync(25_000);
    c.stop();
    expect(due).toEqual([['a', 1_234, 1_234], ['a', 11_234, 11_234], ['a', 21_234, 21_234]]);
  });

  it('clamps jitter to the interval', () => {
    const { c } = cycle({ align: true, jitterMs: 1_000_000, random: () => 0.999_999_9 });
    c.add('a');
    expect(c.offsetOf('a')).toBe(9_999);
  });

  it('resumes at the latest boundary after a stall instead of replaying missed cycles', async () => {
    vi.useFakeTimers({ now: 0 });
    const { c, due } = cycle({ align: true, jitterMs: 0 });
    c.add('a');
    c.start();
    await vi.advanceTimersByTimeAsync(1);
    // Jump the wall clock 45 s without running timers, as a suspended host would; the
    // timer due at 10 s then fires when the wall clock reads 54.999 s.
    vi.setSystemTime(45_000);
    await vi.advanceTimersByTimeAsync(10_000);
    c.stop();
    expect(due.map(([, start]) => start)).toEqual([0, 50_000]);
  });

  it('leaves no timer after stop()', () => {
    vi.useFakeTimers({ now: 0 });
    const { c } = cycle({ align: true, jitterMs: 5_000 });
    c.add('a');
    c.start();
    c.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
