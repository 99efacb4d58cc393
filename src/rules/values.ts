/**
 * The engine's own latest values per meter: what the snapshot detectors look at. Kept here
 * rather than read from src/live so that the engine judges exactly the readings it was
 * handed, in order, without racing another sink.
 *
 * Columns by meter slot (meterSlots.ts): per quantity a value and its device time (a column
 * is made the first time any meter reports that quantity), and the engine time each meter was
 * last heard from. A detector gets a Snapshot built for the one evaluation.
 */
import { QUANTITY_NAMES, type MeterId, type Quantity, type Reading } from '../domain/index.js';
import type { Snapshot } from './detectors/index.js';
import { quantityBit } from './catalogue.js';
import { columnFor, type MeterSlots } from './meterSlots.js';

const QUANTITY_INDEX = new Map<Quantity, number>(QUANTITY_NAMES.map((q, i) => [q, i]));

interface QuantityColumn {
  readonly quantity: Quantity;
  value: Float64Array;
  /** Device time of the latest value; NaN: none. */
  ts: Float64Array;
}

export class ValueTable {
  private readonly columns: (QuantityColumn | undefined)[] = [];
  /** The columns made so far, for building a snapshot. */
  private readonly made: QuantityColumn[] = [];
  /** Engine time of the last reading received; NaN: none yet. */
  private seen = new Float64Array(0);
  /** 1 where the table holds the meter. */
  private known = new Uint8Array(0);
  private count = 0;

  constructor(private readonly slots: MeterSlots) {}

  get size(): number {
    return this.count;
  }

  /**
   * Takes one reading; returns its quantity's trigger bit when it is the newest value of
   * that quantity, 0 when it is older (a late or replayed reading changes nothing) or bad.
   */
  apply(r: Reading): number {
    const slot = this.slots.take(r.meterId);
    this.known = columnFor(this.known, slot, 0);
    if (this.known[slot] === 0) {
      this.known[slot] = 1;
      this.count += 1;
    }
    if (r.quality === 'bad') return 0;
    const i = QUANTITY_INDEX.get(r.quantity);
    if (i === undefined) return 0;
    let col = this.columns[i];
    if (col === undefined) {
      col = { quantity: r.quantity, value: new Float64Array(0), ts: new Float64Array(0) };
      this.columns[i] = col;
      this.made.push(col);
    }
    col.ts = columnFor(col.ts, slot, Number.NaN);
    col.value = columnFor(col.value, slot, Number.NaN);
    const prev = col.ts[slot] ?? Number.NaN;
    if (prev > r.ts) return 0;
    col.value[slot] = r.value;
    col.ts[slot] = r.ts;
    return quantityBit(r.quantity);
  }

  /** The meter was heard from at `now` (engine clock); false when the table holds nothing of it. */
  heard(id: MeterId, now: number): boolean {
    const slot = this.slotOf(id);
    if (slot === undefined) return false;
    this.seen = columnFor(this.seen, slot, Number.NaN);
    this.seen[slot] = now;
    return true;
  }

  /** Engine time of the meter's last reading; null before the first. */
  lastSeen(id: MeterId): number | null {
    const slot = this.slotOf(id);
    const at = slot === undefined ? Number.NaN : this.seen[slot] ?? Number.NaN;
    return Number.isNaN(at) ? null : at;
  }

  /** The meter's latest value per quantity, built for one evaluation; undefined when the table holds nothing of it. */
  snapshot(id: MeterId): Snapshot | undefined {
    const slot = this.slotOf(id);
    if (slot === undefined) return undefined;
    const out: Partial<Record<Quantity, number>> = {};
    for (const col of this.made) {
      const ts = col.ts[slot];
      if (ts !== undefined && !Number.isNaN(ts)) out[col.quantity] = col.value[slot] ?? Number.NaN;
    }
    return out;
  }

  /** Clears the meter's columns (a deleted meter; its slot is given back after). */
  forget(id: MeterId): void {
    const slot = this.slotOf(id);
    if (slot === undefined) return;
    this.known[slot] = 0;
    this.count -= 1;
    if (slot < this.seen.length) this.seen[slot] = Number.NaN;
    for (const col of this.made) if (slot < col.ts.length) col.ts[slot] = Number.NaN;
  }

  /** The latest value of a quantity, with its device time. */
  latest(id: MeterId, q: Quantity): { value: number; ts: number } | undefined {
    const slot = this.slotOf(id);
    const i = QUANTITY_INDEX.get(q);
    const col = i === undefined ? undefined : this.columns[i];
    if (slot === undefined || col === undefined) return undefined;
    const ts = col.ts[slot];
    return ts === undefined || Number.isNaN(ts) ? undefined : { value: col.value[slot] ?? Number.NaN, ts };
  }

  /** The value of a quantity if it is at least as new as `notBefore`. */
  fresh(id: MeterId, q: Quantity, notBefore: number): { value: number; ts: number } | undefined {
    const v = this.latest(id, q);
    return v === undefined || v.ts < notBefore ? undefined : v;
  }

  private slotOf(id: MeterId): number | undefined {
    const slot = this.slots.of(id);
    return slot !== undefined && this.known[slot] === 1 ? slot : undefined;
  }
}
