/**
 * The disconnection calendar: at which instants the station may disconnect for fees, and the
 * next such instant. Rules are in wall-clock time of one IANA zone (read as local ms: the wall
 * clock as if it were UTC, so arithmetic on it needs no offsets) (night hours, rest days,
 * make-up working days, holidays); the emergency flag is not part of it, since nobody knows in
 * advance when an emergency ends, so the caller weighs it at decision time.
 */
import { clockMinutes } from '../../rules/loadControl/limits.js';
import { localDay, type FeePolicyConfig } from '../../config/feePolicy.js';
import { TimeZone } from '../tariffs/timeZone.js';

/** Why the calendar is closed at an instant; when several hold, the first of holiday, weekend, night. */
export type ClosedReason = 'holiday' | 'weekend' | 'night';

export type WindowState = { readonly open: true } | { readonly open: false; readonly reason: ClosedReason };

/** The calendar allows no disconnection at all within the search horizon. */
export class NoDisconnectionWindowError extends Error {
  readonly code = 'FEE_NO_WINDOW';
  constructor(
    readonly from: number,
    readonly horizonDays: number,
  ) {
    super(`the disconnection calendar allows no disconnection within ${horizonDays} days of ${new Date(from).toISOString()}`);
    this.name = 'NoDisconnectionWindowError';
  }
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const DAY_MINUTES = 1_440;
const OPEN: WindowState = { open: true };
const CLOSED: Readonly<Record<ClosedReason, WindowState>> = {
  holiday: { open: false, reason: 'holiday' },
  weekend: { open: false, reason: 'weekend' },
  night: { open: false, reason: 'night' },
};

export class DisconnectionCalendar {
  readonly zone: TimeZone;
  /** Local days (days since 1970-01-01 on the wall clock). */
  private readonly holidays: ReadonlySet<number>;
  private readonly workingDays: ReadonlySet<number>;
  private readonly weekend: ReadonlySet<number>;
  /** Forbidden minutes of every day as sorted, merged [start, end) ranges within 0…1440. */
  private readonly night: readonly (readonly [number, number])[];
  private readonly horizonDays: number;

  constructor(p: FeePolicyConfig) {
    this.zone = TimeZone.named(p.timeZone);
    const holidays = new Set<number>();
    for (const h of p.holidays) {
      const [from, to] = typeof h === 'string' ? [h, h] : [h.from, h.to];
      for (let d = localDay(from); d <= localDay(to); d++) holidays.add(d);
    }
    this.holidays = holidays;
    this.workingDays = new Set(p.workingDays.map(localDay));
    this.weekend = new Set(p.weekendDays);
    this.night = mergeRanges(p.forbiddenHours.flatMap(({ from, to }) => {
      const a = clockMinutes(from);
      const b = clockMinutes(to);
      return a < b ? [[a, b] as const] : [[a, DAY_MINUTES] as const, [0, b] as const];
    }));
    this.horizonDays = p.searchHorizonDays;
  }

  stateAt(ts: number): WindowState {
    const reason = this.closedAt(ts + this.zone.offsetAt(ts));
    return reason === undefined ? OPEN : CLOSED[reason];
  }

  /**
   * The earliest instant at or after `ts` at which the calendar is open. The offset of the zone
   * is constant between its transitions, and there the wall clock runs with the instant; so the
   * search goes from one such segment to the next, and the answer is never inside a forbidden
   * span, also across daylight-saving changes (a skipped hour, a repeated one).
   * @throws NoDisconnectionWindowError when nothing is open within `searchHorizonDays`.
   */
  nextAllowedAt(ts: number): number {
    const limit = ts + this.horizonDays * DAY;
    let t = ts;
    while (t <= limit) {
      const offset = this.zone.offsetAt(t);
      const local = this.nextOpenLocal(t + offset, limit + offset);
      if (local === undefined) break;
      const candidate = Math.max(local - offset, t);
      // The first change of offset in (t, candidate]: the candidate only holds if there is none.
      const transition = this.zone.nextChange(t, candidate + 1);
      if (transition === undefined) return candidate;
      t = transition;
    }
    throw new NoDisconnectionWindowError(ts, this.horizonDays);
  }

  /** Why the calendar is closed at a wall-clock time (local ms), or undefined when open. */
  private closedAt(local: number): ClosedReason | undefined {
    const day = Math.floor(local / DAY);
    if (this.holidays.has(day)) return 'holiday';
    if (this.weekend.has(isoWeekday(day)) && !this.workingDays.has(day)) return 'weekend';
    const minute = Math.floor((local - day * DAY) / MINUTE);
    return this.night.some(([a, b]) => minute >= a && minute < b) ? 'night' : undefined;
  }

  /** The first open wall-clock time at or after `local`, if one comes before `limit`; jumps over closed days and spans whole. */
  private nextOpenLocal(local: number, limit: number): number | undefined {
    let at = local;
    while (at <= limit) {
      const reason = this.closedAt(at);
      if (reason === undefined) return at;
      const day = Math.floor(at / DAY);
      if (reason !== 'night') {
        at = (day + 1) * DAY;
        continue;
      }
      const minute = Math.floor((at - day * DAY) / MINUTE);
      const span = this.night.find(([a, b]) => minute >= a && minute < b);
      at = day * DAY + (span?.[1] ?? minute + 1) * MINUTE;
    }
    return undefined;
  }
}

/** ISO 8601 weekday of a day since 1970-01-01 (a Thursday): Monday 1 … Sunday 7. */
function isoWeekday(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

function mergeRanges(ranges: readonly (readonly [number, number])[]): (readonly [number, number])[] {
  const sorted = [...ranges].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
