/**
 * When each numbered slot's state next expires: a binary min-heap of slots keyed by an instant,
 * indexed by slot so a slot's instant is set, moved or dropped in O(log n) and each slot is in
 * it at most once. The heap holds at most one entry per slot, so it is bounded by the slots
 * its owner tracks, however often their instants change.
 */
import { grown } from '../registry/slots.js';

export class ExpiryHeap {
  /** Heap order: slot numbers. */
  #heap = new Int32Array(0);
  #size = 0;
  /** Per slot: its position in #heap, -1 when absent. */
  #position = new Int32Array(0);
  /** Per slot: its instant, while present. */
  #due = new Float64Array(0);

  get size(): number {
    return this.#size;
  }

  /** Sets (or moves) the slot's instant. */
  set(slot: number, due: number): void {
    if (slot >= this.#position.length) {
      this.#position = grown(this.#position, slot + 1, -1);
      this.#due = grown(this.#due, slot + 1, 0);
    }
    const at = this.#position[slot] ?? -1;
    if (at < 0) {
      if (this.#size === this.#heap.length) this.#heap = grown(this.#heap, this.#size + 1, -1);
      this.#due[slot] = due;
      this.#place(this.#size, slot);
      this.#size += 1;
      this.#up(this.#size - 1);
      return;
    }
    const before = this.#due[slot] ?? 0;
    this.#due[slot] = due;
    if (due < before) this.#up(at);
    else this.#down(at);
  }

  delete(slot: number): void {
    const at = this.#position[slot] ?? -1;
    if (at < 0) return;
    this.#position[slot] = -1;
    this.#size -= 1;
    if (at === this.#size) return;
    const last = this.#heap[this.#size] ?? -1;
    this.#place(at, last);
    this.#up(at);
    this.#down(this.#position[last] ?? at);
  }

  /** The slot with the earliest instant, if any. */
  first(): { readonly slot: number; readonly due: number } | undefined {
    if (this.#size === 0) return undefined;
    const slot = this.#heap[0] ?? -1;
    return { slot, due: this.#due[slot] ?? 0 };
  }

  has(slot: number): boolean {
    return (this.#position[slot] ?? -1) >= 0;
  }

  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#position[this.#heap[i] ?? 0] = -1;
    this.#size = 0;
  }

  #place(at: number, slot: number): void {
    this.#heap[at] = slot;
    this.#position[slot] = at;
  }

  #key(at: number): number {
    return this.#due[this.#heap[at] ?? 0] ?? 0;
  }

  #up(at: number): void {
    const slot = this.#heap[at] ?? 0;
    const due = this.#due[slot] ?? 0;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.#key(parent) <= due) break;
      this.#place(at, this.#heap[parent] ?? 0);
      at = parent;
    }
    this.#place(at, slot);
  }

  #down(at: number): void {
    const slot = this.#heap[at] ?? 0;
    const due = this.#due[slot] ?? 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.#size) break;
      if (child + 1 < this.#size && this.#key(child + 1) < this.#key(child)) child += 1;
      if (this.#key(child) >= due) break;
      this.#place(at, this.#heap[child] ?? 0);
      at = child;
    }
    this.#place(at, slot);
  }
}
