/**
 * Wall-clock time in an IANA time zone, from the platform's tz database (Intl), so daylight
 * saving and historical offset changes are whatever the zone really did. "Local ms" below is
 * the wall clock read as if it were UTC: `Date.UTC(y, m, d, h, min)` of what a clock on the
 * wall shows; arithmetic on it is plain, with no offsets.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Sampling step when looking for an offset change. The tz database has no zone changing offset twice within it. */
const TRANSITION_STEP_MS = 6 * HOUR;

export class TimeZoneError extends Error {
  readonly code = 'FEE_TIME_ZONE';
  constructor(readonly timeZone: string) {
    super(`unknown IANA time zone ${JSON.stringify(timeZone)}`);
    this.name = 'TimeZoneError';
  }
}

export class WallClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    try {
      this.format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new TimeZoneError(timeZone);
    }
  }

  /** Milliseconds to add to an instant to get its wall clock (local ms). */
  offsetAt(ts: number): number {
    const whole = Math.floor(ts / 1000) * 1000;
    let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    for (const p of this.format.formatToParts(whole)) {
      if (p.type === 'year') y = Number(p.value);
      else if (p.type === 'month') mo = Number(p.value);
      else if (p.type === 'day') d = Number(p.value);
      else if (p.type === 'hour') h = Number(p.value);
      else if (p.type === 'minute') mi = Number(p.value);
      else if (p.type === 'second') s = Number(p.value);
    }
    return Date.UTC(y, mo - 1, d, h, mi, s) - whole;
  }

  /** The instant's wall clock, as local ms. */
  local(ts: number): number {
    return ts + this.offsetAt(ts);
  }

  /**
   * The first instant after `from` (and at most `until`) whose offset differs from `from`'s, to
   * the minute; undefined if the offset holds throughout. Offsets change on whole minutes.
   */
  nextTransition(from: number, until: number): number | undefined {
    const offset = this.offsetAt(from);
    let lo = from;
    while (lo < until) {
      const hi = Math.min(lo + TRANSITION_STEP_MS, until);
      if (this.offsetAt(hi) !== offset) return this.firstChange(lo, hi, offset);
      lo = hi;
    }
    return undefined;
  }

  /** Bisection between `lo` (offset `offset`) and `hi` (another offset), on minute boundaries. */
  private firstChange(lo: number, hi: number, offset: number): number {
    let a = Math.floor(lo / MINUTE);
    let b = Math.ceil(hi / MINUTE);
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (this.offsetAt(mid * MINUTE) === offset) a = mid;
      else b = mid;
    }
    return Math.max(b * MINUTE, lo + 1);
  }
}

/**
 * The next instant after `after` at which the wall clock shows `minuteOfDay` (minutes since
 * midnight). On a day that skips that time (spring forward) it is the instant the clock jumps
 * past it; on a day that shows it twice, the first time.
 */
export function nextWallTime(clock: WallClock, after: number, minuteOfDay: number): number {
  const local = clock.local(after);
  let target = Math.floor(local / DAY) * DAY + minuteOfDay * MINUTE;
  if (target <= local) target += DAY;
  const guess = target - clock.offsetAt(target - clock.offsetAt(after));
  // Around a transition the guess may fall on the other offset; settle on the one in force there.
  return target - clock.offsetAt(guess);
}
