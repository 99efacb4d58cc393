/**
 * The engine's own latest values per meter: what the snapshot detectors look at. Kept here
 * rather than read from src/live so that the engine judges exactly the readings it was
 * handed, in order, without racing another sink.
 */
import type { MeterId, Quantity, Reading } from '../domain/index.js';
import { quantityBit } from './catalogue.js';

export interface MeterValues {
  /** Latest value per quantity (what detectors read as a Snapshot). */
  readonly values: Partial<Record<Quantity, number>>;
  /** Device time of each latest value. */
  readonly ts: Partial<Record<Quantity, number>>;
  /** Engine time of the last reading received, for communication loss; null before the first. */
  lastSeen: number | null;
}

export class ValueTable {
  private readonly meters = new Map<MeterId, MeterValues>();

  get size(): number {
    return this.meters.size;
  }

  get(id: MeterId): MeterValues | undefined {
    return this.meters.get(id);
  }

  /**
   * Takes one reading; returns its quantity's trigger bit when it is the newest value of
   * that quantity, 0 when it is older (a late or replayed reading changes nothing) or bad.
   */
  apply(r: Reading): number {
    let m = this.meters.get(r.meterId);
    if (m === undefined) {
      m = { values: {}, ts: {}, lastSeen: null };
      this.meters.set(r.meterId, m);
    }
    if (r.quality === 'bad') return 0;
    const prev = m.ts[r.quantity];
    if (prev !== undefined && prev > r.ts) return 0;
    m.values[r.quantity] = r.value;
    m.ts[r.quantity] = r.ts;
    return quantityBit(r.quantity);
  }

  forget(id: MeterId): void {
    this.meters.delete(id);
  }

  /** The latest value of a quantity, with its device time. */
  latest(id: MeterId, q: Quantity): { value: number; ts: number } | undefined {
    const m = this.meters.get(id);
    const ts = m?.ts[q];
    const value = m?.values[q];
    return ts === undefined || value === undefined ? undefined : { value, ts };
  }

  /** The value of a quantity if it is at least as new as `notBefore`. */
  fresh(id: MeterId, q: Quantity, notBefore: number): { value: number; ts: number } | undefined {
    const v = this.latest(id, q);
    return v === undefined || v.ts < notBefore ? undefined : v;
  }
}
