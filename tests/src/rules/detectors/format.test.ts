import { describe, expect, it } from 'vitest';
import { formatDuration, formatInstant, formatNumber, formatPct, formatSignedPct } from '../../../../src/rules/detectors/format.js';
import { HOUR, MIN, SEC, T0 } from './drive.js';

describe('explanation formatting', () => {
  it('writes durations in the largest sensible units', () => {
    expect(formatDuration(45 * SEC)).toBe('45 s');
    expect(formatDuration(5 * MIN)).toBe('5 min');
    expect(formatDuration(5 * MIN + 30 * SEC)).toBe('5 min 30 s');
    expect(formatDuration(2 * HOUR + 5 * MIN)).toBe('2 h 5 min');
    expect(formatDuration(74 * HOUR)).toBe('3 d 2 h');
  });

  it('writes instants in UTC, with the date only when it is not the reference day', () => {
    expect(formatInstant(T0 + 10 * MIN, T0 + HOUR)).toBe('02:10:00Z');
    expect(formatInstant(T0 - 3 * HOUR, T0)).toBe('2026-11-25 23:00:00Z');
  });

  it('rounds percentages to what they mean and never prints negative zero', () => {
    expect(formatPct(20.4)).toBe('20%');
    expect(formatPct(4.54)).toBe('4.5%');
    expect(formatPct(8)).toBe('8%');
    expect(formatSignedPct(10)).toBe('+10%');
    expect(formatSignedPct(-10)).toBe('-10%');
    expect(formatNumber(-0.001, 1)).toBe('0.0');
  });
});
