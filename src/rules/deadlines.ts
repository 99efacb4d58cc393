/**
 * A min-heap of deadlines: the time-driven rules keep one entry per thing that may change
 * its verdict at a known instant (a meter falling silent, a value going stale, an event
 * alarm's quiet time running out), so a tick touches only what is due instead of sweeping
 * every meter.
 *
 * Entries are never updated in place: a holder that moves its deadline pushes a new entry
 * and recognises the old one as stale when it pops (lazy deletion). `retain` drops stale
 * entries in one pass when a holder sees the heap grow past what it holds.
 */
export class DeadlineQueue<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  /** The earliest deadline, or +Infinity when empty. */
  peekAt(): number {
    return this.at[0] ?? Number.POSITIVE_INFINITY;
  }

  push(at: number, item: T): void {
    this.at.push(at);
    this.items.push(item);
    this.up(this.at.length - 1);
  }

  /** Removes the earliest entry and returns its item; undefined when empty. */
  pop(): T | undefined {
    const n = this.at.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    const lastAt = this.at.pop() ?? 0;
    const lastItem = this.items.pop() as T;
    if (n > 1) {
      this.at[0] = lastAt;
      this.items[0] = lastItem;
      this.down(0);
    }
    return top;
  }

  /** Keeps the entries `keep` accepts and restores the heap order; O(n). */
  retain(keep: (item: T, at: number) => boolean): void {
    let w = 0;
    for (let r = 0; r < this.at.length; r++) {
      const at = this.at[r] ?? 0;
      const item = this.items[r] as T;
      if (!keep(item, at)) continue;
      this.at[w] = at;
      this.items[w] = item;
      w += 1;
    }
    this.at.length = w;
    this.items.length = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.down(i);
  }

  clear(): void {
    this.at.length = 0;
    this.items.length = 0;
  }

  // ── heap order ──────────────────────────────────────────────────────────

  private up(i: number): void {
    const at = this.at[i] ?? 0;
    const item = this.items[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pAt = this.at[parent] ?? 0;
      if (pAt <= at) break;
      this.at[i] = pAt;
      this.items[i] = this.items[parent] as T;
      i = parent;
    }
    this.at[i] = at;
    this.items[i] = item;
  }

  private down(i: number): void {
    const n = this.at.length;
    const at = this.at[i] ?? 0;
    const item = this.items[i] as T;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && (this.at[right] ?? 0) < (this.at[left] ?? 0) ? right : left;
      const cAt = this.at[child] ?? 0;
      if (cAt >= at) break;
      this.at[i] = cAt;
      this.items[i] = this.items[child] as T;
      i = child;
    }
    this.at[i] = at;
    this.items[i] = item;
  }
}
