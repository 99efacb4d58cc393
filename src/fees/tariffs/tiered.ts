/**
 * 阶梯电价: the price of each kWh depends on how much was used before it in the cycle (the
 * local month or year). The caller says how much the cycle had used before the period
 * (`cycleToDateWh`); a period running into the next cycle starts that one from zero. Where
 * the cumulative consumption crosses a tier bound inside an interval, the interval is split
 * exactly at that Wh, and the moment of crossing is placed in proportion to time.
 */
import type { TimeZone } from './timeZone.js';
import { energyLine, piecesOf, type ChargeLine, type EnergyPiece, type Usage } from './charge.js';
import type { TieredTariff } from './schema.js';

interface TierTotal { wh: bigint; from: number; to: number }

export function tieredLines(def: TieredTariff, zone: TimeZone, u: Usage, digits: number): ChargeLine[] {
  const bounds = def.tiers.map((t) => (t.upToKwh === undefined ? undefined : BigInt(Math.round(t.upToKwh * 1000))));
  const cuts = cycleStarts(zone, def.cycle, u.from, u.to);
  const pieces = piecesOf(u.intervals, (s, e) => cutAt(s, e, cuts));
  const lines: ChargeLine[] = [];
  let cycle: (TierTotal | undefined)[] = [];
  let used = BigInt(u.cycleToDateWh ?? 0);
  let next = 0;
  const close = () => {
    cycle.forEach((t, i) => {
      if (t !== undefined) lines.push(energyLine({ label: `energy, tier ${i + 1}`, tier: i + 1, from: t.from, to: t.to, wh: t.wh, price: def.tiers[i]?.price ?? '0', digits }));
    });
    cycle = [];
  };
  for (const p of pieces) {
    while (next < cuts.length && p.start >= (cuts[next] ?? Infinity)) {
      close();
      used = 0n;
      next++;
    }
    used = walk(p, used, bounds, cycle);
  }
  close();
  return lines;
}

/** Adds a piece to the tiers from `used` on; returns the consumption after it. */
function walk(piece: EnergyPiece, used: bigint, bounds: readonly (bigint | undefined)[], totals: (TierTotal | undefined)[]): bigint {
  const p = { start: piece.start, end: piece.end, wh: BigInt(piece.wh) };
  const span = BigInt(p.end - p.start);
  let done = 0n;
  do {
    const tier = tierOf(used, bounds);
    const bound = bounds[tier];
    const take = bound === undefined || bound - used >= p.wh - done ? p.wh - done : bound - used;
    const from = p.start + (p.wh === 0n ? 0 : Number((span * done) / p.wh));
    const to = done + take === p.wh ? p.end : p.start + Number((span * (done + take)) / p.wh);
    const t = totals[tier];
    totals[tier] = t === undefined ? { wh: take, from, to } : { wh: t.wh + take, from: Math.min(t.from, from), to: Math.max(t.to, to) };
    used += take;
    done += take;
  } while (done < p.wh);
  return used;
}

/** The tier a further Wh falls in after `used`: the first whose bound lies above it. */
function tierOf(used: bigint, bounds: readonly (bigint | undefined)[]): number {
  const i = bounds.findIndex((b) => b === undefined || b > used);
  return i < 0 ? bounds.length - 1 : i;
}

/** Local starts of cycles strictly inside (from, to). */
function cycleStarts(zone: TimeZone, cycle: 'monthly' | 'annual', from: number, to: number): number[] {
  const out: number[] = [];
  const l = zone.local(from);
  let year = l.year;
  let month = l.month;
  for (;;) {
    if (cycle === 'monthly') {
      month += 1;
      if (month > 12) { month = 1; year += 1; }
    } else {
      year += 1;
      month = 1;
    }
    const start = zone.instantOf(year, month, 1);
    if (start >= to) return out;
    if (start > from) out.push(start);
  }
}

function cutAt(start: number, end: number, cuts: readonly number[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let s = start;
  for (const c of cuts) {
    if (c > s && c < end) {
      out.push({ start: s, end: c });
      s = c;
    }
  }
  out.push({ start: s, end });
  return out;
}
