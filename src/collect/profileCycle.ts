/**
 * The clock of one collection profile. Every `intervalSeconds` a cycle begins; each member
 * terminal is due at the cycle's start plus its own jitter offset, drawn once in
 * [0, min(jitterMs, interval)) when it joins, so the load is spread the same way every cycle.
 *
 * One timer per profile, not one per terminal: members are kept sorted by offset and a
 * cursor walks them, so 100,000 terminals cost one timer and one array.
 *
 * Alignment: with `align`, cycles begin when (epoch ms + utcOffset) is a multiple of the
 * interval — a 900 s profile begins at :00, :15, :30, :45 station time, a 86,400 s profile
 * at station midnight (the offset is fixed; no DST). Without `align`, cycles begin at
 * start() and every interval after.
 */
import type { Clock, Timer } from './clock.js';

export interface ProfileCycleOptions {
  readonly intervalMs: number;
  readonly align: boolean;
  readonly jitterMs: number;
  /** Station offset from UTC in ms, used only when aligning. */
  readonly utcOffsetMs: number;
  readonly clock: Clock;
  /** Uniform in [0, 1); injected so tests can pin the jitter. */
  readonly random: () => number;
  /** Called when a member is due; `cycleStart` is the nominal start of the cycle. */
  readonly onDue: (terminalId: string, cycleStart: number) => void;
}

/** The first cycle start at or after `now` whose station time is a multiple of the interval. */
export function nextAlignedStart(now: number, intervalMs: number, utcOffsetMs: number): number {
  const local = now + utcOffsetMs;
  return Math.ceil(local / intervalMs) * intervalMs - utcOffsetMs;
}

export class ProfileCycle {
  readonly #o: ProfileCycleOptions;
  readonly #offsets = new Map<string, number>();
  #sorted: { readonly id: string; readonly offset: number }[] | undefined;
  #timer: Timer | undefined;
  #running = false;
  /** The first cycle start since start(); every later start is a whole number of intervals on. */
  #anchor = 0;
  // The cycle being dispatched.
  #cycleStart = 0;
  #snapshot: readonly { readonly id: string; readonly offset: number }[] = [];
  #cursor = 0;

  constructor(options: ProfileCycleOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError(`interval must be positive, got ${options.intervalMs}`);
    this.#o = options;
  }

  /** Jitter offset of a member, ms after each cycle start. */
  offsetOf(terminalId: string): number | undefined {
    return this.#offsets.get(terminalId);
  }

  /**
   * When the member is next due after `now` (undefined when it is no member or the profile is
   * stopped). A member that joined during the cycle in progress is due one cycle later than this.
   */
  nextDue(terminalId: string, now: number): number | undefined {
    const offset = this.#offsets.get(terminalId);
    if (offset === undefined || !this.#running) return undefined;
    const { intervalMs } = this.#o;
    const cycles = Math.max(0, Math.floor((now - this.#anchor - offset) / intervalMs) + 1);
    return this.#anchor + cycles * intervalMs + offset;
  }

  /** Joins from the next cycle on (a cycle in progress is not re-entered). */
  add(terminalId: string): void {
    if (this.#offsets.has(terminalId)) return;
    const span = Math.min(this.#o.jitterMs, this.#o.intervalMs);
    const offset = span > 0 ? Math.min(span - 1, Math.floor(this.#o.random() * span)) : 0;
    this.#offsets.set(terminalId, offset);
    this.#sorted = undefined;
  }

  remove(terminalId: string): void {
    if (this.#offsets.delete(terminalId)) this.#sorted = undefined;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = this.#o.clock.now();
    const first = this.#o.align ? nextAlignedStart(now, this.#o.intervalMs, this.#o.utcOffsetMs) : now;
    this.#anchor = first;
    this.#arm(first, () => {
      this.#begin(first);
    });
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#snapshot = [];
  }

  #begin(start: number): void {
    // A late timer (event loop stall, suspended host) must not leave the previous cycle
    // half dispatched, nor replay every cycle it slept through: finish the old one, then
    // resume at the latest start that has passed.
    this.#dispatchUntil(Number.POSITIVE_INFINITY);
    const now = this.#o.clock.now();
    const behind = Math.floor((now - start) / this.#o.intervalMs);
    this.#cycleStart = behind > 0 ? start + behind * this.#o.intervalMs : start;
    this.#sorted ??= [...this.#offsets].map(([id, offset]) => ({ id, offset })).sort((a, b) => a.offset - b.offset);
    this.#snapshot = this.#sorted;
    this.#cursor = 0;
    this.#step();
  }

  #step(): void {
    if (!this.#running) return;
    this.#dispatchUntil(this.#o.clock.now());
    const nextStart = this.#cycleStart + this.#o.intervalMs;
    const next = this.#snapshot[this.#cursor];
    if (next !== undefined && this.#cycleStart + next.offset < nextStart) {
      this.#arm(this.#cycleStart + next.offset, () => {
        this.#step();
      });
    } else {
      this.#arm(nextStart, () => {
        this.#begin(nextStart);
      });
    }
  }

  #dispatchUntil(limit: number): void {
    while (this.#running && this.#cursor < this.#snapshot.length) {
      const member = this.#snapshot[this.#cursor];
      if (member === undefined || this.#cycleStart + member.offset > limit) return;
      this.#cursor++;
      // Removed since the snapshot was taken: skip. Re-added with a new offset: its new slot counts.
      if (this.#offsets.get(member.id) !== member.offset) continue;
      this.#o.onDue(member.id, this.#cycleStart);
    }
  }

  #arm(at: number, fn: () => void): void {
    const delay = Math.max(0, at - this.#o.clock.now());
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, delay);
  }
}
