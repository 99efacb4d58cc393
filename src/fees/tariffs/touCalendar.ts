/**
 * Time-of-use tariff calendar: which bucket (peak, flat, valley, …) a moment of local time
 * belongs to, and the split of interval consumption across buckets. An interval straddling a
 * period edge is split in proportion to the time on each side. Local time is a fixed offset
 * (the station's) or an IANA zone, whose daylight-saving days have 23 or 25 hours.
 */
import { TimeZone } from './timeZone.js';

export interface TariffPeriod {
  readonly bucket: string;
  /** HH:MM local; `to` at or before `from` runs over midnight (22:00 → 06:00); `24:00` is the end of the day. */
  readonly from: string;
  readonly to: string;
  /** Local weekdays (0 Sunday … 6 Saturday) the period applies on; all when absent. */
  readonly days?: readonly number[];
  /** Months (1 … 12) the period applies in (a season); all when absent. */
  readonly months?: readonly number[];
}

export interface TariffCalendar {
  /** IANA zone of tariff time (Europe/Berlin); wins over `timezoneOffsetMinutes`. */
  readonly timeZone?: string;
  /** Offset of tariff time from UTC; the station's offset when absent. */
  readonly timezoneOffsetMinutes?: number;
  /** Bucket of a moment no period covers. */
  readonly defaultBucket: string;
  /** First match wins. */
  readonly periods: readonly TariffPeriod[];
}

export interface Consumption {
  readonly start: number;
  readonly end: number;
  readonly value: number | null;
}

/** A stretch of time that lies in one bucket. */
export interface TouPiece {
  readonly start: number;
  readonly end: number;
  readonly bucket: string;
}

export class TariffError extends Error {
  readonly code = 'TARIFF';
  constructor(message: string) {
    super(message);
    this.name = 'TariffError';
  }
}

const MINUTE = 60_000;
const DAY_MINUTES = 1440;

/** A compiled calendar: `bucketAt(ts)` and the period edges to split intervals at. */
export class Tariff {
  private readonly zone: TimeZone;
  private readonly periods: readonly { bucket: string; from: number; to: number; days?: ReadonlySet<number>; months?: ReadonlySet<number> }[];
  /** Minutes of the local day where some period starts or ends, sorted. */
  private readonly edges: readonly number[];

  constructor(private readonly calendar: TariffCalendar, stationOffsetMinutes: number) {
    this.zone = calendar.timeZone !== undefined ? TimeZone.named(calendar.timeZone) : TimeZone.fixed(calendar.timezoneOffsetMinutes ?? stationOffsetMinutes);
    this.periods = calendar.periods.map((p) => ({
      bucket: p.bucket, from: minutesOf(p.from), to: minutesOf(p.to),
      ...(p.days === undefined ? {} : { days: new Set(p.days) }),
      ...(p.months === undefined ? {} : { months: new Set(p.months) }),
    }));
    this.edges = [...new Set([0, ...this.periods.flatMap((p) => [p.from % DAY_MINUTES, p.to % DAY_MINUTES])])].sort((a, b) => a - b);
  }

  /** Every bucket name the calendar can produce, default first. */
  buckets(): string[] {
    return [...new Set([this.calendar.defaultBucket, ...this.periods.map((p) => p.bucket)])];
  }

  bucketAt(ts: number): string {
    const { minuteOfDay: minute, weekday: day, month } = this.zone.local(ts);
    for (const p of this.periods) {
      if (p.months !== undefined && !p.months.has(month)) continue;
      if (p.from < p.to) {
        if (minute >= p.from && minute < p.to && (p.days === undefined || p.days.has(day))) return p.bucket;
      } else if (minute >= p.from) {
        if (p.days === undefined || p.days.has(day)) return p.bucket;
      } else if (minute < p.to) {
        // The after-midnight part of an overnight period belongs to the day it started on.
        if (p.days === undefined || p.days.has((day + 6) % 7)) return p.bucket;
      }
    }
    return this.calendar.defaultBucket;
  }

  /** Sums each interval's value into buckets, splitting at period edges in proportion to time. Null values are skipped. */
  split(intervals: readonly Consumption[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const b of this.buckets()) out[b] = 0;
    for (const iv of intervals) {
      if (iv.value === null || iv.end <= iv.start) continue;
      for (const p of this.pieces(iv.start, iv.end)) {
        out[p.bucket] = (out[p.bucket] ?? 0) + (iv.value * (p.end - p.start)) / (iv.end - iv.start);
      }
    }
    return out;
  }

  /** [start, end) cut at every period edge, local midnight and change of offset, in time order, each with its bucket. */
  pieces(start: number, end: number): TouPiece[] {
    const out: TouPiece[] = [];
    let s = start;
    while (s < end) {
      const e = Math.min(end, this.nextEdge(s));
      out.push({ start: s, end: e, bucket: this.bucketAt(s) });
      s = e;
    }
    return out;
  }

  /** The first period edge, local midnight or change of offset strictly after `ts`. */
  private nextEdge(ts: number): number {
    const offset = this.zone.offsetAt(ts);
    const local = ts + offset;
    const dayStart = local - (((local % 86_400_000) + 86_400_000) % 86_400_000);
    const minuteOfDay = (local - dayStart) / MINUTE;
    const next = this.edges.find((m) => m > minuteOfDay) ?? DAY_MINUTES;
    const edge = dayStart + next * MINUTE - offset;
    return this.zone.nextChange(ts, edge) ?? edge;
  }
}

function minutesOf(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (m === null) throw new TariffError(`tariff time ${JSON.stringify(hhmm)} is not HH:MM`);
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (minutes > DAY_MINUTES) throw new TariffError(`tariff time ${hhmm} is past 24:00`);
  return minutes;
}
