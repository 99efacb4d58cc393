import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../../../src/observe/logger.js';

describe('log throttle', () => {
  it('lets one event per key through per interval and counts the ones it held back', () => {
    let now = 0;
    const t = new LogThrottle(60_000, () => now);
    expect(t.pass('meter-1')).toBe(0);
    expect(t.pass('meter-1')).toBe(-1);
    expect(t.pass('meter-1')).toBe(-1);
    expect(t.pass('meter-2')).toBe(0);
    now = 59_999;
    expect(t.pass('meter-1')).toBe(-1);
    now = 60_000;
    expect(t.pass('meter-1')).toBe(3);
    expect(t.pass('meter-1')).toBe(-1);
  });

  it('forgets the oldest keys beyond its bound', () => {
    const now = 0;
    const t = new LogThrottle(60_000, () => now, 2);
    t.pass('a');
    t.pass('b');
    t.pass('c'); // evicts a
    expect(t.pass('a')).toBe(0);
    expect(t.pass('c')).toBe(-1);
  });
});
