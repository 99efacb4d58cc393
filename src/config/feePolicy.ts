/**
 * `fees.policy` (read by src/fees/policy): when the station may disconnect for fees. Utilities must not cut a customer off
 * at night, on rest days or holidays, during a declared emergency, nor before the customer had
 * time to act on the last warning. Rest days follow the national calendar, so make-up working
 * days (调休) can turn a weekend day into a working day.
 */
import Type, { type Static } from 'typebox';
import { strict, type ConfigIssue } from '../../protocols/config.js';
import { TimeZone, UnknownTimeZoneError } from '../fees/tariffs/timeZone.js';
import { CalendarDate, ClockTime } from './clock.js';

/** A holiday: one date, or a range of dates, both ends included. */
const HolidayRange = Type.Object({ from: CalendarDate, to: CalendarDate, name: Type.Optional(Type.String({ maxLength: 100 })) }, strict);

export const FeePolicyConfig = Type.Object(
  {
    /** IANA time zone of every wall-clock rule below; daylight saving follows the zone. */
    timeZone: Type.String({ minLength: 1, maxLength: 64, default: 'Asia/Shanghai' }),
    /** Daily spans with no disconnection; `to` at or before `from` runs over midnight (17:00 → 08:00). */
    forbiddenHours: Type.Array(Type.Object({ from: ClockTime, to: ClockTime }, strict), { maxItems: 24, default: [{ from: '17:00', to: '08:00' }] }),
    /** Rest days, ISO 8601 weekdays (Monday 1 … Sunday 7): no disconnection unless listed in `workingDays`. */
    weekendDays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { maxItems: 7, uniqueItems: true, default: [6, 7] }),
    /** Make-up working days (调休): rest days on which disconnection is allowed. */
    workingDays: Type.Array(CalendarDate, { maxItems: 1_000, default: [] }),
    /** Public holidays: no disconnection on these dates. */
    holidays: Type.Array(Type.Union([CalendarDate, HolidayRange]), { maxItems: 1_000, default: [] }),
    /** Disconnection waits at least this long after the last warning was sent. */
    minHoursAfterLastWarning: Type.Number({ minimum: 0, maximum: 720, default: 24 }),
    /** How far ahead the next allowed window is looked for before the calendar is declared closed. */
    searchHorizonDays: Type.Integer({ minimum: 1, maximum: 3_660, default: 366 }),
  },
  { ...strict, default: {} },
);

export type FeePolicyConfig = Static<typeof FeePolicyConfig>;

const MAX_HOLIDAY_RANGE_DAYS = 366;

/** What the schema cannot say: a real time zone, ranges in order, no date both a holiday and a working day. */
export function checkFeePolicy(p: FeePolicyConfig, at = 'fees.policy'): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  try {
    TimeZone.named(p.timeZone);
  } catch (err) {
    if (!(err instanceof UnknownTimeZoneError)) throw err;
    issues.push({ path: `${at}.timeZone`, message: err.message });
  }
  p.forbiddenHours.forEach((h, i) => {
    if (h.from === '24:00') issues.push({ path: `${at}.forbiddenHours[${i}].from`, message: 'a span starts at 23:59 at the latest' });
    else if (h.from === h.to || (h.from === '00:00' && h.to === '24:00')) issues.push({ path: `${at}.forbiddenHours[${i}].to`, message: 'must differ from from: a span of the whole day forbids every day' });
  });
  const holidayDays = new Set<number>();
  p.holidays.forEach((h, i) => {
    if (typeof h === 'string') {
      if (!isCalendarDate(h)) issues.push({ path: `${at}.holidays[${i}]`, message: `no such date ${h}` });
      else holidayDays.add(localDay(h));
      return;
    }
    if (!isCalendarDate(h.from)) issues.push({ path: `${at}.holidays[${i}].from`, message: `no such date ${h.from}` });
    else if (!isCalendarDate(h.to)) issues.push({ path: `${at}.holidays[${i}].to`, message: `no such date ${h.to}` });
    else if (localDay(h.to) < localDay(h.from)) issues.push({ path: `${at}.holidays[${i}].to`, message: 'must not be before from' });
    else if (localDay(h.to) - localDay(h.from) >= MAX_HOLIDAY_RANGE_DAYS) issues.push({ path: `${at}.holidays[${i}].to`, message: `a holiday range spans at most ${MAX_HOLIDAY_RANGE_DAYS} days` });
    else for (let d = localDay(h.from); d <= localDay(h.to); d++) holidayDays.add(d);
  });
  p.workingDays.forEach((d, i) => {
    if (!isCalendarDate(d)) issues.push({ path: `${at}.workingDays[${i}]`, message: `no such date ${d}` });
    else if (holidayDays.has(localDay(d))) issues.push({ path: `${at}.workingDays[${i}]`, message: `${d} is also a holiday: a date is one or the other` });
  });
  return issues;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` → days since 1970-01-01. */
export function localDay(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** A date that exists (the platform's parser rolls 2025-02-30 over into March). */
export function isCalendarDate(date: string): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date;
}
