/**
 * The compact parts of the topology image: meters live in numbered slots (columns of typed
 * arrays, src/registry/image.ts), grouped by their terminal and by their area through linked
 * lists of slot numbers, and listed in id order by a sorted array of ids. At a million meters
 * an object per meter and a map entry per index cost more than the rest of the station.
 */

/** A typed array twice as long (at least `min`), with the old values copied and the new ones `fill`. */
export function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, min: number, fill: number): T {
  const next = new (a.constructor as new (n: number) => T)(Math.max(min, a.length * 2, 16));
  next.set(a);
  next.fill(fill, a.length);
  return next;
}

/**
 * Slots grouped by an owner id (a terminal, an area): one doubly linked list of slots per
 * owner, in the order they joined, so a slot joins and leaves in O(1) and an owner's slots
 * are walked without looking at anyone else's. An owner's number lives while it has slots.
 */
export class SlotGroups<Id extends string> {
  private readonly numbers = new Map<Id, number>();
  private ids: (Id | undefined)[] = [];
  private readonly freeNumbers: number[] = [];
  private head = new Int32Array(0);
  private tail = new Int32Array(0);
  private count = new Int32Array(0);
  /** Per slot: its owner's number, -1 for none. */
  private owner = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  /** The owner joined last and its number: a load joins runs of slots to one owner, without a map lookup each. */
  private lastId: Id | undefined;
  private lastNumber = -1;

  /** Makes room for slots below `capacity`. */
  reserve(capacity: number): void {
    if (capacity <= this.owner.length) return;
    this.owner = grown(this.owner, capacity, -1);
    this.next = grown(this.next, capacity, -1);
    this.prev = grown(this.prev, capacity, -1);
  }

  /** The owner's number, or -1 when it has no slots. */
  numberOf(id: Id): number {
    return this.numbers.get(id) ?? -1;
  }

  ownerOf(slot: number): Id | undefined {
    const n = this.owner[slot] ?? -1;
    return n < 0 ? undefined : this.ids[n];
  }

  ownerNumberOf(slot: number): number {
    return this.owner[slot] ?? -1;
  }

  size(id: Id): number {
    const n = this.numbers.get(id);
    return n === undefined ? 0 : this.count[n] ?? 0;
  }

  /** The number of slots of the owner numbered `n`. */
  sizeOfNumber(n: number): number {
    return n < 0 ? 0 : this.count[n] ?? 0;
  }

  /** The owner's slots, in the order they joined. */
  *slotsOf(id: Id): Generator<number> {
    yield* this.slotsOfNumber(this.numbers.get(id) ?? -1);
  }

  /** The slots of the owner numbered `n`, in the order they joined. */
  *slotsOfNumber(n: number): Generator<number> {
    if (n < 0) return;
    for (let s = this.head[n] ?? -1; s >= 0; s = this.next[s] ?? -1) yield s;
  }

  /** The first slot of the owner's for which `match` holds, or -1. */
  find(n: number, match: (slot: number) => boolean): number {
    if (n < 0) return -1;
    for (let s = this.head[n] ?? -1; s >= 0; s = this.next[s] ?? -1) if (match(s)) return s;
    return -1;
  }

  /** Puts `slot` last in `id`'s group, leaving the group it was in. */
  join(slot: number, id: Id): void {
    this.leave(slot);
    let n = id === this.lastId ? this.lastNumber : this.numbers.get(id);
    if (n === undefined) {
      n = this.freeNumbers.pop() ?? this.ids.length;
      if (n >= this.head.length) {
        this.head = grown(this.head, n + 1, -1);
        this.tail = grown(this.tail, n + 1, -1);
        this.count = grown(this.count, n + 1, 0);
      }
      this.numbers.set(id, n);
      this.ids[n] = id;
    }
    this.lastId = id;
    this.lastNumber = n;
    const last = this.tail[n] ?? -1;
    this.owner[slot] = n;
    this.prev[slot] = last;
    this.next[slot] = -1;
    if (last < 0) this.head[n] = slot;
    else this.next[last] = slot;
    this.tail[n] = slot;
    this.count[n] = (this.count[n] ?? 0) + 1;
  }

  /** Takes `slot` out of its group; the group's number is freed with its last slot. */
  leave(slot: number): void {
    const n = this.owner[slot] ?? -1;
    if (n < 0) return;
    const before = this.prev[slot] ?? -1;
    const after = this.next[slot] ?? -1;
    if (before < 0) this.head[n] = after;
    else this.next[before] = after;
    if (after < 0) this.tail[n] = before;
    else this.prev[after] = before;
    this.owner[slot] = -1;
    this.count[n] = (this.count[n] ?? 1) - 1;
    if (this.count[n] === 0) {
      const id = this.ids[n];
      if (id !== undefined) this.numbers.delete(id);
      if (n === this.lastNumber) this.lastId = undefined;
      this.ids[n] = undefined;
      this.freeNumbers.push(n);
    }
  }
}

/** Changes kept waiting up to this many are spliced in one by one; more are sorted and merged at once. */
const SPLICE_MAX = 64;

/**
 * Ids in ascending order (UTF-16 code units, as `<` compares strings), for keyset pages: a
 * page is a binary search for the cursor and a slice. Changes wait until the next read: a few
 * are spliced in (a binary search and a move each), a bulk load or import is sorted and
 * merged once, so neither a single change nor a million of them costs a move per id.
 * The owner adds only ids that are absent and removes only ids that are present.
 */
export class SortedIds<Id extends string> {
  private ids: Id[] = [];
  private added: Id[] = [];
  private readonly removed = new Set<Id>();

  add(id: Id): void {
    if (this.removed.delete(id)) return;
    const last = this.ids[this.ids.length - 1];
    // Rows loaded in id order go straight to the end.
    if (this.added.length === 0 && this.removed.size === 0 && (last === undefined || last < id)) this.ids.push(id);
    else this.added.push(id);
  }

  remove(id: Id): void {
    this.removed.add(id);
  }

  /** Up to `limit` ids after `cursor` (from the first without one), and whether more follow them. */
  after(cursor: string | undefined, limit: number): { readonly ids: readonly Id[]; readonly more: boolean } {
    this.settle();
    const start = cursor === undefined ? 0 : this.firstAbove(cursor);
    return { ids: this.ids.slice(start, start + limit), more: start + limit < this.ids.length };
  }

  /** Ids from the first after `cursor` on, one by one; no change may come between two of them. */
  *from(cursor: string | undefined): Generator<Id> {
    this.settle();
    for (let i = cursor === undefined ? 0 : this.firstAbove(cursor); i < this.ids.length; i++) {
      const id = this.ids[i];
      if (id !== undefined) yield id;
    }
  }

  /** Applies the changes waiting. */
  settle(): void {
    if (this.removed.size > 0) {
      const gone = this.removed;
      if (gone.size <= SPLICE_MAX) {
        for (const id of gone) {
          const i = this.firstAbove(id) - 1;
          if (this.ids[i] === id) this.ids.splice(i, 1);
          else this.added.splice(this.added.indexOf(id), 1);
        }
      } else {
        this.ids = this.ids.filter((id) => !gone.has(id));
        this.added = this.added.filter((id) => !gone.has(id));
      }
      gone.clear();
    }
    if (this.added.length === 0) return;
    if (this.added.length <= SPLICE_MAX) {
      for (const id of this.added) this.ids.splice(this.firstAbove(id), 0, id);
    } else {
      this.ids = merged(this.ids, this.added.sort());
    }
    this.added = [];
  }

  /** The index of the first id above `cursor`. */
  private firstAbove(cursor: string): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ids[mid] ?? '') <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function merged<Id extends string>(a: readonly Id[], b: readonly Id[]): Id[] {
  const out: Id[] = [];
  let i = 0;
  let j = 0;
  for (;;) {
    const x = a[i];
    const y = b[j];
    if (x === undefined) return out.concat(b.slice(j));
    if (y === undefined) return out.concat(a.slice(i));
    if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
}

/** Ids after `cursor` in ascending order, `limit` of them, from an unordered set: a small filter's page. */
export function pageOf<Id extends string>(ids: Iterable<Id>, cursor: string | undefined, limit: number): { readonly ids: Id[]; readonly more: boolean } {
  const sorted: Id[] = [];
  for (const id of ids) if (cursor === undefined || id > cursor) sorted.push(id);
  sorted.sort();
  return { ids: sorted.slice(0, limit), more: sorted.length > limit };
}
