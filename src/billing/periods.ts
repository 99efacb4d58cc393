/** Billing periods in station local time (a fixed UTC offset, no DST, as `station.utcOffsetMinutes`). */

import { utcMidnightOf } from '../domain/calendarDate.js';
import { ValidationError } from '../domain/errors.js';

/** Local midnight starting `date` (YYYY-MM-DD), as ms since the epoch. */
export function localMidnight(date: string, offsetMinutes: number): number {
  return utcMidnightOf(date) - offsetMinutes * 60_000;
}

/** The local month `month` (YYYY-MM): its first midnight and the next month's. */
export function monthBounds(month: string, offsetMinutes: number): { start: number; end: number } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 12) throw new ValidationError(`month ${JSON.stringify(month)} is not YYYY-MM`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  const shift = offsetMinutes * 60_000;
  return { start: Date.UTC(y, mo, 1) - shift, end: Date.UTC(y, mo + 1, 1) - shift };
}
