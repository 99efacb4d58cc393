/**
 * Local time of a tariff: a fixed offset from UTC (the station's) or an IANA zone
 * (Asia/Shanghai, Europe/Berlin) whose offset changes with daylight saving time. Local wall
 * time comes from Intl, so a 23-hour or 25-hour day is what the zone database says it is.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Days whose offsets an IANA zone remembers; past it the memo starts over (a long-running station visits few). */
const MAX_REMEMBERED_DAYS = 20_000;

export interface LocalTime {
  readonly year: number;
  /** 1 … 12 */
  readonly month: number;
  /** 1 … 31 */
  readonly day: number;
  /** 0 Sunday … 6 Saturday */
  readonly weekday: number;
  /** Minutes since local midnight, fractions for seconds. */
  readonly minuteOfDay: number;
}

export class UnknownTimeZoneError extends Error {
  readonly code = 'UNKNOWN_TIME_ZONE';
  constructor(readonly timeZone: string) {
    super(`unknown time zone ${JSON.stringify(timeZone)} (expected an IANA name such as Asia/Shanghai)`);
    this.name = 'UnknownTimeZoneError';
  }
}

export abstract class TimeZone {
  /** A zone that is always `offsetMinutes` ahead of UTC. */
  static fixed(offsetMinutes: number): TimeZone {
    return new FixedZone(offsetMinutes * MINUTE);
  }

  /** An IANA zone, one instance per name (its offsets are remembered); throws UnknownTimeZoneError for a name Intl does not know. */
  static named(name: string): TimeZone {
    let zone = ZONES.get(name);
    if (zone === undefined) {
      zone = new IanaZone(name);
      ZONES.set(name, zone);
    }
    return zone;
  }

  /** Local time minus UTC at `ts`, ms. */
  abstract offsetAt(ts: number): number;

  /** The first instant in (ts, until) where the offset changes, if any. */
  abstract nextChange(ts: number, until: number): number | undefined;

  local(ts: number): LocalTime {
    const d = new Date(ts + this.offsetAt(ts));
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay(),
      minuteOfDay: (d.getUTCHours() * 60 + d.getUTCMinutes()) + (d.getUTCSeconds() * 1000 + d.getUTCMilliseconds()) / MINUTE,
    };
  }

  /**
   * The instant a local wall time names. A wall time skipped by a change (02:30 on the spring
   * day in Europe/Berlin) maps to the instant the offset before the change would give, which lies
   * after the change; a repeated one (autumn) to its first occurrence.
   */
  instantOf(year: number, month: number, day: number, minuteOfDay = 0): number {
    const wall = Date.UTC(year, month - 1, day) + minuteOfDay * MINUTE;
    // The offsets in force some hours before and after: no zone changes twice within them.
    const before = wall - this.offsetAt(wall - DAY / 2);
    const after = wall - this.offsetAt(wall + DAY / 2);
    const valid = [before, after].filter((t) => t + this.offsetAt(t) === wall);
    return valid.length === 0 ? before : Math.min(...valid);
  }
}

/** The tz database holds some 600 names, so one instance per name stays bounded. */
const ZONES = new Map<string, TimeZone>();

class FixedZone extends TimeZone {
  constructor(private readonly offsetMs: number) {
    super();
  }

  offsetAt(): number {
    return this.offsetMs;
  }

  nextChange(): undefined {
    return undefined;
  }
}

interface DayOffsets {
  readonly start: number;
  /** The day's one change, if it has one. */
  readonly change?: { readonly at: number; readonly after: number };
}

/**
 * Offsets are found per UTC day: the offset at its start and at the next day's start, and
 * the change between them by bisection to the millisecond. This assumes at most one change
 * per UTC day, which holds for every zone in the tz database since 1970.
 */
class IanaZone extends TimeZone {
  private readonly format: Intl.DateTimeFormat;
  private readonly days = new Map<number, DayOffsets>();

  constructor(readonly name: string) {
    super();
    try {
      this.format = new Intl.DateTimeFormat('en-US', {
        timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new UnknownTimeZoneError(name);
    }
  }

  offsetAt(ts: number): number {
    const d = this.day(Math.floor(ts / DAY));
    return d.change !== undefined && ts >= d.change.at ? d.change.after : d.start;
  }

  nextChange(ts: number, until: number): number | undefined {
    for (let i = Math.floor(ts / DAY); i * DAY < until; i++) {
      const at = this.day(i).change?.at;
      if (at !== undefined && at > ts && at < until) return at;
    }
    return undefined;
  }

  private day(index: number): DayOffsets {
    const known = this.days.get(index);
    if (known !== undefined) return known;
    const t0 = index * DAY;
    const start = this.probe(t0);
    const end = this.probe(t0 + DAY);
    let d: DayOffsets = { start };
    if (end !== start) {
      // Invariant: probe(lo) === start, probe(hi) !== start.
      let lo = t0;
      let hi = t0 + DAY;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (this.probe(mid) === start) lo = mid;
        else hi = mid;
      }
      d = { start, change: { at: hi, after: this.probe(hi) } };
    }
    if (this.days.size >= MAX_REMEMBERED_DAYS) this.days.clear();
    this.days.set(index, d);
    return d;
  }

  private probe(ts: number): number {
    const f: Record<string, number> = {};
    for (const p of this.format.formatToParts(ts)) if (p.type !== 'literal') f[p.type] = Number(p.value);
    const wall = Date.UTC(f.year ?? 1970, (f.month ?? 1) - 1, f.day ?? 1, f.hour ?? 0, f.minute ?? 0, f.second ?? 0);
    return wall - (ts - (((ts % 1000) + 1000) % 1000));
  }
}
