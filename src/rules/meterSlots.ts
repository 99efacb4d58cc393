/**
 * The engine's numbering of the meters it holds anything about: a dense slot per meter, so
 * that what every rule keeps per meter (latest values, last-seen times, idle detector states,
 * deadlines, area shares) lives in typed-array columns indexed by slot rather than in
 * string-keyed maps of small objects, which cost over a kilobyte per meter at a million.
 *
 * A slot is taken when a meter is first heard of or enrolled, and given back only when the
 * meter is deleted, after every holder has cleared its columns at that slot (the engine's
 * `forgetMeter`), so a reused slot starts blank.
 */
import type { MeterId } from '../domain/index.js';
import { grown } from '../registry/slots.js';

export class MeterSlots {
  private readonly slotOf = new Map<MeterId, number>();
  private ids: (MeterId | undefined)[] = [];
  private readonly free: number[] = [];

  /** Slots in use. */
  get size(): number {
    return this.slotOf.size;
  }

  /** One past the highest slot ever given: the length a column indexed by slot needs. */
  get capacity(): number {
    return this.ids.length;
  }

  /** The meter's slot, taken if it has none. */
  take(id: MeterId): number {
    let slot = this.slotOf.get(id);
    if (slot !== undefined) return slot;
    slot = this.free.pop() ?? this.ids.length;
    this.ids[slot] = id;
    this.slotOf.set(id, slot);
    return slot;
  }

  /** The meter's slot, or undefined when the engine holds nothing about it. */
  of(id: MeterId): number | undefined {
    return this.slotOf.get(id);
  }

  /** The meter in `slot`, or undefined for a slot not in use. */
  idAt(slot: number): MeterId | undefined {
    return this.ids[slot];
  }

  /** Gives the slot back; every holder has cleared its columns at it. */
  release(id: MeterId): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.free.push(slot);
  }
}

/** A typed-array column long enough for `slot`, grown (doubling) with `fill`. */
export function columnFor<T extends Int32Array | Float64Array | Uint8Array>(column: T, slot: number, fill: number): T {
  return slot < column.length ? column : grown(column, slot + 1, fill);
}
