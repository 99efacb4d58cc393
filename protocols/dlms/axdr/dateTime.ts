/**
 * COSEM date, time and date-time (IEC 62056-6-2 §4.1.6.1) as bytes, and date-time ↔ instant.
 *
 *   date-time (12 octets): year(2) month day-of-month day-of-week hour minute second
 *                          hundredths deviation(2, signed) clock-status
 *   date (5): year(2) month day-of-month day-of-week      time (4): hour minute second hundredths
 *
 * "Not specified" is 0xFFFF for year, 0x8000 for deviation and 0xFF for every other field; it
 * decodes to `undefined`. Month 0xFD/0xFE are DST end/begin, day 0xFD/0xFE the second-last/last
 * day of the month. The codec keeps any other octet as sent (a meter's odd month 0 must not
 * fail a whole profile read); calendar validity is checked where an instant is computed.
 *
 * Deviation: UTC = local + deviation (minutes), e.g. −60 for UTC+01:00, −120 for CEST with the
 * DST-active status bit set. The DST offset is already inside the deviation, so the status bit
 * does not change the instant.
 */
import { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsDecodeError, DlmsEncodeError } from '../errors.js';
import type { CosemDate, CosemDateTime, CosemTime } from './data.js';

/** Clock status bits (IEC 62056-6-2 §4.1.6.1). */
export const CLOCK_STATUS = {
  invalidValue: 0x01,
  doubtfulValue: 0x02,
  differentClockBase: 0x04,
  invalidClockStatus: 0x08,
  daylightSavingActive: 0x80,
} as const;

export function readCosemDate(r: ByteReader): CosemDate {
  const year = r.u16('date year');
  const month = r.u8('date month');
  const dayOfMonth = r.u8('date day');
  const dayOfWeek = r.u8('date day of week');
  return {
    year: year === 0xffff ? undefined : year,
    month: month === 0xff ? undefined : month === 0xfe ? 'dst-begin' : month === 0xfd ? 'dst-end' : month,
    dayOfMonth: dayOfMonth === 0xff ? undefined : dayOfMonth === 0xfe ? 'last' : dayOfMonth === 0xfd ? 'second-last' : dayOfMonth,
    dayOfWeek: unspecified(dayOfWeek),
  };
}

export function readCosemTime(r: ByteReader): CosemTime {
  return {
    hour: unspecified(r.u8('time hour')),
    minute: unspecified(r.u8('time minute')),
    second: unspecified(r.u8('time second')),
    hundredths: unspecified(r.u8('time hundredths')),
  };
}

export function readCosemDateTime(r: ByteReader): CosemDateTime {
  const date = readCosemDate(r);
  const time = readCosemTime(r);
  const deviation = r.u16('date-time deviation');
  const clockStatus = r.u8('date-time clock status');
  return { date, time, deviation: deviation === 0x8000 ? undefined : (deviation << 16) >> 16, clockStatus: unspecified(clockStatus) };
}

export function writeCosemDate(w: ByteWriter, d: CosemDate): void {
  w.u16(d.year === undefined ? 0xffff : field('year', d.year, 0xfffe));
  w.u8(d.month === undefined ? 0xff : d.month === 'dst-begin' ? 0xfe : d.month === 'dst-end' ? 0xfd : field('month', d.month, 0xfc));
  w.u8(d.dayOfMonth === undefined ? 0xff : d.dayOfMonth === 'last' ? 0xfe : d.dayOfMonth === 'second-last' ? 0xfd : field('day of month', d.dayOfMonth, 0xfc));
  w.u8(optional('day of week', d.dayOfWeek));
}

export function writeCosemTime(w: ByteWriter, t: CosemTime): void {
  w.u8(optional('hour', t.hour)).u8(optional('minute', t.minute)).u8(optional('second', t.second)).u8(optional('hundredths', t.hundredths));
}

export function writeCosemDateTime(w: ByteWriter, dt: CosemDateTime): void {
  writeCosemDate(w, dt.date);
  writeCosemTime(w, dt.time);
  const dev = dt.deviation;
  if (dev !== undefined && (!Number.isInteger(dev) || dev < -0x7fff || dev > 0x7fff)) encodeFail(`deviation ${dev} is not an int16 other than 0x8000`);
  w.u16(dev === undefined ? 0x8000 : dev & 0xffff);
  w.u8(optional('clock status', dt.clockStatus));
}

/** The 12 octets of a date-time, as carried inside an octet-string (e.g. Clock attribute 2). */
export function encodeCosemDateTime(dt: CosemDateTime): Uint8Array {
  const w = new ByteWriter(12);
  writeCosemDateTime(w, dt);
  return w.toBytes();
}

/** Reads a date-time from exactly 12 octets (the contents of an octet-string). */
export function decodeCosemDateTime(bytes: Uint8Array): CosemDateTime {
  return exactly(bytes, 12, 'date-time', readCosemDateTime);
}

export function encodeCosemDate(d: CosemDate): Uint8Array {
  const w = new ByteWriter(5);
  writeCosemDate(w, d);
  return w.toBytes();
}

export function decodeCosemDate(bytes: Uint8Array): CosemDate {
  return exactly(bytes, 5, 'date', readCosemDate);
}

export function encodeCosemTime(t: CosemTime): Uint8Array {
  const w = new ByteWriter(4);
  writeCosemTime(w, t);
  return w.toBytes();
}

export function decodeCosemTime(bytes: Uint8Array): CosemTime {
  return exactly(bytes, 4, 'time', readCosemTime);
}

export interface ToEpochOptions {
  /** Deviation (minutes, COSEM sign) to assume when the meter sent 0x8000; absent = refuse. */
  readonly deviationIfUnspecified?: number;
}

/**
 * The instant a date-time denotes, in ms since the epoch: its local fields plus the deviation.
 * Throws DlmsDecodeError when a field it needs is not specified or is not a calendar value.
 * The day of week and the clock status are not consulted (check `invalidValue` yourself).
 */
export function cosemDateTimeToEpochMs(dt: CosemDateTime, options: ToEpochOptions = {}): number {
  const f = calendarFields(dt.date, dt.time);
  if (typeof f === 'string') throw new DlmsDecodeError('axdr', `date-time has no instant: ${f}`);
  const deviation = dt.deviation ?? options.deviationIfUnspecified;
  if (deviation === undefined) throw new DlmsDecodeError('axdr', 'date-time has no instant: deviation is not specified');
  return localFieldsToMs(f) + deviation * 60_000;
}

/**
 * The date-time a meter with the given deviation (COSEM sign: UTC = local + deviation) shows
 * at instant `ms`. Hundredths are truncated.
 */
export function epochMsToCosemDateTime(ms: number, deviationMinutes: number, clockStatus: number | undefined = 0): CosemDateTime {
  if (!Number.isFinite(ms)) encodeFail(`instant ${ms} is not finite`);
  if (!Number.isInteger(deviationMinutes) || Math.abs(deviationMinutes) > 0x7fff) encodeFail(`deviation ${deviationMinutes} is not an int16`);
  const local = new Date(Math.floor(ms) - deviationMinutes * 60_000);
  const year = local.getUTCFullYear();
  if (!(year >= 0 && year <= 0xfffe)) encodeFail(`year ${year} cannot be encoded`);
  return {
    date: { year, month: local.getUTCMonth() + 1, dayOfMonth: local.getUTCDate(), dayOfWeek: ((local.getUTCDay() + 6) % 7) + 1 },
    time: { hour: local.getUTCHours(), minute: local.getUTCMinutes(), second: local.getUTCSeconds(), hundredths: Math.floor(local.getUTCMilliseconds() / 10) },
    deviation: deviationMinutes,
    clockStatus,
  };
}

/** Fully specified, calendar-valid local fields of a date and time. */
export interface CalendarFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 when the meter did not specify hundredths. */
  readonly hundredths: number;
}

/** The calendar fields of a date and time, or a reason why they do not name one moment. */
export function calendarFields(date: CosemDate, time: CosemTime): CalendarFields | string {
  const { year, month, dayOfMonth: day } = date;
  const { hour, minute, second, hundredths = 0 } = time;
  if (year === undefined) return 'year is not specified';
  if (typeof month !== 'number') return `month is ${month ?? 'not specified'}`;
  if (typeof day !== 'number') return `day of month is ${day ?? 'not specified'}`;
  if (hour === undefined || minute === undefined || second === undefined) return 'time of day is not fully specified';
  if (month < 1 || month > 12) return `month ${month} is not 1..12`;
  if (day < 1 || day > daysInMonth(year, month)) return `day ${day} is not in ${year}-${month}`;
  if (hour > 23 || minute > 59 || second > 59 || hundredths > 99) return `time ${hour}:${minute}:${second}.${hundredths} is not a time of day`;
  return { year, month, day, hour, minute, second, hundredths };
}

/** ms since the epoch of the local fields read as if they were UTC (proleptic Gregorian). */
export function localFieldsToMs(f: CalendarFields): number {
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  d.setUTCFullYear(f.year, f.month - 1, f.day);
  d.setUTCHours(f.hour, f.minute, f.second, f.hundredths * 10);
  return d.getTime();
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function unspecified(v: number): number | undefined {
  return v === 0xff ? undefined : v;
}

function field(what: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) encodeFail(`${what} ${v} is outside 0..${max} (the octets above are reserved markers)`);
  return v;
}

function optional(what: string, v: number | undefined): number {
  return v === undefined ? 0xff : field(what, v, 0xfe);
}

function encodeFail(message: string): never {
  throw new DlmsEncodeError('axdr', `date-time: ${message}`);
}

function exactly<T>(bytes: Uint8Array, n: number, what: string, read: (r: ByteReader) => T): T {
  if (bytes.length !== n) throw new DlmsDecodeError('axdr', `${what} must be ${n} octets, got ${bytes.length}`, 0);
  return read(new ByteReader(bytes, 'axdr'));
}
