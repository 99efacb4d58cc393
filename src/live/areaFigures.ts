/**
 * Every area's own live figures, kept up to date as readings and registry changes arrive
 * instead of counted over the fleet per request: the load counts of the station's one
 * area-load definition (src/domain/areaLoad.ts: fresh `power.active` summed, fresh, stale and
 * missing meters, excluded meters left out) and the meters reporting by the communication-loss
 * rule's freshness (src/rules/freshness.ts).
 *
 * Each tracked meter holds its contribution in numbered slots (typed-array columns, as the
 * registry image does): its area, expected interval, the power it adds and whether it is
 * fresh and reporting. A reading or a registry change takes the meter's contribution out,
 * judges it again and puts it back: O(log n) in two expiry heaps, never a pass over the
 * fleet. A fresh power value and a reporting meter each keep one entry in a heap keyed by the
 * instant they stop counting; bringing the figures to a later time (`advance`) takes out the
 * entries due by then, one at a time.
 *
 * The meters are read once, from the registry's slots without a Meter object each: in the
 * background in slices from `start()` (the station starts it, so the first overview finds the
 * figures ready without a pause of seconds at a million meters), or at the first `advance`
 * otherwise, which also finishes a build still under way so an answer never counts half the
 * fleet. Readings and registry changes that arrive while slices are pending are applied as
 * they come: judging or tracking a meter again takes its contribution out before putting it
 * back, so a meter the walk reaches after a change is counted once. Counting everything again (O(meters
 * tracked), from the slots, not the registry) happens only when the clock goes back or the
 * communication-loss rules' missed intervals change: a later time can only retire what an
 * earlier one counted.
 */
import {
  freshUntil, powerStanding,
  type AreaId, type AreaLoadCounts, type AreaLoadSettings, type Meter, type MeterId, type Reading, type TerminalId,
} from '../domain/index.js';
import type { Registry, RegistryChange } from '../registry/registry.js';
import { grown } from '../registry/slots.js';
import { isReporting, silentAt } from '../rules/freshness.js';
import { MeterSlots } from '../rules/meterSlots.js';
import { ExpiryHeap } from '../rules/expiryHeap.js';
import type { LatestValues } from './latest.js';

/** What the figures need of the registry. */
export type FiguresTopology = Pick<Registry, 'findMeter' | 'visitMeters' | 'metersOfTerminal' | 'onChange'>;

export interface AreaFiguresSources {
  readonly topology: FiguresTopology;
  readonly live: Pick<LatestValues, 'value' | 'lastHeard' | 'onWrite'>;
  /** The station's one area-load definition: freshness, meters left out (supply meters). */
  readonly areaLoad: AreaLoadSettings;
  /** How often a meter's data is expected (undefined: not expected, e.g. terminal disabled). */
  readonly expectedIntervalMs: (meter: Pick<Meter, 'terminalId'>) => number | undefined;
  readonly now?: () => number;
  /** Registry slots walked per slice of a background build (default BUILD_SLICE). */
  readonly buildSliceSlots?: number;
}

/** One area's own meters (not its sub-areas'): load counts and reporting meters. */
export interface OwnFigures {
  readonly load: Readonly<AreaLoadCounts>;
  readonly reporting: number;
}

const NO_FIGURES: OwnFigures = { load: { loadKw: 0, meters: 0, fresh: 0, stale: 0, missing: 0 }, reporting: 0 };
/** Registry slots walked per slice of a background build: a slice holds the event loop for some milliseconds. */
const BUILD_SLICE = 4_000;
/** The build has not started; past its last slot it is -1. */
const NOT_STARTED = -2;
const BUILT = -1;

const MISSING = 0;
const STALE = 1;
const FRESH = 2;

export class LiveAreaFigures {
  readonly #s: AreaFiguresSources;
  readonly #now: () => number;
  readonly #unsubscribe: (() => void)[] = [];
  /** The registry slot the build goes on from, or NOT_STARTED, or BUILT. */
  #next = NOT_STARTED;
  #slice: NodeJS.Immediate | undefined;
  readonly #built: Promise<void>;
  #resolveBuilt: () => void = () => undefined;
  /** The missed intervals the reporting flags were judged with. */
  #missed = 0;
  /** The latest instant anything was judged at: judged again earlier, a stale value could be fresh. */
  #latest = Number.NEGATIVE_INFINITY;

  readonly #slots = new MeterSlots();
  #bucket = new Int32Array(0);
  #interval = new Float64Array(0);
  #power = new Float64Array(0);
  #standing = new Uint8Array(0);
  #reporting = new Uint8Array(0);
  readonly #staleAfter = new ExpiryHeap();
  readonly #silentAfter = new ExpiryHeap();

  readonly #bucketOf = new Map<AreaId, number>();
  readonly #buckets: Bucket[] = [];
  readonly #freeBuckets: number[] = [];
  readonly #total = new Bucket();

  constructor(sources: AreaFiguresSources) {
    this.#s = sources;
    this.#now = sources.now ?? Date.now;
    this.#built = new Promise((resolve) => { this.#resolveBuilt = resolve; });
    this.#unsubscribe.push(sources.live.onWrite((batch) => { this.#readings(batch); }));
    this.#unsubscribe.push(sources.topology.onChange((c) => { this.#changed(c); }));
  }

  /**
   * Brings the figures to `now` (the clock's, by default) under `missedIntervals`: what went
   * stale or silent since is taken out. Returns the instant they hold for.
   */
  advance(missedIntervals: number, now = this.#now()): number {
    if (this.#next === NOT_STARTED) this.#begin(missedIntervals);
    if (this.#next !== BUILT) this.#build(Number.POSITIVE_INFINITY, now);
    if (missedIntervals !== this.#missed || now < this.#latest) {
      this.#missed = missedIntervals;
      this.#recount(now);
    }
    this.#expire(now);
    this.#latest = Math.max(this.#latest, now);
    return now;
  }

  /**
   * Builds the figures in the background, a slice of the registry's slots per turn of the
   * event loop, judged under `missedIntervals` (an `advance` under others counts again).
   * Does nothing once started.
   */
  start(missedIntervals: number): void {
    if (this.#next !== NOT_STARTED) return;
    this.#begin(missedIntervals);
    const slice = (): void => {
      this.#slice = undefined;
      if (this.#build(this.#s.buildSliceSlots ?? BUILD_SLICE, this.#now()) !== BUILT) this.#slice = setImmediate(slice);
    };
    this.#slice = setImmediate(slice);
  }

  /** Resolves once every meter the registry held is tracked (by `start`'s slices or an `advance`). */
  whenBuilt(): Promise<void> {
    return this.#built;
  }

  /** The area's own figures as of the last `advance`. */
  own(area: AreaId): OwnFigures {
    const b = this.#bucketOf.get(area);
    return b === undefined ? NO_FIGURES : this.#buckets[b]?.figures() ?? NO_FIGURES;
  }

  /** Σ fresh power of every counted meter, with or without an area, kW, as of the last `advance`. */
  totalKw(): number {
    return this.#total.figures().load.loadKw;
  }

  /** Meters tracked (every meter but the excluded ones, once built). */
  get meters(): number {
    return this.#slots.size;
  }

  close(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    if (this.#slice !== undefined) clearImmediate(this.#slice);
    this.#slice = undefined;
  }

  // ── changes ──────────────────────────────────────────────────────────────

  #readings(batch: readonly Reading[]): void {
    if (this.#next === NOT_STARTED) return;
    const now = this.#now();
    let last = -1;
    for (const r of batch) {
      const slot = this.#slots.of(r.meterId);
      // A poll's readings of one meter come together: judge the meter once for them.
      if (slot === undefined || slot === last) continue;
      last = slot;
      this.#judge(slot, now);
    }
  }

  #changed(c: RegistryChange): void {
    if (this.#next === NOT_STARTED) return;
    if (c.kind === 'meter') {
      if (c.op === 'delete') this.#untrack(c.id);
      else {
        const m = this.#s.topology.findMeter(c.id);
        if (m !== undefined) this.#track(m.id, m.terminalId, m.areaId, this.#now());
      }
    } else if (c.kind === 'terminal' && c.op === 'upsert') {
      // Enabled, disabled or given other profiles: its meters' expected interval may differ.
      const now = this.#now();
      for (const m of this.#s.topology.metersOfTerminal(c.id)) if (this.#slots.of(m.id) !== undefined) this.#track(m.id, m.terminalId, m.areaId, now);
    } else if (c.kind === 'area' && c.op === 'delete') {
      const b = this.#bucketOf.get(c.id);
      if (b !== undefined && this.#buckets[b]?.held === 0) {
        this.#bucketOf.delete(c.id);
        this.#freeBuckets.push(b);
      }
    }
  }

  /** From now on readings and registry changes count; the meters are walked from the first slot. */
  #begin(missedIntervals: number): void {
    this.#missed = missedIntervals;
    this.#next = 0;
  }

  /** Tracks the meters of the next `slots` registry slots at `now`; returns where the build goes on. */
  #build(slots: number, now: number): number {
    if (this.#next < 0) return this.#next;
    this.#next = this.#s.topology.visitMeters(this.#next, slots, (id, terminal, area) => { this.#track(id, terminal, area, now); });
    if (this.#next === BUILT) {
      if (this.#slice !== undefined) clearImmediate(this.#slice);
      this.#slice = undefined;
      this.#resolveBuilt();
    }
    return this.#next;
  }

  /** Every tracked meter judged again at `now`, as if built anew. */
  #recount(now: number): void {
    for (const b of this.#buckets) b.reset();
    this.#total.reset();
    this.#staleAfter.clear();
    this.#silentAfter.clear();
    this.#standing.fill(MISSING);
    this.#reporting.fill(0);
    for (let slot = 0; slot < this.#slots.capacity; slot++) {
      if (this.#slots.idAt(slot) === undefined) continue;
      this.#contribute(slot, 1);
      this.#judge(slot, now);
    }
  }

  /** Takes out what stopped counting by `now`, checked against the one definitions themselves. */
  #expire(now: number): void {
    const { freshMs } = this.#s.areaLoad;
    for (let e = this.#staleAfter.first(); e !== undefined && e.due < now; e = this.#staleAfter.first()) {
      const id = this.#slots.idAt(e.slot);
      const v = id === undefined ? undefined : this.#s.live.value(id, 'power.active');
      // Stale from the millisecond after freshUntil; should rounding say otherwise, it is looked at again next time.
      if (powerStanding(v, now, freshMs) === 'fresh') this.#staleAfter.set(e.slot, now);
      else this.#judge(e.slot, now);
    }
    for (let e = this.#silentAfter.first(); e !== undefined && e.due <= now; e = this.#silentAfter.first()) {
      const id = this.#slots.idAt(e.slot);
      const interval = this.#interval[e.slot];
      if (id !== undefined && isReporting(this.#s.live.lastHeard(id), now, Number.isNaN(interval) ? undefined : interval, this.#missed)) this.#silentAfter.set(e.slot, now + 1);
      else this.#judge(e.slot, now);
    }
  }

  // ── one meter ────────────────────────────────────────────────────────────

  /** Starts tracking the meter, or takes in its new area and interval. */
  #track(id: MeterId, terminalId: TerminalId, areaId: AreaId | null, now: number): void {
    if (this.#s.areaLoad.excluded.has(id)) return;
    let slot = this.#slots.of(id);
    if (slot === undefined) {
      slot = this.#slots.take(id);
      this.#reserve(slot);
      this.#standing[slot] = MISSING;
      this.#reporting[slot] = 0;
      this.#power[slot] = 0;
    } else {
      this.#contribute(slot, -1);
      this.#release(this.#bucket[slot] ?? -1);
    }
    this.#bucket[slot] = areaId === null ? -1 : this.#bucketFor(areaId);
    this.#interval[slot] = this.#s.expectedIntervalMs({ terminalId }) ?? Number.NaN;
    this.#contribute(slot, 1);
    this.#judge(slot, now);
  }

  #untrack(id: MeterId): void {
    const slot = this.#slots.of(id);
    if (slot === undefined) return;
    this.#contribute(slot, -1);
    this.#release(this.#bucket[slot] ?? -1);
    this.#staleAfter.delete(slot);
    this.#silentAfter.delete(slot);
    this.#slots.release(id);
  }

  /** The meter's power and reporting judged again at `now` from the live values. */
  #judge(slot: number, now: number): void {
    const id = this.#slots.idAt(slot);
    if (id === undefined) return;
    if (now > this.#latest) this.#latest = now;
    const { freshMs } = this.#s.areaLoad;
    this.#contribute(slot, -1);
    const v = this.#s.live.value(id, 'power.active');
    const standing = powerStanding(v, now, freshMs);
    this.#standing[slot] = standing === 'fresh' ? FRESH : standing === 'stale' ? STALE : MISSING;
    this.#power[slot] = standing === 'fresh' && v !== undefined ? v.value : 0;
    if (standing === 'fresh' && v !== undefined) this.#staleAfter.set(slot, freshUntil(v.ts, freshMs));
    else this.#staleAfter.delete(slot);
    const heard = this.#s.live.lastHeard(id);
    const raw = this.#interval[slot] ?? Number.NaN;
    const interval = Number.isNaN(raw) ? undefined : raw;
    const reporting = isReporting(heard, now, interval, this.#missed);
    this.#reporting[slot] = reporting ? 1 : 0;
    if (reporting && heard !== undefined && interval !== undefined) this.#silentAfter.set(slot, silentAt(heard, interval, this.#missed));
    else this.#silentAfter.delete(slot);
    this.#contribute(slot, 1);
  }

  /** Adds (+1) or takes out (-1) the meter's contribution as its slot holds it. */
  #contribute(slot: number, sign: 1 | -1): void {
    const standing = this.#standing[slot] ?? MISSING;
    const power = this.#power[slot] ?? 0;
    const reporting = this.#reporting[slot] === 1;
    this.#total.add(sign, standing, power, reporting);
    const b = this.#bucket[slot] ?? -1;
    if (b >= 0) this.#buckets[b]?.add(sign, standing, power, reporting);
  }

  #bucketFor(area: AreaId): number {
    let b = this.#bucketOf.get(area);
    if (b === undefined) {
      b = this.#freeBuckets.pop() ?? this.#buckets.length;
      this.#buckets[b] = new Bucket();
      this.#bucketOf.set(area, b);
    }
    this.#buckets[b]?.hold(1);
    return b;
  }

  /** A slot left the bucket; an area's bucket lives while the area has a meter or exists. */
  #release(b: number): void {
    if (b >= 0) this.#buckets[b]?.hold(-1);
  }

  #reserve(slot: number): void {
    if (slot < this.#bucket.length) return;
    this.#bucket = grown(this.#bucket, slot + 1, -1);
    this.#interval = grown(this.#interval, slot + 1, Number.NaN);
    this.#power = grown(this.#power, slot + 1, 0);
    this.#standing = grown(this.#standing, slot + 1, MISSING);
    this.#reporting = grown(this.#reporting, slot + 1, 0);
  }
}

/**
 * One area's running figures. The power is a compensated (Neumaier) sum, so taking out what
 * was added leaves no rounding residue to drift over months of updates; with no fresh meter
 * left it is exactly zero again.
 */
class Bucket {
  /** Slots in the bucket, whatever their standing. */
  #held = 0;
  #fresh = 0;
  #stale = 0;
  #missing = 0;
  #reporting = 0;
  #sum = 0;
  #carry = 0;

  get held(): number {
    return this.#held;
  }

  hold(delta: number): void {
    this.#held += delta;
  }

  add(sign: 1 | -1, standing: number, power: number, reporting: boolean): void {
    if (standing === FRESH) {
      this.#fresh += sign;
      if (this.#fresh === 0) {
        this.#sum = 0;
        this.#carry = 0;
      } else this.#addPower(sign * power);
    } else if (standing === STALE) this.#stale += sign;
    else this.#missing += sign;
    if (reporting) this.#reporting += sign;
  }

  reset(): void {
    this.#fresh = 0;
    this.#stale = 0;
    this.#missing = 0;
    this.#reporting = 0;
    this.#sum = 0;
    this.#carry = 0;
  }

  figures(): OwnFigures {
    return {
      load: { loadKw: this.#fresh === 0 ? 0 : this.#sum + this.#carry, meters: this.#fresh + this.#stale + this.#missing, fresh: this.#fresh, stale: this.#stale, missing: this.#missing },
      reporting: this.#reporting,
    };
  }

  #addPower(x: number): void {
    const t = this.#sum + x;
    this.#carry += Math.abs(this.#sum) >= Math.abs(x) ? (this.#sum - t) + x : (x - t) + this.#sum;
    this.#sum = t;
  }
}
