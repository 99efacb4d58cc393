/**
 * Timestamps of the convention: epoch milliseconds (a JSON number) or an RFC 3339
 * date-time string. Pure.
 */

export type TimestampParse =
  | { readonly ok: true; readonly ts: number }
  | { readonly ok: false; readonly reason: string };

/** 2000-01-01T00:00:00Z: anything earlier is a device whose clock was never set. */
export const EARLIEST_TS = 946_684_800_000;

/**
 * RFC 3339 §5.6 `date-time`. The separator may be `T`, `t` or a space (§5.6 NOTE);
 * an offset is mandatory, so a local time without zone never sneaks in.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Accepts a timestamp in either form, between {@link EARLIEST_TS} and
 * `receivedAt + maxFutureSkewMs` (a clock running ahead beyond that would file readings
 * under days that have not happened yet).
 */
export function parseTimestamp(value: unknown, receivedAt: number, maxFutureSkewMs: number): TimestampParse {
  let ts: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, reason: 'timestamp is not a finite number' };
    ts = Math.floor(value);
  } else if (typeof value === 'string') {
    const parsed = parseRfc3339(value);
    if (parsed === null) return { ok: false, reason: `"${value.slice(0, 40)}" is not an RFC 3339 date-time with offset` };
    ts = parsed;
  } else {
    return { ok: false, reason: 'timestamp must be epoch milliseconds (number) or an RFC 3339 string' };
  }
  if (ts < EARLIEST_TS) {
    // A seconds-based epoch lands in January 1970; say so, it is the usual mistake.
    const hint = ts > 0 && ts < 1e11 ? ' (epoch seconds? the convention uses milliseconds)' : '';
    return { ok: false, reason: `timestamp ${ts} is before 2000-01-01${hint}` };
  }
  if (ts > receivedAt + maxFutureSkewMs) {
    return { ok: false, reason: `timestamp ${new Date(ts).toISOString()} is more than ${maxFutureSkewMs} ms ahead of the station clock` };
  }
  return { ok: true, ts };
}

/** Epoch ms of an RFC 3339 date-time, or null. Fractions below 1 ms are truncated. */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  if (day > daysInMonth(year, month)) return null;
  const offsetSign = m[9] === '-' ? -1 : 1;
  const offsetMin = m[8] === undefined ? offsetSign * (Number(m[10]) * 60 + Number(m[11])) : 0;
  if (m[8] === undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return null;
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  // RFC 3339 §5.7 allows second 60 for a leap second; epoch time has no such second.
  const sec = Math.min(second, 59);
  return Date.UTC(year, month - 1, day, hour, minute, sec, ms) - offsetMin * 60_000;
}

/** RFC 3339 text of an epoch ms value, UTC. */
export function formatRfc3339(ts: number): string {
  return new Date(ts).toISOString();
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
