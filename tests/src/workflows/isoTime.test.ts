/**
 * ISO 8601 durations and date-times as timers and `gh:due` write them, and the `${…}`
 * expressions that stand in for them.
 */
import { describe, expect, it } from 'vitest';
import { isExpression, isoDurationEnd, parseIsoDateTime, parseIsoDuration } from '../../../src/workflows/isoTime.js';

describe('parseIsoDuration', () => {
  it('reads every part, fractions in the last one included', () => {
    expect(parseIsoDuration('P1Y2M3W4DT5H6M7.5S')).toEqual({ years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7.5 });
    expect(parseIsoDuration('PT4H')).toMatchObject({ hours: 4, days: 0 });
    expect(parseIsoDuration('P3D')).toMatchObject({ days: 3, hours: 0 });
    expect(parseIsoDuration('PT0,5S')).toMatchObject({ seconds: 0.5 });
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['', 'P', 'PT', 'P1DT', '4h', 'PT4', 'P-1D', 'PT1H2D', 'p1d', '${x}']) expect(parseIsoDuration(bad), bad).toBeUndefined();
  });
});

describe('parseIsoDateTime', () => {
  it('reads a date-time with its offset', () => {
    expect(parseIsoDateTime('2026-03-10T08:00:00+08:00')).toBe(Date.UTC(2026, 2, 10));
    expect(parseIsoDateTime('2026-03-10T00:00Z')).toBe(Date.UTC(2026, 2, 10));
  });

  it('refuses a date-time without an offset, a date alone and an impossible date', () => {
    for (const bad of ['2026-03-10T08:00:00', '2026-03-10', '2026-13-40T00:00:00Z', 'tomorrow']) expect(parseIsoDateTime(bad), bad).toBeUndefined();
  });
});

describe('isExpression', () => {
  it('takes a whole ${…} and nothing else', () => {
    expect(isExpression('${environment.variables.commLossWait}')).toBe(true);
    expect(isExpression('PT${n}H')).toBe(false);
    expect(isExpression('${a}${b}')).toBe(false);
  });

  it('ends a duration from its start: calendar months and years, exact days and time', () => {
    const end = (text: string, start: string) => {
      const d = parseIsoDuration(text);
      if (d === undefined) throw new Error(`not a duration: ${text}`);
      return new Date(isoDurationEnd(d, Date.parse(start))).toISOString();
    };
    expect(end('PT4H', '2026-12-07T03:00:00Z')).toBe('2026-12-07T07:00:00.000Z');
    expect(end('P1DT30M', '2026-12-07T23:45:00Z')).toBe('2026-12-09T00:15:00.000Z');
    expect(end('P1M', '2026-01-15T00:00:00Z')).toBe('2026-02-15T00:00:00.000Z');
    expect(end('P1Y2W', '2024-02-29T12:00:00Z')).toBe('2025-03-15T12:00:00.000Z');
    expect(end('PT0.5S', '2026-12-07T00:00:00Z')).toBe('2026-12-07T00:00:00.500Z');
  });
});
