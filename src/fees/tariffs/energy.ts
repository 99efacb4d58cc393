/**
 * Energy charges by time: one price (flat) or a price per TOU bucket (峰谷分时), the buckets
 * drawn by the billing module's TOU calendar in the tariff's IANA time zone.
 */
import { Tariff as TouCalendar } from './touCalendar.js';
import { energyLine, piecesOf, type ChargeLine, type EnergyPiece, type Usage } from './charge.js';
import type { TouFields } from './schema.js';

export interface EnergyPricing {
  lines(u: Usage, digits: number): ChargeLine[];
}

export function flatEnergy(price: string): EnergyPricing {
  return {
    lines: (u, digits) => {
      const wh = u.intervals.reduce((a, iv) => a + iv.importWh, 0);
      return [energyLine({ label: 'energy', from: u.from, to: u.to, wh, price, digits })];
    },
  };
}

/** A line per bucket the period touches, in the order of `prices`; an interval across an edge is split in proportion to time. */
export function touEnergy(fields: TouFields, timeZone: string): EnergyPricing {
  const calendar = touCalendar(fields, timeZone);
  const order = Object.keys(fields.prices);
  return {
    lines: (u, digits) => {
      const byBucket = new Map<string, { wh: number; from: number; to: number }>();
      for (const p of piecesOf(u.intervals, (s, e) => calendar.pieces(s, e))) add(byBucket, p);
      return order.flatMap((bucket) => {
        const b = byBucket.get(bucket);
        return b === undefined ? [] : [energyLine({ label: `energy, ${bucket}`, bucket, from: b.from, to: b.to, wh: b.wh, price: fields.prices[bucket] ?? '0', digits })];
      });
    },
  };
}

/** The seasons as the calendar's periods: a season is the months its periods apply in. */
export function touCalendar(fields: TouFields, timeZone: string): TouCalendar {
  const periods = fields.seasons.flatMap((season) => season.periods.map((p) => ({
    bucket: p.bucket, from: p.from, to: p.to,
    ...(p.weekdays === undefined ? {} : { days: p.weekdays }),
    ...(season.months === undefined ? {} : { months: season.months }),
  })));
  // Without a default bucket the periods cover every minute (check.ts), so the fallback is never read.
  const defaultBucket = fields.defaultBucket ?? periods[0]?.bucket ?? '';
  return new TouCalendar({ timeZone, defaultBucket, periods }, 0);
}

function add(byBucket: Map<string, { wh: number; from: number; to: number }>, p: EnergyPiece): void {
  const bucket = p.bucket ?? '';
  const b = byBucket.get(bucket);
  if (b === undefined) byBucket.set(bucket, { wh: p.wh, from: p.start, to: p.end });
  else {
    b.wh += p.wh;
    b.from = Math.min(b.from, p.start);
    b.to = Math.max(b.to, p.end);
  }
}
