/**
 * Collection success rate, per station-local day, two ways:
 *
 * - per terminal: items collected against items expected (`record`);
 * - per area: meters read completely against meters expected (`recordMeter`), each meter
 *   counted once a day in one area (src/collect/meterDays.ts), which is the utility's daily
 *   read success rate (日采集成功率); a parent area's figure is its subtree's sum.
 *
 * Items:
 *
 * - Polled terminals: each due cycle expects quantities × meters items; a cycle skipped as
 *   an overrun is expected and not collected; collected counts items that succeeded.
 * - Pushing terminals: nothing is "due", so expected = collected = readings received. Their
 *   rate is 100 % by construction; their health is measured by silence (offline after
 *   `pushSilenceMs`), not by this ratio.
 *
 * Meters: a polled meter is expected on a day when a cycle of its terminal is due (an overrun
 * included) and read when one cycle read all of it. Meters of pushing terminals are not
 * counted: nothing tells the station which of them to expect.
 *
 * Counts accumulate in memory and are added to the store every `flushIntervalMs`; terminal
 * queries merge stored and not-yet-flushed counts, area queries flush first (a meter's outcome
 * counts only against the marks in the store). Flushes and queries take turns, so a query never
 * sees counts both in the store and still pending, nor in neither. A crash loses at most the
 * counts of one interval: statistics, not readings, and the readings themselves are stored by
 * the pipeline. Each meter's state of the day is remembered (one number per meter), so a
 * meter polled every 15 minutes reaches the store at most twice a day.
 */
import type { Meter } from '../domain/topology.js';
import { systemClock, toError, type Clock, type Timer } from './clock.js';
import { NO_AREA, meterDayKey, type AreaDayCount, type MeterDayOutcome } from './meterDays.js';
import type { AreaDaysQuery, CollectionStatsStore, DayCount } from './statsStore.js';

export interface CollectionStatsOptions {
  readonly store: CollectionStatsStore;
  /** Station offset from UTC; days are `YYYY-MM-DD` in that offset (fixed, no DST). */
  readonly utcOffsetMinutes: number;
  readonly clock?: Clock;
  /** Default 5,000 ms. */
  readonly flushIntervalMs?: number;
  /** A flush failed; the counts stay in memory and go with the next flush. */
  readonly onError?: (err: Error) => void;
}

export interface RateCounts {
  readonly expected: number;
  readonly collected: number;
  /** collected / expected; `null` when nothing was expected. */
  readonly rate: number | null;
}

export interface TerminalRate extends RateCounts {
  readonly terminalId: string;
}

export interface SuccessRateReport {
  readonly day: string;
  /** Per terminal, sorted by id. With `terminalIds`, every asked terminal appears (zeros if never counted). */
  readonly terminals: readonly TerminalRate[];
  /** Sum over `terminals`. */
  readonly total: RateCounts;
}

export const DEFAULT_STATS_FLUSH_MS = 5_000;

const DAY_MS = 86_400_000;
// A meter's state of its newest day, packed in one number: day number × 4 + these bits.
const EXPECTED = 1;
const READ = 2;

export class CollectionStats {
  readonly #store: CollectionStatsStore;
  readonly #clock: Clock;
  readonly #offsetMs: number;
  readonly #flushMs: number;
  readonly #onError: (err: Error) => void;
  // Keyed by day and terminal; bounded by terminals × days between flushes.
  #pending = new Map<string, MutableCount>();
  // Meter outcomes not yet in the store, keyed by day and meter: ≤ 1 per meter and day between flushes.
  #pendingMeters = new Map<string, MeterDayOutcome>();
  // Each meter's newest day and what of it has been counted; one entry per meter polled.
  readonly #meterState = new Map<string, number>();
  #newestDay = 0;
  #dayName = { number: Number.NaN, day: '' };
  #timer: Timer | undefined;
  #flushErrors = 0;
  // Flushes and queries, one after the other; never rejects.
  #turn: Promise<unknown> = Promise.resolve();

  constructor(options: CollectionStatsOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#offsetMs = options.utcOffsetMinutes * 60_000;
    this.#flushMs = options.flushIntervalMs ?? DEFAULT_STATS_FLUSH_MS;
    this.#onError = options.onError ?? (() => undefined);
  }

  get flushErrors(): number {
    return this.#flushErrors;
  }

  /** Station-local day of an instant. */
  dayOf(ts: number): string {
    return new Date(ts + this.#offsetMs).toISOString().slice(0, 10);
  }

  record(terminalId: string, ts: number, expected: number, collected: number): void {
    if (expected === 0 && collected === 0) return;
    const day = this.dayOf(ts);
    const key = `${day}\u0000${terminalId}`;
    const c = this.#pending.get(key);
    if (c === undefined) this.#pending.set(key, { day, terminalId, expected, collected });
    else {
      c.expected += expected;
      c.collected += collected;
    }
  }

  /**
   * A meter's outcome in a cycle of `ts`: `read` when the cycle read all of it. `areaId` is
   * where the meter is now; null for a meter without an area.
   */
  recordMeter(meterId: string, areaId: string | null, ts: number, read: boolean): void {
    const dayNumber = Math.floor((ts + this.#offsetMs) / DAY_MS);
    const state = this.#meterState.get(meterId);
    const bits = read ? EXPECTED | READ : EXPECTED;
    if (state === undefined || Math.floor(state / 4) < dayNumber) {
      this.#meterState.set(meterId, dayNumber * 4 + bits);
    } else if (Math.floor(state / 4) === dayNumber) {
      if ((state & bits) === bits) return;
      this.#meterState.set(meterId, state | bits);
    }
    // Older than the meter's newest day (a cycle begun before midnight): the store's marks tell whether it counts.
    if (dayNumber > this.#newestDay) this.#forgetBefore(dayNumber);
    // Formatting the day is most of a call's cost at a million meters: one day's name is kept.
    if (dayNumber !== this.#dayName.number) this.#dayName = { number: dayNumber, day: this.dayOf(ts) };
    mergeOutcome(this.#pendingMeters, { day: this.#dayName.day, meterId, areaId: areaId ?? NO_AREA, read });
  }

  /** `recordMeter` for each of a cycle's meters. */
  recordMeters<M extends Pick<Meter, 'id' | 'areaId'>>(meters: readonly M[], ts: number, read: (meter: M) => boolean): void {
    for (const m of meters) this.recordMeter(m.id, m.areaId, ts, read(m));
  }

  /** Adds pending counts to the store; on failure keeps them for the next flush (and reports it to `onError`). */
  flush(): Promise<void> {
    return this.#inTurn(async () => {
      if (this.#pendingMeters.size > 0) await this.#flushMeters();
      if (this.#pending.size === 0) return;
      const batch = this.#pending;
      this.#pending = new Map();
      try {
        await this.#store.add([...batch.values()]);
      } catch (err) {
        this.#flushErrors++;
        for (const [key, c] of batch) {
          const now = this.#pending.get(key);
          if (now === undefined) this.#pending.set(key, c);
          else {
            now.expected += c.expected;
            now.collected += c.collected;
          }
        }
        this.#onError(toError(err));
      }
    });
  }

  /** Starts the periodic flush. */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = (): void => {
      void this.flush();
      this.#timer = this.#clock.setTimeout(tick, this.#flushMs);
    };
    this.#timer = this.#clock.setTimeout(tick, this.#flushMs);
  }

  /** Stops the periodic flush and flushes what is pending. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /**
   * Each area's own meters expected and read (not its subtree's) on the days `from`..`to`,
   * pending outcomes flushed first; rejects when the store cannot be read.
   */
  areaDays(query: AreaDaysQuery): Promise<AreaDayCount[]> {
    return this.#inTurn(async () => {
      await this.#flushMeters();
      return this.#store.areaDays(query);
    });
  }

  /** Stored and pending counts of a day; rejects when the store cannot be read. */
  successRate(query: { readonly day: string; readonly terminalIds?: readonly string[] }): Promise<SuccessRateReport> {
    return this.#inTurn(async () => {
      const stored = await this.#store.query(query.day, query.terminalIds);
      return this.#report(query, stored);
    });
  }

  #report(query: { readonly day: string; readonly terminalIds?: readonly string[] }, stored: readonly DayCount[]): SuccessRateReport {
    const byTerminal = new Map<string, MutableCount>();
    for (const id of query.terminalIds ?? []) byTerminal.set(id, { day: query.day, terminalId: id, expected: 0, collected: 0 });
    const wanted = query.terminalIds === undefined ? undefined : new Set(query.terminalIds);
    const add = (c: DayCount): void => {
      const t = byTerminal.get(c.terminalId);
      if (t === undefined) byTerminal.set(c.terminalId, { ...c });
      else {
        t.expected += c.expected;
        t.collected += c.collected;
      }
    };
    for (const c of stored) add(c);
    for (const c of this.#pending.values()) {
      if (c.day === query.day && (wanted === undefined || wanted.has(c.terminalId))) add(c);
    }
    const terminals = [...byTerminal.values()]
      .sort((a, b) => (a.terminalId < b.terminalId ? -1 : a.terminalId > b.terminalId ? 1 : 0))
      .map((c) => ({ terminalId: c.terminalId, ...rate(c.expected, c.collected) }));
    let expected = 0;
    let collected = 0;
    for (const t of terminals) {
      expected += t.expected;
      collected += t.collected;
    }
    return { day: query.day, terminals, total: rate(expected, collected) };
  }

  async #flushMeters(): Promise<void> {
    if (this.#pendingMeters.size === 0) return;
    const batch = this.#pendingMeters;
    this.#pendingMeters = new Map();
    try {
      await this.#store.addMeterDays([...batch.values()]);
    } catch (err) {
      this.#flushErrors++;
      // Written again whole: what the store took already is not counted twice (its marks).
      for (const o of this.#pendingMeters.values()) mergeOutcome(batch, o);
      this.#pendingMeters = batch;
      this.#onError(toError(err));
    }
  }

  /** A new day began: meters' states of days before yesterday are dropped (late outcomes of yesterday still count once). */
  #forgetBefore(dayNumber: number): void {
    this.#newestDay = dayNumber;
    for (const [id, state] of this.#meterState) if (Math.floor(state / 4) < dayNumber - 1) this.#meterState.delete(id);
  }

  /** Runs `work` after every flush and query before it has settled. */
  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(work);
    this.#turn = result.catch(() => undefined);
    return result;
  }
}

interface MutableCount {
  readonly day: string;
  readonly terminalId: string;
  expected: number;
  collected: number;
}

/** Adds a later outcome: the first read decides where the meter counts; until then, where it was first expected. */
function mergeOutcome(pending: Map<string, MeterDayOutcome>, o: MeterDayOutcome): void {
  const key = meterDayKey(o.day, o.meterId);
  const before = pending.get(key);
  if (before === undefined || (!before.read && o.read)) pending.set(key, o);
}

function rate(expected: number, collected: number): RateCounts {
  return { expected, collected, rate: expected === 0 ? null : collected / expected };
}
