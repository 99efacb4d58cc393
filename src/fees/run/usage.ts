/**
 * What a meter consumed over a charge period, in integer Wh per 15-minute interval, from the
 * billing module's validated interval data (src/billing/vee.ts: register deltas with rollover and
 * meter replacement accounted, gaps estimated, spikes and drops suspect).
 *
 * A period is charged up to the newest data only: it ends at the first interval with no value,
 * so consumption is never skipped (what a gap holds is charged once reads resume, across it) nor
 * charged twice (the next period starts where this one ended). Rounding to Wh is cumulative and
 * its remainder carried into the next period, so the periods of a meter add up to its energy to
 * the Wh, however they are cut.
 */
import type { BillingService, IntervalRow } from '../../billing/service.js';
import type { Usage } from '../tariffs/index.js';

/** `valid`: every interval measured; `provisional`: some estimated or suspect, to be trued up once valid data arrives. */
export type UsageQuality = 'valid' | 'provisional';

export interface MeterUsage {
  readonly meterId: string;
  readonly usage: Usage;
  readonly quality: UsageQuality;
  readonly totalWh: number;
  /** Rounding remainder (Wh, |r| < 1) to carry into the meter's next period. */
  readonly carryWh: number;
  /** Intervals estimated or suspect. */
  readonly provisionalIntervals: number;
}

/** Interval data in a unit that is not energy. */
export class UsageUnitError extends Error {
  readonly code = 'FEE_USAGE_UNIT';
  constructor(readonly meterId: string, readonly unit: string) {
    super(`meter ${meterId}: interval data in ${JSON.stringify(unit)} cannot be charged (expected Wh, kWh or MWh)`);
    this.name = 'UsageUnitError';
  }
}

const WH_PER: Readonly<Record<string, number>> = { Wh: 1, kWh: 1_000, MWh: 1_000_000 };

/**
 * The chargeable prefix of a meter's intervals (oldest first, contiguous, from the meter's
 * charge cursor): every interval up to the first missing one. Undefined when the first is missing.
 * @param carryWh the remainder the meter's previous period left.
 */
export function usageFromIntervals(meterId: string, rows: readonly IntervalRow[], carryWh: number): MeterUsage | undefined {
  const intervals: { start: number; end: number; importWh: number }[] = [];
  let exact = carryWh;
  let charged = 0;
  let provisional = 0;
  for (const row of rows) {
    if (row.value === null || row.status === 'missing') break;
    const factor = WH_PER[row.unit];
    if (factor === undefined) throw new UsageUnitError(meterId, row.unit);
    const last = intervals[intervals.length - 1];
    if (last !== undefined && row.start !== last.end) break;
    if (row.status !== 'valid') provisional++;
    // A suspect drop is no consumption; the true-up charges what valid data shows.
    exact += Math.max(0, row.value) * factor;
    const upTo = Math.round(exact) + 0; // never -0
    intervals.push({ start: row.start, end: row.end, importWh: upTo - charged });
    charged = upTo;
  }
  const first = intervals[0];
  const last = intervals[intervals.length - 1];
  if (first === undefined || last === undefined) return undefined;
  return {
    meterId,
    usage: { from: first.start, to: last.end, intervals },
    quality: provisional === 0 ? 'valid' : 'provisional',
    totalWh: charged,
    carryWh: exact - charged,
    provisionalIntervals: provisional,
  };
}

/** Where a meter's charging stands: the end of its last charged period and the rounding it left. */
export interface ChargeCursor {
  readonly from: number;
  readonly carryWh: number;
}

/** The billing reads the charger needs (src/billing/service.ts). */
export type IntervalSource = Pick<BillingService, 'intervals' | 'consumption'>;

/**
 * A meter's usage from its cursor up to `until` (a quarter-hour edge), as far as data reaches.
 * A gap too long for VEE to estimate, once reads resume after it, is charged as one interval
 * over the gap with the register's delta across it: measured in total, estimated in shape, so
 * provisional. Undefined while there is nothing new to charge.
 */
export async function readMeterUsage(billing: IntervalSource, meterId: string, cursor: ChargeCursor, until: number): Promise<MeterUsage | undefined> {
  if (until <= cursor.from) return undefined;
  const rows = await billing.intervals(meterId, cursor.from, until);
  const resumed = rows.findIndex((r) => r.value !== null && r.status !== 'missing');
  const gapEnd = rows[resumed];
  if (resumed <= 0 || gapEnd === undefined) return usageFromIntervals(meterId, resumed === 0 ? rows : [], cursor.carryWh);
  const across = await billing.consumption(meterId, cursor.from, gapEnd.start);
  if (across.value === null || across.status === 'missing') return undefined;
  const bridge: IntervalRow = { ...gapEnd, start: cursor.from, end: gapEnd.start, value: across.value, raw: across.value, status: 'estimated', source: 'interpolated', flags: ['gap', ...across.flags] };
  return usageFromIntervals(meterId, [bridge, ...rows.slice(resumed)], cursor.carryWh);
}
