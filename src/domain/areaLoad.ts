/**
 * The one definition of an area's load and of its transformer's limit, shared by the
 * overload rule (src/rules/areaLoad.ts), the live overview (src/live/overview.ts), load
 * control (src/rules/loadControl/measure.ts) and the OPC UA area loads, so that none of
 * them calls an area normal while another judges it overloaded:
 *
 * - which meters count: the area's (and its sub-areas') meters, except the excluded ones:
 *   a supply meter measures what the customers draw, so summing it would count the load twice;
 * - which values count: a meter's latest `power.active` that is not `bad` and at most
 *   `freshMs` old by device time (`now - ts <= freshMs`);
 * - the load: the sum of the counted values, unknown (null) when none counts;
 * - the limit: the transformer's kVA rating × the power factor, none without a rating;
 * - the loading ratio: load ÷ limit.
 *
 * The counts of fresh, stale and missing meters let a caller say how complete the figure is.
 * Pure: time and values are handed in.
 */
import type { Quality } from './reading.js';

export interface AreaLoadSettings {
  /** A meter's power counts while at most this old (device time), ms. */
  readonly freshMs: number;
  /** Turns a transformer's kVA rating into its kW limit. */
  readonly powerFactor: number;
  /** Meters never summed into an area's load (supply meters). */
  readonly excluded: ReadonlySet<string>;
}

/** The station's defaults (`station.areaLoadFreshMs`, `station.transformerPowerFactor`), nothing excluded. */
export const DEFAULT_AREA_LOAD: AreaLoadSettings = { freshMs: 15 * 60_000, powerFactor: 0.9, excluded: new Set() };

/** A meter's latest `power.active`, kW, with its device time. */
export interface PowerValue {
  readonly value: number;
  readonly ts: number;
  readonly quality?: Quality;
}

/** How one meter's latest power counts: summed, too old (or bad), or never read. */
export type PowerStanding = 'fresh' | 'stale' | 'missing';

export interface AreaLoad {
  /** Σ fresh power of the counted meters, kW; null when none is fresh. */
  readonly loadKw: number | null;
  /** The transformer's limit, kW; null without a rating. */
  readonly limitKw: number | null;
  /** loadKw ÷ limitKw; null when either is unknown. */
  readonly loadRatio: number | null;
  /** Counted meters (excluded ones left out) = fresh + stale + missing. */
  readonly meters: number;
  readonly fresh: number;
  readonly stale: number;
  readonly missing: number;
}

/** Running counts of one area's meters, for callers that roll areas up a tree. */
export interface AreaLoadCounts {
  loadKw: number;
  meters: number;
  fresh: number;
  stale: number;
  missing: number;
}

export function powerStanding(v: PowerValue | undefined, now: number, freshMs: number): PowerStanding {
  if (v === undefined) return 'missing';
  return v.quality === 'bad' || now - v.ts > freshMs ? 'stale' : 'fresh';
}

/** The last instant a value measured at `ts` still counts; it is stale from the next millisecond. */
export function freshUntil(ts: number, freshMs: number): number {
  return ts + freshMs;
}

/** kVA × power factor; null for an area without a rating. */
export function transformerLimitKw(transformerKva: number | null, powerFactor: number): number | null {
  return transformerKva === null ? null : transformerKva * powerFactor;
}

export function emptyAreaLoadCounts(): AreaLoadCounts {
  return { loadKw: 0, meters: 0, fresh: 0, stale: 0, missing: 0 };
}

/** Counts one meter's latest power into `into` (the caller has left excluded meters out). */
export function countPower(into: AreaLoadCounts, v: PowerValue | undefined, now: number, freshMs: number): void {
  const standing = powerStanding(v, now, freshMs);
  into.meters += 1;
  into[standing] += 1;
  if (standing === 'fresh' && v !== undefined) into.loadKw += v.value;
}

/** Adds a sub-area's counts to its parent's. */
export function addAreaLoadCounts(into: AreaLoadCounts, from: Readonly<AreaLoadCounts>): void {
  into.loadKw += from.loadKw;
  into.meters += from.meters;
  into.fresh += from.fresh;
  into.stale += from.stale;
  into.missing += from.missing;
}

/** The figure from counts and the area's rating. */
export function areaLoadOf(c: Readonly<AreaLoadCounts>, transformerKva: number | null, powerFactor: number): AreaLoad {
  const loadKw = c.fresh === 0 ? null : c.loadKw;
  const limitKw = transformerLimitKw(transformerKva, powerFactor);
  return {
    loadKw, limitKw, loadRatio: loadKw === null || limitKw === null ? null : loadKw / limitKw,
    meters: c.meters, fresh: c.fresh, stale: c.stale, missing: c.missing,
  };
}

/** The load of an area's meters at `now`: excluded meters left out, fresh values summed. */
export function areaLoad(
  meters: Iterable<string>,
  power: (meterId: string) => PowerValue | undefined,
  transformerKva: number | null,
  now: number,
  s: AreaLoadSettings,
): AreaLoad {
  const c = emptyAreaLoadCounts();
  for (const id of meters) if (!s.excluded.has(id)) countPower(c, power(id), now, s.freshMs);
  return areaLoadOf(c, transformerKva, s.powerFactor);
}
