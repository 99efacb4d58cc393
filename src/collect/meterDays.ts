/**
 * Daily read success per meter (日采集成功率): of the meters the station expected to read on a
 * station-local day, how many it read completely (every quantity of one cycle, or the stored
 * profile of one cycle) at least once that day. Kept as counts per day and area, so a day of a
 * million meters is ten thousand rows, not a million.
 *
 * A meter counts once a day: one mark per meter and day (`MeterDayMark`) says it was counted,
 * where, and whether it was read. The marks make the counting idempotent across restarts and
 * across nodes that take an area over mid-day; only the last two days' marks are kept, the
 * counts stay.
 *
 * Where a meter counts when it moves area mid-day: in the area it was in when it was first read
 * that day; a meter never read counts in the area it was in when it was first expected. So a
 * meter expected in A, moved to B and read there moves its expectation to B: A loses one
 * expected, B gains one expected and one collected, and every area's collected stays ≤ its
 * expected. A parent area's figure is the sum of its subtree under today's tree.
 *
 * Pure: the stores call `countMeterDays` inside their write transaction with the marks they
 * hold, and write what it returns.
 */

/** One meter's outcome in one cycle on one day: read completely or not. */
export interface MeterDayOutcome {
  readonly day: string;
  readonly meterId: string;
  /** The meter's area when the outcome was recorded; `NO_AREA` for a meter without one. */
  readonly areaId: string;
  readonly read: boolean;
}

/** That a meter was counted on a day, in which area, and whether it was read. */
export interface MeterDayMark {
  readonly day: string;
  readonly meterId: string;
  readonly areaId: string;
  readonly read: boolean;
}

/** Meters expected and meters read, of one area (its own meters, not its subtree's) on one day. */
export interface AreaDayCount {
  readonly day: string;
  readonly areaId: string;
  readonly expected: number;
  readonly collected: number;
}

/** The area counted for meters that have none. */
export const NO_AREA = '';

/** Marks are kept for this many days back from the newest day written: a late flush of yesterday still finds them. */
export const MARK_DAYS = 2;

/** Outcomes written per transaction. */
export const MARK_CHUNK = 10_000;

export interface MeterDayChanges {
  /** Marks to insert or replace. */
  readonly marks: readonly MeterDayMark[];
  /** Increments to add to the area counts (an expectation moved away is −1). */
  readonly deltas: readonly AreaDayCount[];
}

/**
 * What `outcomes` change, given the marks already stored for them (`stored`, keyed by
 * `meterDayKey`). Outcomes of one meter and day may come several times in one batch.
 */
export function countMeterDays(outcomes: readonly MeterDayOutcome[], stored: ReadonlyMap<string, MeterDayMark>): MeterDayChanges {
  const marks = new Map<string, MeterDayMark>();
  const deltas = new Map<string, { day: string; areaId: string; expected: number; collected: number }>();
  const add = (day: string, areaId: string, expected: number, collected: number): void => {
    const key = `${day}\u0000${areaId}`;
    const d = deltas.get(key);
    if (d === undefined) deltas.set(key, { day, areaId, expected, collected });
    else {
      d.expected += expected;
      d.collected += collected;
    }
  };
  for (const o of outcomes) {
    const key = meterDayKey(o.day, o.meterId);
    const mark = marks.get(key) ?? stored.get(key);
    if (mark === undefined) {
      add(o.day, o.areaId, 1, o.read ? 1 : 0);
    } else if (!mark.read && o.read) {
      add(o.day, mark.areaId, -1, 0);
      add(o.day, o.areaId, 1, 1);
    } else {
      continue;
    }
    marks.set(key, { day: o.day, meterId: o.meterId, areaId: o.areaId, read: o.read });
  }
  return { marks: [...marks.values()], deltas: [...deltas.values()].filter((d) => d.expected !== 0 || d.collected !== 0) };
}

export function meterDayKey(day: string, meterId: string): string {
  return `${day}\u0000${meterId}`;
}

/** The day `n` days before `day` (`YYYY-MM-DD`). */
export function daysBefore(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
}

/** The oldest day whose marks a write of `outcomes` keeps; undefined for an empty batch. */
export function oldestMarkDay(outcomes: readonly MeterDayOutcome[]): string | undefined {
  let newest: string | undefined;
  for (const o of outcomes) if (newest === undefined || o.day > newest) newest = o.day;
  return newest === undefined ? undefined : daysBefore(newest, MARK_DAYS - 1);
}

export interface Counts {
  expected: number;
  collected: number;
}

/**
 * Each area's figure as the sum of its subtree: an area's own counts are added to it and to
 * every area above it under `parentOf` (undefined for an area the tree no longer knows, whose
 * counts stay its own).
 */
export function rollUp(own: readonly Pick<AreaDayCount, 'areaId' | 'expected' | 'collected'>[], parentOf: (areaId: string) => string | null | undefined): Map<string, Counts> {
  const sums = new Map<string, Counts>();
  for (const c of own) {
    // The registry refuses a cycle; the bound keeps a broken tree from looping here anyway.
    let id: string | null | undefined = c.areaId;
    for (let depth = 0; id !== null && id !== undefined && depth < MAX_AREA_DEPTH; depth++) {
      const s = sums.get(id);
      if (s === undefined) sums.set(id, { expected: c.expected, collected: c.collected });
      else {
        s.expected += c.expected;
        s.collected += c.collected;
      }
      id = parentOf(id);
    }
  }
  return sums;
}

const MAX_AREA_DEPTH = 64;
