/** A campaign's window: its bounds, and a daily window in station local time, also across midnight. */
import { describe, expect, it } from 'vitest';
import { insideWindow, minutesOf } from '../../../src/firmware/window.js';

const at = (hhmm: string, day = 5): number => Date.parse(`2026-01-0${day}T${hhmm}:00Z`);

describe('campaign window', () => {
  it('holds between notBefore and notAfter only', () => {
    const w = { notBefore: at('08:00'), notAfter: at('09:00') };
    expect([insideWindow(w, at('07:59'), 0), insideWindow(w, at('08:00'), 0), insideWindow(w, at('09:00'), 0)]).toEqual([false, true, false]);
  });

  it('reads a daily window in station local time, across midnight when from is after to', () => {
    const night = { daily: { from: '22:00', to: '05:00' } };
    expect([insideWindow(night, at('21:59'), 0), insideWindow(night, at('23:30'), 0), insideWindow(night, at('04:59'), 0), insideWindow(night, at('05:00'), 0)])
      .toEqual([false, true, true, false]);
    // 14:30 UTC is 22:30 at UTC+8.
    expect(insideWindow(night, at('14:30'), 480)).toBe(true);
    expect(insideWindow({ daily: { from: '09:00', to: '17:00' } }, at('17:00'), 0)).toBe(false);
    expect([minutesOf('23:59'), minutesOf('24:00'), minutesOf('9:00')]).toEqual([1439, undefined, undefined]);
  });
});
