/**
 * Which judged areas each meter counts in (its own area and every judged area above it),
 * worked out in slices across ticks so that a rule starting or a topology change on a large
 * fleet never holds the event loop: the area watches keep judging from their previous tally
 * until the new one is complete.
 */
import type { AreaId, Meter } from '../domain/index.js';
import type { RuleTopology } from './scope.js';
import type { TickBudget } from './watch.js';

export class MembershipBuild<S> {
  private readonly parent: ReadonlyMap<AreaId, AreaId | null>;
  private readonly meters: readonly Meter[];
  private cursor = 0;

  /** `judged`: the rule's judged areas, each with the tally entry meters join. */
  constructor(topology: RuleTopology, private readonly judged: ReadonlyMap<AreaId, S>) {
    this.parent = new Map([...topology.areas()].map((a) => [a.id, a.parentId]));
    // The list is taken once: a meter added meanwhile comes with the next topology change's build.
    this.meters = judged.size === 0 ? [] : [...topology.meters()];
  }

  /**
   * Hands each meter with at least one judged area to `join`, while the budget lasts;
   * true once every meter has been seen.
   */
  advance(budget: TickBudget, join: (m: Meter, of: S[]) => void): boolean {
    for (let done = 0; this.cursor < this.meters.length && budget.more(done); done++) {
      const m = this.meters[this.cursor++];
      if (m === undefined) continue;
      let of: S[] | undefined;
      // The same walk as RuleIndex.membersOf, guarded against a parent cycle.
      for (let a = m.areaId, hops = 0; a !== null && hops <= this.parent.size; a = this.parent.get(a) ?? null, hops++) {
        const s = this.judged.get(a);
        if (s === undefined || of?.includes(s) === true) continue;
        (of ??= []).push(s);
      }
      if (of !== undefined) join(m, of);
    }
    return this.cursor >= this.meters.length;
  }
}
