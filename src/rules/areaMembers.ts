/**
 * Which judged areas each meter counts in (its own area and every judged area above it),
 * worked out in slices across ticks so that a rule starting or a topology change on a large
 * fleet never holds the event loop: the area watches keep judging from their previous tally
 * until the new one is complete.
 *
 * The fleet is walked through the topology's iterator, never copied; meters of one area share
 * one list of judged areas, and a tally keeps per meter only a number naming that list
 * (`Memberships`), not a map entry and an array of its own.
 */
import type { AreaId, Meter, MeterId } from '../domain/index.js';
import { columnFor, type MeterSlots } from './meterSlots.js';
import type { RuleTopology } from './scope.js';
import type { TickBudget } from './watch.js';

export class MembershipBuild<S> {
  private readonly parent: ReadonlyMap<AreaId, AreaId | null>;
  private readonly meters: Iterator<Meter> | undefined;
  /** The judged areas above each area seen, shared by its meters (null: none). */
  private readonly ofArea = new Map<AreaId, readonly S[] | null>();
  private done = false;

  /** `judged`: the rule's judged areas, each with the tally entry meters join. */
  constructor(topology: RuleTopology, private readonly judged: ReadonlyMap<AreaId, S>) {
    this.parent = new Map([...topology.areas()].map((a) => [a.id, a.parentId]));
    this.meters = judged.size === 0 ? undefined : topology.meters()[Symbol.iterator]();
  }

  /**
   * Hands each meter with at least one judged area to `join`, while the budget lasts;
   * true once every meter has been seen.
   */
  advance(budget: TickBudget, join: (m: Meter, of: readonly S[]) => void): boolean {
    const meters = this.meters;
    if (meters === undefined) return true;
    for (let n = 0; !this.done && budget.more(n); n++) {
      const next = meters.next();
      if (next.done === true) {
        this.done = true;
        break;
      }
      const m = next.value;
      if (m.areaId === null) continue;
      const of = this.judgedOf(m.areaId);
      if (of !== null) join(m, of);
    }
    return this.done;
  }

  /** The judged areas a meter of `area` counts in (null: none); the same walk as RuleIndex.membersOf, guarded against a parent cycle. */
  judgedOf(area: AreaId): readonly S[] | null {
    const known = this.ofArea.get(area);
    if (known !== undefined) return known;
    let of = null as S[] | null;
    for (let a: AreaId | null = area, hops = 0; a !== null && hops <= this.parent.size; a = this.parent.get(a) ?? null, hops++) {
      const s = this.judged.get(a);
      if (s === undefined || of?.includes(s) === true) continue;
      (of ??= []).push(s);
    }
    this.ofArea.set(area, of);
    return of;
  }
}

/**
 * The judged areas each meter of a tally counts in, by meter slot: a number per meter naming
 * one of the few distinct lists (one per area), so a million members cost four bytes each.
 */
export class Memberships<S> {
  /** Per slot, 1 + the index of its list in `lists`; 0: not a member. */
  private listOf = new Int32Array(0);
  private readonly lists: (readonly S[])[] = [];
  private readonly numberOf = new Map<readonly S[], number>();
  private count = 0;

  constructor(private readonly slots: MeterSlots) {}

  get size(): number {
    return this.count;
  }

  /** The meter joins the areas of `of`; false when it is a member already (counted once). */
  join(id: MeterId, of: readonly S[]): boolean {
    const slot = this.slots.take(id);
    this.listOf = columnFor(this.listOf, slot, 0);
    if (this.listOf[slot] !== 0) return false;
    let n = this.numberOf.get(of);
    if (n === undefined) {
      n = this.lists.push(of);
      this.numberOf.set(of, n);
    }
    this.listOf[slot] = n;
    this.count += 1;
    return true;
  }

  /** The areas the meter counts in, undefined when it is not a member. */
  of(id: MeterId): readonly S[] | undefined {
    const slot = this.slots.of(id);
    return slot === undefined ? undefined : this.lists[(this.listOf[slot] ?? 0) - 1];
  }

  /** The meter leaves; returns the areas it counted in. */
  leave(id: MeterId): readonly S[] | undefined {
    const of = this.of(id);
    const slot = this.slots.of(id);
    if (of === undefined || slot === undefined) return undefined;
    this.listOf[slot] = 0;
    this.count -= 1;
    return of;
  }
}
