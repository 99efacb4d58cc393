import { describe, expect, it } from 'vitest';
import { Tariff, TariffError } from '../../../../src/fees/tariffs/touCalendar.js';

const Q = 15 * 60_000;
const OFFSET = 480; // UTC+8
/** Local midnight of 2026-03-10 (a Tuesday) at UTC+8. */
const DAY = Date.UTC(2026, 2, 10) - OFFSET * 60_000;

const tariff = new Tariff({
  defaultBucket: 'flat',
  periods: [
    { bucket: 'peak', from: '08:00', to: '12:00' },
    { bucket: 'peak', from: '18:00', to: '22:00' },
    { bucket: 'valley', from: '22:00', to: '06:00' },
  ],
}, OFFSET);

describe('Tariff', () => {
  it('splits a day of uniform quarter-hour consumption exactly by local time', () => {
    const intervals = Array.from({ length: 96 }, (_, i) => ({ start: DAY + i * Q, end: DAY + (i + 1) * Q, value: 0.25 }));
    expect(tariff.split(intervals)).toEqual({ flat: 8, peak: 8, valley: 8 });
  });

  it('splits an interval straddling a period edge in proportion to time', () => {
    const start = DAY + 7 * 3_600_000 + 50 * 60_000; // 07:50 local
    expect(tariff.split([{ start, end: start + Q, value: 3 }])).toEqual({ flat: 2, peak: 1, valley: 0 });
  });

  it('skips intervals without a value', () => {
    expect(tariff.split([{ start: DAY, end: DAY + Q, value: null }])).toEqual({ flat: 0, peak: 0, valley: 0 });
  });

  it('applies day-limited periods on their weekdays, the after-midnight part to the start day', () => {
    const weekend = new Tariff({ defaultBucket: 'flat', periods: [{ bucket: 'valley', from: '20:00', to: '08:00', days: [6] }] }, 0);
    const saturday = Date.UTC(2026, 2, 14);
    expect(weekend.bucketAt(saturday + 21 * 3_600_000)).toBe('valley');
    expect(weekend.bucketAt(saturday + 24 * 3_600_000 + 3_600_000)).toBe('valley'); // Sunday 01:00
    expect(weekend.bucketAt(saturday + 3_600_000)).toBe('flat'); // Saturday 01:00 belongs to Friday night
  });

  it('honours its own timezone offset over the station one', () => {
    const utc = new Tariff({ timezoneOffsetMinutes: 0, defaultBucket: 'flat', periods: [{ bucket: 'peak', from: '08:00', to: '09:00' }] }, OFFSET);
    expect(utc.bucketAt(Date.UTC(2026, 2, 10, 8, 30))).toBe('peak');
  });

  it('rejects a malformed period time', () => {
    expect(() => new Tariff({ defaultBucket: 'flat', periods: [{ bucket: 'x', from: '8:00', to: '09:00' }] }, 0)).toThrow(TariffError);
  });
});
