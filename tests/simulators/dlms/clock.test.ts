import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { encodeCosemDateTime } from '../../../protocols/dlms/axdr/dateTime.js';
import { asDateTime } from '../../../protocols/dlms/axdr/describe.js';
import { DAY, HOUR, MIN, QUARTER, START, dateTimeBound, instantOf, management, method, newMeter, num, read, ref, rows } from './meterFixture.js';

const CLOCK = '0.0.1.0.0.255';
type Meter = ReturnType<typeof newMeter>;
const clockAt = (m: Meter, t: number) => instantOf(read(m, 8, CLOCK, 2, t));
const setTime = (m: Meter, t: number, value: DlmsData) => m.set(ref(8, CLOCK, 2), value, management(t));

describe('simulated meter clock', () => {
  it('moves when set, and keeps running from the new time', () => {
    const m = newMeter();
    const t = START + 3 * MIN;
    expect(setTime(m, t, dateTimeBound(t + HOUR))).toBe('success');
    expect(clockAt(m, t)).toBe(t + HOUR);
    expect(clockAt(m, t + 10 * MIN)).toBe(t + HOUR + 10 * MIN);
  });

  it('accepts the date-time type as well as the octet-string, and refuses a time with wildcards', () => {
    const m = newMeter();
    const t = START + MIN;
    const octets = dateTimeBound(t - 30_000);
    const dt = asDateTime(octets);
    expect(setTime(m, t, { type: 'date-time', value: dt })).toBe('success');
    expect(clockAt(m, t)).toBe(t - 30_000);
    const wildcard = { ...dt, time: { ...dt.time, hour: undefined } };
    expect(setTime(m, t, { type: 'octet-string', value: encodeCosemDateTime(wildcard) })).toBe('other-reason');
    expect(setTime(m, t, { type: 'octet-string', value: new Uint8Array(11) })).toBe('type-unmatched');
  });

  it('drifts by the configured seconds per day from the configured offset', () => {
    const m = newMeter({ clockOffsetSeconds: 12, clockDriftSecondsPerDay: -8 });
    expect(clockAt(m, START)).toBe(START + 12_000);
    expect(clockAt(m, START + DAY)).toBe(START + DAY + 4_000);
  });

  it('shifts by shift_time seconds and rounds with adjust_to_minute and adjust_to_quarter', () => {
    const m = newMeter();
    const t = START + 7 * MIN + 40_000;
    expect(m.action(method(8, CLOCK, 6), { type: 'long', value: -100 }, management(t))).toEqual({ result: 'success' });
    expect(clockAt(m, t)).toBe(t - 100_000);
    expect(m.action(method(8, CLOCK, 6), { type: 'long', value: 901 }, management(t))).toEqual({ result: 'other-reason' });
    expect(m.action(method(8, CLOCK, 3), { type: 'integer', value: 0 }, management(t))).toEqual({ result: 'success' });
    expect(clockAt(m, t)).toBe(START + 6 * MIN);
    expect(m.action(method(8, CLOCK, 1), { type: 'integer', value: 0 }, management(t + 2 * MIN))).toEqual({ result: 'success' });
    expect(clockAt(m, t + 2 * MIN)).toBe(START + QUARTER);
  });

  it('shows local time at a changed time_zone', () => {
    const m = newMeter();
    const t = START + MIN;
    expect(m.set(ref(8, CLOCK, 3), { type: 'long', value: -120 }, management(t))).toBe('success');
    const dt = asDateTime(read(m, 8, CLOCK, 2, t));
    expect([dt.time.hour, dt.time.minute, dt.deviation]).toEqual([13, 1, -120]);
    expect(instantOf(read(m, 8, CLOCK, 2, t))).toBe(t);
    expect(m.set(ref(8, CLOCK, 3), { type: 'long', value: 900 }, management(t))).toBe('other-reason');
  });

  it('stamps the load profile by the meter’s clock and flags the capture after a clock adjustment', () => {
    const m = newMeter();
    const t = START + 20 * MIN;
    // 12:20 local → 12:40 local: the 12:30 boundary is skipped, the next row is 12:45.
    expect(setTime(m, t, dateTimeBound(t + 20 * MIN))).toBe('success');
    const lp = rows(read(m, 7, '1.0.99.1.0.255', 2, START + HOUR));
    const live = lp.filter((r) => instantOf(r[0]) > START);
    expect(live.map((r) => instantOf(r[0]))).toEqual([START + QUARTER, START + 3 * QUARTER, START + 4 * QUARTER, START + 5 * QUARTER]);
    expect(live.map((r) => num(r[1]))).toEqual([0, 0x20, 0, 0]);
  });
});
