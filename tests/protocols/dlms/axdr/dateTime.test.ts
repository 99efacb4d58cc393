import { describe, expect, it } from 'vitest';
import type { CosemDateTime } from '../../../../protocols/dlms/axdr/data.js';
import {
  CLOCK_STATUS,
  cosemDateTimeToEpochMs,
  decodeCosemDate,
  decodeCosemDateTime,
  decodeCosemTime,
  encodeCosemDate,
  encodeCosemDateTime,
  encodeCosemTime,
  epochMsToCosemDateTime,
} from '../../../../protocols/dlms/axdr/dateTime.js';
import { decodeErrorOf, encodeErrorOf, hex, toHex } from './helpers.js';

const at = (date: [number, number, number, number], time: [number, number, number, number], deviation: number | undefined, clockStatus: number | undefined = 0): CosemDateTime => ({
  date: { year: date[0], month: date[1], dayOfMonth: date[2], dayOfWeek: date[3] },
  time: { hour: time[0], minute: time[1], second: time[2], hundredths: time[3] },
  deviation,
  clockStatus,
});

describe('COSEM date-time octets', () => {
  it('encodes the 12 octets carried in an octet-string (Clock attribute 2)', () => {
    const dt = at([2026, 11, 26, 4], [1, 2, 3, 0], -60, CLOCK_STATUS.daylightSavingActive);
    // year 07ea, month 0b, day 1a, Thursday 04, 01:02:03.00, deviation ffc4 (−60), status 80
    expect(toHex(encodeCosemDateTime(dt))).toBe('07 ea 0b 1a 04 01 02 03 00 ff c4 80');
    expect(decodeCosemDateTime(hex('07 ea 0b 1a 04 01 02 03 00 ff c4 80'))).toEqual(dt);
  });

  it('maps every "not specified" marker to undefined and back', () => {
    const all = hex('ff ff ff ff ff ff ff ff ff 80 00 ff');
    const dt = decodeCosemDateTime(all);
    expect(dt).toEqual({
      date: { year: undefined, month: undefined, dayOfMonth: undefined, dayOfWeek: undefined },
      time: { hour: undefined, minute: undefined, second: undefined, hundredths: undefined },
      deviation: undefined,
      clockStatus: undefined,
    });
    expect(toHex(encodeCosemDateTime(dt))).toBe(toHex(all));
  });

  it('keeps DST begin/end months and last/second-last days', () => {
    // every year, month 0xfe (DST begin), day 0xfe (last), Sunday 07, 02:00
    const d = decodeCosemDate(hex('ff ff fe fe 07'));
    expect(d).toEqual({ year: undefined, month: 'dst-begin', dayOfMonth: 'last', dayOfWeek: 7 });
    expect(toHex(encodeCosemDate(d))).toBe('ff ff fe fe 07');
    const e = decodeCosemDate(hex('07 e8 fd fd ff'));
    expect(e).toEqual({ year: 2024, month: 'dst-end', dayOfMonth: 'second-last', dayOfWeek: undefined });
    expect(toHex(encodeCosemDate(e))).toBe('07 e8 fd fd ff');
    expect(decodeCosemTime(hex('02 00 ff ff'))).toEqual({ hour: 2, minute: 0, second: undefined, hundredths: undefined });
    expect(toHex(encodeCosemTime({ hour: 23, minute: 59, second: 59, hundredths: 99 }))).toBe('17 3b 3b 63');
  });

  it('refuses a date-time, date or time of the wrong size', () => {
    expect(decodeErrorOf(() => decodeCosemDateTime(new Uint8Array(11))).message).toMatch(/12 octets/);
    decodeErrorOf(() => decodeCosemDate(new Uint8Array(6)));
    decodeErrorOf(() => decodeCosemTime(new Uint8Array(3)));
  });
});

describe('date-time and instants', () => {
  it('applies the deviation as UTC = local + deviation', () => {
    // 01:02:03 local at UTC+01:00 (deviation −60) is 00:02:03 UTC
    expect(cosemDateTimeToEpochMs(at([2026, 11, 26, 4], [1, 2, 3, 0], -60))).toBe(Date.UTC(2026, 10, 26, 0, 2, 3));
    // the Kaifa capture from a Vorarlberg meter: 2024-06-15 20:23:45, deviation −120, DST → 18:23:45 UTC
    const kaifa = decodeCosemDateTime(hex('07 e8 06 0f 06 14 17 2d 00 ff 88 80'));
    expect(cosemDateTimeToEpochMs(kaifa)).toBe(Date.UTC(2024, 5, 15, 18, 23, 45));
    // a meter west of UTC: 20:00 at UTC−05:00 (deviation +300) is 01:00 UTC the next day
    expect(cosemDateTimeToEpochMs(at([2024, 12, 31, 2], [20, 0, 0, 50], 300))).toBe(Date.UTC(2025, 0, 1, 1, 0, 0, 500));
  });

  it('converts an instant to what a meter at a given deviation shows, and back', () => {
    const ms = Date.UTC(2026, 10, 26, 0, 2, 3, 456);
    const dt = epochMsToCosemDateTime(ms, -60, CLOCK_STATUS.daylightSavingActive);
    expect(dt).toEqual(at([2026, 11, 26, 4], [1, 2, 3, 45], -60, 0x80));
    expect(cosemDateTimeToEpochMs(dt)).toBe(ms - 6); // hundredths truncate the last 6 ms
    for (let i = 0; i < 500; i++) {
      const t = Math.floor((i * 7919 * 86_400_000) / 13) * 10; // spread over ~80 years, whole hundredths
      const dev = ((i * 37) % 1441) - 720;
      const back = epochMsToCosemDateTime(t, dev);
      expect(back.date.dayOfWeek).toBe(((new Date(t - dev * 60_000).getUTCDay() + 6) % 7) + 1);
      expect(cosemDateTimeToEpochMs(back)).toBe(t);
    }
  });

  it('handles leap days and years below 100 without the Date.UTC 1900 offset', () => {
    expect(cosemDateTimeToEpochMs(at([2024, 2, 29, 4], [12, 0, 0, 0], 0))).toBe(Date.UTC(2024, 1, 29, 12));
    const y50 = new Date(0);
    y50.setUTCFullYear(50, 0, 1);
    expect(cosemDateTimeToEpochMs(at([50, 1, 1, 6], [0, 0, 0, 0], 0))).toBe(y50.getTime());
  });

  it('refuses to invent an instant from unspecified or impossible fields', () => {
    const base = at([2026, 11, 26, 4], [1, 2, 3, 0], -60);
    const cases: [CosemDateTime, RegExp][] = [
      [{ ...base, date: { ...base.date, year: undefined } }, /year is not specified/],
      [{ ...base, date: { ...base.date, month: 'dst-begin' } }, /month is dst-begin/],
      [{ ...base, date: { ...base.date, dayOfMonth: 'last' } }, /day of month is last/],
      [{ ...base, time: { ...base.time, second: undefined } }, /time of day/],
      [{ ...base, deviation: undefined }, /deviation is not specified/],
      [{ ...base, date: { ...base.date, month: 13 } }, /month 13/],
      [{ ...base, date: { ...base.date, year: 2025, month: 2, dayOfMonth: 29 } }, /day 29/],
      [{ ...base, time: { ...base.time, hour: 24 } }, /not a time of day/],
    ];
    for (const [dt, message] of cases) expect(decodeErrorOf(() => cosemDateTimeToEpochMs(dt)).message).toMatch(message);
    // unspecified hundredths count as 0; a caller may supply the deviation a meter left out
    expect(cosemDateTimeToEpochMs({ ...base, time: { ...base.time, hundredths: undefined } })).toBe(Date.UTC(2026, 10, 26, 0, 2, 3));
    expect(cosemDateTimeToEpochMs({ ...base, deviation: undefined }, { deviationIfUnspecified: 0 })).toBe(Date.UTC(2026, 10, 26, 1, 2, 3));
  });

  it('refuses instants and deviations that cannot be encoded', () => {
    encodeErrorOf(() => epochMsToCosemDateTime(NaN, 0));
    encodeErrorOf(() => epochMsToCosemDateTime(0, 0.5));
    encodeErrorOf(() => epochMsToCosemDateTime(Date.UTC(-1, 0, 1), 0));
  });
});
