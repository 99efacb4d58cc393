/** Calendar dates as the API takes them: `YYYY-MM-DD`, a day that exists (no 2026-02-30). */

import { ValidationError } from './errors.js';

/** 00:00 UTC of `date` in ms since the epoch; a 400 ValidationError naming `field` if `date` is malformed or impossible. */
export function utcMidnightOf(date: string, field = 'date'): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const utc = m === null ? Number.NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls an impossible day over (02-30 → 03-02): the round trip tells.
  if (Number.isNaN(utc) || new Date(utc).toISOString().slice(0, 10) !== date) {
    throw new ValidationError(`${field} must be a date YYYY-MM-DD that exists, not ${JSON.stringify(date)}`, field);
  }
  return utc;
}
