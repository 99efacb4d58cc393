import { describe, expect, it } from 'vitest';
import { TimeZone, UnknownTimeZoneError } from '../../../../src/fees/tariffs/timeZone.js';
import { Tariff } from '../../../../src/fees/tariffs/touCalendar.js';

const H = 3_600_000;

describe('TimeZone', () => {
  const berlin = TimeZone.named('Europe/Berlin');

  it('finds the offset and the instant it changes on the daylight-saving days', () => {
    expect(berlin.offsetAt(Date.UTC(2026, 2, 29, 0, 59))).toBe(H);
    expect(berlin.offsetAt(Date.UTC(2026, 2, 29, 1))).toBe(2 * H);
    expect(berlin.nextChange(Date.UTC(2026, 2, 28), Date.UTC(2026, 2, 30))).toBe(Date.UTC(2026, 2, 29, 1));
    expect(berlin.nextChange(Date.UTC(2026, 9, 24), Date.UTC(2026, 9, 26))).toBe(Date.UTC(2026, 9, 25, 1));
    expect(berlin.nextChange(Date.UTC(2026, 5, 1), Date.UTC(2026, 5, 30))).toBeUndefined();
    expect(TimeZone.named('Asia/Shanghai').offsetAt(Date.UTC(2026, 6, 1))).toBe(8 * H);
  });

  it('maps local wall times to instants: a skipped time lands after the jump, a repeated one on its first occurrence', () => {
    expect(berlin.instantOf(2026, 3, 29)).toBe(Date.UTC(2026, 2, 28, 23));
    expect(berlin.instantOf(2026, 3, 30)).toBe(Date.UTC(2026, 2, 29, 22));
    expect(berlin.instantOf(2026, 3, 29, 150)).toBe(Date.UTC(2026, 2, 29, 1, 30)); // 02:30 does not exist: 03:30 CEST
    expect(berlin.instantOf(2026, 10, 25, 150)).toBe(Date.UTC(2026, 9, 25, 0, 30)); // 02:30 CEST, the first of two
    expect(berlin.local(Date.UTC(2026, 9, 25, 1, 30))).toMatchObject({ day: 25, minuteOfDay: 150, weekday: 0 }); // 02:30 CET, the second
  });

  it('refuses a name Intl does not know', () => {
    expect(() => TimeZone.named('Mars/Olympus_Mons')).toThrow(UnknownTimeZoneError);
  });
});

describe('the TOU calendar in an IANA zone', () => {
  it('buckets the 23-hour spring day by local time', () => {
    const t = new Tariff({ timeZone: 'Europe/Berlin', defaultBucket: 'flat', periods: [{ bucket: 'valley', from: '00:00', to: '06:00' }] }, 0);
    // Local 00:00–06:00 on 2026-03-29 is 5 hours long (02:00–03:00 never happens).
    const day = Array.from({ length: 23 }, (_, i) => ({ start: Date.UTC(2026, 2, 28, 23 + i), end: Date.UTC(2026, 2, 28, 24 + i), value: 1 }));
    expect(t.split(day)).toEqual({ flat: 18, valley: 5 });
    expect(t.pieces(Date.UTC(2026, 2, 29, 0, 30), Date.UTC(2026, 2, 29, 1, 30)).map((p) => p.bucket)).toEqual(['valley', 'valley']);
  });
});
