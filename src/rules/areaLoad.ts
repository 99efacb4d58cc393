/**
 * Transformer overload from running sums. Each judged area keeps the sum of its meters'
 * fresh `power.active` and how many report; a reading changes the sums by its meter's
 * difference (subtract the previous value, add the new one), and a value leaving the
 * freshness window is subtracted when its deadline pops. A tick then judges each area from
 * its sums: O(areas + values gone stale), not O(meters). Memberships are (re)built in
 * slices (areaMembers.ts) while the previous tally keeps serving.
 *
 * What counts is the station's one area-load definition (src/domain/areaLoad.ts), which the
 * live overview and load control use too: the same meters (supply meters left out), the same
 * fresh/stale cut, the same limit from the transformer's rating. Only the way of summing
 * differs (running sums here, a fold there); tests/src/domain/areaLoad.test.ts holds them equal.
 *
 * Sums are kept in integer milliwatts so that adding and subtracting a meter's value for
 * months never accumulates floating-point error (exact while |Σ| < 2^53 mW ≈ 9·10^9 kW).
 */
import { freshUntil, powerStanding, transformerLimitKw, type Area, type AreaId, type Meter, type MeterId } from '../domain/index.js';
import { MembershipBuild, Memberships } from './areaMembers.js';
import { quantityBit } from './catalogue.js';
import { DeadlineQueue } from './deadlines.js';
import { clause, say, value, type ExplanationArg } from './explanation.js';
import {
  detectTransformerOverload, initialCondition, type ConditionState, type TransformerOverloadParams,
} from './detectors/index.js';
import { columnFor, type MeterSlots } from './meterSlots.js';
import type { CompiledRule } from './scope.js';
import type { ValueTable } from './values.js';
import type { RuleJudge, RuleWatch, TickBudget } from './watch.js';

interface LoadSum {
  readonly area: Area;
  readonly limitKw: number;
  /** How the limit was obtained, for the explanation. */
  readonly basis: ExplanationArg;
  meters: number;
  reporting: number;
  /** Σ fresh power.active of the reporting meters, mW. */
  milliwatts: number;
}

const POWER = quantityBit('power.active');
const MW_PER_KW = 1e6;

export class AreaLoadWatch implements RuleWatch {
  /** The tally judged from; undefined until the first one is complete. */
  private live: LoadTally | undefined;
  /** A tally being built after a rule start or topology change; kept up to date as it grows. */
  private next: { readonly tally: LoadTally; readonly build: MembershipBuild<LoadSum> } | undefined;
  private dirty = true;

  constructor(
    private readonly c: CompiledRule,
    private readonly params: TransformerOverloadParams,
    private readonly judge: RuleJudge,
  ) {}

  /** Members and counted values of the tallies (bounded by the judged areas' members). */
  get held(): number {
    return (this.live?.size ?? 0) + (this.next?.tally.size ?? 0);
  }

  heard(id: MeterId, mask: number): void {
    if ((mask & POWER) === 0) return;
    this.live?.heard(id);
    this.next?.tally.heard(id);
  }

  tick(now: number, budget: TickBudget): boolean {
    this.resume(now, budget);
    const live = this.live;
    if (live === undefined) return this.next !== undefined;
    live.expire(now);
    const p = this.params;
    const supply = p.supplyMeter as MeterId | undefined;
    for (const s of live.sums) {
      // Another node owns the area now: it judges it, from a fresh state if this node takes it again.
      if (!this.judge.judgesArea(this.c, s.area.id)) continue;
      let loadKw = s.milliwatts / MW_PER_KW;
      let reporting = s.reporting;
      if (supply !== undefined) {
        // The supply meter's own power is the load: one lookup, nothing to sum.
        const v = this.judge.values.latest(supply, 'power.active');
        const fresh = powerStanding(v, now, this.judge.areaLoad.freshMs) === 'fresh';
        loadKw = fresh ? v?.value ?? 0 : 0;
        reporting = fresh ? 1 : 0;
      }
      const input = { areaName: s.area.name, limitKw: s.limitKw, limitBasis: s.basis, loadKw, reporting, meters: s.meters };
      this.judge.step(this.c, s.area.id, { kind: 'area', id: s.area.id }, initialCondition,
        (st) => detectTransformerOverload(st as ConditionState, input, p, now));
    }
    return this.next !== undefined;
  }

  /** Grows the tally being built; it replaces the live one once complete. */
  resume(_now: number, budget: TickBudget): boolean {
    if (this.next === undefined && this.dirty) this.startBuild();
    const next = this.next;
    if (next?.build.advance(budget, (m, of) => { next.tally.join(m.id, of); }) === true) {
      this.live = next.tally;
      this.next = undefined;
    }
    return this.next !== undefined;
  }

  topologyChanged(): void {
    this.dirty = true;
  }

  forgetMeter(id: MeterId): void {
    this.live?.leave(id);
    this.next?.tally.leave(id);
  }

  /** A meter added or moved counts in its areas now; a tally still being built takes it too, once. */
  meterChanged(m: Meter): void {
    this.live?.moved(m);
    this.next?.tally.moved(m);
  }

  /** The judged areas now; their members join in slices. */
  private startBuild(): void {
    this.dirty = false;
    const p = this.params;
    const { freshMs, powerFactor, excluded } = this.judge.areaLoad;
    const everyArea = 'all' in this.c.rule.subject;
    const judged = new Map<AreaId, LoadSum>();
    for (const area of this.judge.index.areasOf(this.c)) {
      // "Every area" means every transformer area; a region has no transformer to overload.
      if (everyArea && area.kind !== 'transformer') continue;
      let limitKw = p.limitKw;
      let basis = clause(say('transformer-overload.configured')`configured limit`);
      if (limitKw === undefined) {
        const rated = transformerLimitKw(area.transformerKva, powerFactor);
        if (rated === null || area.transformerKva === null) continue;
        limitKw = rated;
        basis = clause(say('transformer-overload.rating')`${value(area.transformerKva, 0, 'kVA')} × PF ${value(powerFactor, 2, '')}`);
      }
      judged.set(area.id, { area, limitKw, basis, meters: p.supplyMeter === undefined ? 0 : 1, reporting: 0, milliwatts: 0 });
    }
    // With a supply meter the load is its own reading: no members to count.
    const build = new MembershipBuild(this.judge.topology, p.supplyMeter === undefined ? judged : new Map<AreaId, LoadSum>());
    const tally = new LoadTally([...judged.values()], this.judge.values, this.judge.slots, (a) => build.judgedOf(a), freshMs, excluded);
    this.next = { tally, build };
  }
}

/** Running sums of one membership: which meters count where, and what each contributes, by meter slot. */
class LoadTally {
  private readonly members: Memberships<LoadSum>;
  /** Per slot, the meter's value in the sums, mW, and the device time it was measured (NaN: not counted). */
  private milliwatts = new Float64Array(0);
  private ts = new Float64Array(0);
  private counted = 0;
  /** One entry per counted meter (its slot), at the instant its value would go stale (moved lazily). */
  private readonly staleAt = new DeadlineQueue<number>();

  constructor(
    readonly sums: readonly LoadSum[],
    private readonly values: ValueTable,
    private readonly slots: MeterSlots,
    private readonly judgedOf: (area: AreaId) => readonly LoadSum[] | null,
    private readonly freshMs: number,
    private readonly excluded: ReadonlySet<string>,
  ) {
    this.members = new Memberships(slots);
  }

  get size(): number {
    return this.members.size + this.counted + this.staleAt.size;
  }

  /** A meter joins the sums of its areas, unless the area-load definition leaves it out (a supply meter). */
  join(id: MeterId, of: readonly LoadSum[]): void {
    if (this.excluded.has(id) || !this.members.join(id, of)) return;
    for (const s of of) s.meters += 1;
    this.heard(id);
  }

  /** A meter added or moved: out of the areas it counted in, into those of its area now. */
  moved(m: Meter): void {
    this.leave(m.id);
    const of = m.areaId === null ? null : this.judgedOf(m.areaId);
    if (of !== null) this.join(m.id, of);
  }

  /** A deleted meter leaves its areas. */
  leave(id: MeterId): void {
    const of = this.members.leave(id);
    const slot = this.slots.of(id);
    if (of === undefined || slot === undefined) return;
    const counted = this.isCounted(slot);
    const mw = this.milliwatts[slot] ?? 0;
    for (const s of of) {
      s.meters -= 1;
      if (!counted) continue;
      s.milliwatts -= mw;
      s.reporting -= 1;
    }
    if (counted) this.uncount(slot);
  }

  /** Takes the meter's latest power into the sums it counts in: subtract the old, add the new. */
  heard(id: MeterId): void {
    const of = this.members.of(id);
    const slot = this.slots.of(id);
    if (of === undefined || slot === undefined) return;
    const latest = this.values.latest(id, 'power.active');
    if (latest === undefined) return;
    const { value, ts } = latest;
    const mw = Math.round(value * MW_PER_KW);
    if (!this.isCounted(slot)) {
      for (const s of of) {
        s.milliwatts += mw;
        s.reporting += 1;
      }
      this.milliwatts = columnFor(this.milliwatts, slot, 0);
      this.ts = columnFor(this.ts, slot, Number.NaN);
      this.milliwatts[slot] = mw;
      this.ts[slot] = ts;
      this.counted += 1;
      this.staleAt.push(freshUntil(ts, this.freshMs), slot);
      return;
    }
    const delta = mw - (this.milliwatts[slot] ?? 0);
    for (const s of of) s.milliwatts += delta;
    this.milliwatts[slot] = mw;
    this.ts[slot] = ts;
  }

  /** Values that went stale by `now` leave the sums (powerStanding's cut: older than `now - freshMs`). */
  expire(now: number): void {
    while (this.staleAt.peekAt() < now) {
      const slot = this.staleAt.pop() ?? -1;
      if (!this.isCounted(slot)) continue;
      const until = freshUntil(this.ts[slot] ?? 0, this.freshMs);
      if (until >= now) {
        this.staleAt.push(until, slot);
        continue;
      }
      const id = this.slots.idAt(slot);
      const mw = this.milliwatts[slot] ?? 0;
      for (const s of (id === undefined ? undefined : this.members.of(id)) ?? []) {
        s.milliwatts -= mw;
        s.reporting -= 1;
      }
      this.uncount(slot);
    }
  }

  private isCounted(slot: number): boolean {
    const ts = this.ts[slot];
    return ts !== undefined && !Number.isNaN(ts);
  }

  private uncount(slot: number): void {
    this.ts[slot] = Number.NaN;
    this.counted -= 1;
  }
}
