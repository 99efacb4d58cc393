import { describe, expect, it } from 'vitest';
import { UnknownTimeZoneError } from '../../../../src/fees/tariffs/timeZone.js';
import { DisconnectionCalendar, NoDisconnectionWindowError } from '../../../../src/fees/policy/calendar.js';
import { checkFeePolicy } from '../../../../src/config/feePolicy.js';
import { cst, policyConfig as policy } from './fixtures.js';

describe('DisconnectionCalendar', () => {
  const china = new DisconnectionCalendar(policy({
    holidays: [{ from: '2025-10-01', to: '2025-10-08', name: 'National Day' }, '2025-09-30'],
    workingDays: ['2025-09-28', '2025-10-11'],
  }));

  it('is open on a working day between 08:00 and 17:00 and closed at night', () => {
    expect(china.stateAt(cst('2025-09-25', '08:00'))).toEqual({ open: true });
    expect(china.stateAt(cst('2025-09-25', '16:59'))).toEqual({ open: true });
    expect(china.stateAt(cst('2025-09-25', '17:00'))).toEqual({ open: false, reason: 'night' });
    expect(china.stateAt(cst('2025-09-25', '07:59'))).toEqual({ open: false, reason: 'night' });
  });

  it('names a holiday before a rest day and a rest day before the night', () => {
    expect(china.stateAt(cst('2025-10-04', '03:00'))).toEqual({ open: false, reason: 'holiday' });
    expect(china.stateAt(cst('2025-09-27', '03:00'))).toEqual({ open: false, reason: 'weekend' });
  });

  it('waits over the night to 08:00 the next morning', () => {
    expect(china.nextAllowedAt(cst('2025-09-24', '17:30'))).toBe(cst('2025-09-25', '08:00'));
    expect(china.nextAllowedAt(cst('2025-09-25', '10:15'))).toBe(cst('2025-09-25', '10:15'));
  });

  it('opens on a make-up working day (调休) that falls on a weekend', () => {
    // 2025-09-27 is a Saturday; the Sunday after is a make-up working day.
    expect(china.nextAllowedAt(cst('2025-09-27', '10:00'))).toBe(cst('2025-09-28', '08:00'));
  });

  it('skips a holiday range and the weekend after it', () => {
    // Holidays 09-30…10-08, then Thursday 10-09 is a working day.
    expect(china.nextAllowedAt(cst('2025-09-29', '17:30'))).toBe(cst('2025-10-09', '08:00'));
    // Friday 10-10 evening → Saturday 10-11 is a make-up working day.
    expect(china.nextAllowedAt(cst('2025-10-10', '18:00'))).toBe(cst('2025-10-11', '08:00'));
    // Saturday 10-11 evening → Sunday is a rest day → Monday 10-13.
    expect(china.nextAllowedAt(cst('2025-10-11', '18:00'))).toBe(cst('2025-10-13', '08:00'));
  });

  it('finds 08:00 of the right offset across the spring daylight-saving change', () => {
    const berlin = new DisconnectionCalendar(policy({ timeZone: 'Europe/Berlin', weekendDays: [] }));
    // Saturday 2025-03-29 18:00 CET; clocks go forward in the night; 08:00 CEST is 06:00 UTC.
    expect(berlin.nextAllowedAt(Date.parse('2025-03-29T17:00:00Z'))).toBe(Date.parse('2025-03-30T06:00:00Z'));
    // And back in the autumn: 08:00 CET is 07:00 UTC.
    expect(berlin.nextAllowedAt(Date.parse('2025-10-25T16:00:00Z'))).toBe(Date.parse('2025-10-26T07:00:00Z'));
  });

  it('keeps the repeated hour of the autumn change forbidden both times it is shown', () => {
    const berlin = new DisconnectionCalendar(policy({ timeZone: 'Europe/Berlin', weekendDays: [], forbiddenHours: [{ from: '01:00', to: '02:30' }] }));
    // 02:00 CEST (forbidden) → 02:30 CEST.
    expect(berlin.nextAllowedAt(Date.parse('2025-10-26T00:00:00Z'))).toBe(Date.parse('2025-10-26T00:30:00Z'));
    expect(berlin.nextAllowedAt(Date.parse('2025-10-26T00:45:00Z'))).toBe(Date.parse('2025-10-26T00:45:00Z'));
    // 01:00 UTC shows 02:00 CET again: forbidden until 02:30 CET.
    expect(berlin.stateAt(Date.parse('2025-10-26T01:00:00Z'))).toEqual({ open: false, reason: 'night' });
    expect(berlin.nextAllowedAt(Date.parse('2025-10-26T01:00:00Z'))).toBe(Date.parse('2025-10-26T01:30:00Z'));
  });

  it('opens at the jump when the end of a forbidden span falls in the skipped spring hour', () => {
    const berlin = new DisconnectionCalendar(policy({ timeZone: 'Europe/Berlin', weekendDays: [], forbiddenHours: [{ from: '01:00', to: '02:30' }] }));
    // 01:10 CET; 02:30 does not exist that night; the clock jumps from 02:00 CET to 03:00 CEST at 01:00 UTC.
    expect(berlin.nextAllowedAt(Date.parse('2025-03-30T00:10:00Z'))).toBe(Date.parse('2025-03-30T01:00:00Z'));
  });

  it('throws a typed error when the calendar allows nothing within the horizon', () => {
    const closed = new DisconnectionCalendar(policy({ weekendDays: [1, 2, 3, 4, 5, 6, 7], searchHorizonDays: 30 }));
    const at = cst('2025-09-25', '10:00');
    expect(() => closed.nextAllowedAt(at)).toThrow(NoDisconnectionWindowError);
    try {
      closed.nextAllowedAt(at);
    } catch (err) {
      expect(err).toMatchObject({ code: 'FEE_NO_WINDOW', horizonDays: 30, from: at });
    }
  });

  it('finds a window beyond a long closure when the horizon reaches it', () => {
    const long = new DisconnectionCalendar(policy({ holidays: [{ from: '2025-01-01', to: '2025-11-30' }], searchHorizonDays: 366 }));
    expect(long.nextAllowedAt(cst('2025-01-01', '09:00'))).toBe(cst('2025-12-01', '08:00'));
  });

  it('rejects an unknown time zone with a typed error', () => {
    expect(() => new DisconnectionCalendar(policy({ timeZone: 'Mars/Olympus' }))).toThrow(UnknownTimeZoneError);
  });
});

describe('checkFeePolicy', () => {
  it('accepts the defaults', () => {
    expect(checkFeePolicy(policy())).toEqual([]);
  });

  it('names each field that does not hold up', () => {
    const issues = checkFeePolicy(policy({
      timeZone: 'Nowhere/Land',
      forbiddenHours: [{ from: '08:00', to: '08:00' }, { from: '24:00', to: '06:00' }],
      holidays: ['2025-02-29', { from: '2025-10-08', to: '2025-10-01' }, { from: '2025-10-01', to: '2025-10-03' }],
      workingDays: ['2025-10-02', '2025-04-31'],
    }));
    expect(issues.map((i) => i.path)).toEqual([
      'fees.policy.timeZone',
      'fees.policy.forbiddenHours[0].to',
      'fees.policy.forbiddenHours[1].from',
      'fees.policy.holidays[0]',
      'fees.policy.holidays[1].to',
      'fees.policy.workingDays[0]',
      'fees.policy.workingDays[1]',
    ]);
  });
});
