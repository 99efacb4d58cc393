/**
 * Abnormal area from running counts. Each judged area keeps how many of its meters have a
 * counted open alarm, and how many open alarms each detector has among them; the engine
 * reports every alarm opening or closing on a meter, which moves the counts of the areas the
 * meter belongs to. A tick then judges each area from its counts: O(areas), not O(meters).
 * Memberships are (re)built in slices (areaMembers.ts) while the previous tally keeps serving.
 *
 * A rule that counts communication loss judges silence at one remove: while silence is no
 * evidence (the reading path stalled, and its grace: readingPathStall.ts) its areas are not
 * judged at all, so an area is neither raised, updated nor cleared on a picture of the fleet
 * the station itself has blurred; the counts keep following the alarms meanwhile.
 */
import type { Area, AreaId, Meter, MeterId } from '../domain/index.js';
import { MembershipBuild, Memberships } from './areaMembers.js';
import { detectAbnormalArea, initialCondition, type AbnormalAreaParams, type ConditionState } from './detectors/index.js';
import type { MeterSlots } from './meterSlots.js';
import type { CompiledRule } from './scope.js';
import type { RuleJudge, RuleWatch, TickBudget } from './watch.js';

interface AlarmShare {
  readonly area: Area;
  meters: number;
  /** Meters with at least one counted open alarm. */
  inAlarm: number;
  /** Counted open alarms per detector (entries may fall back to 0). */
  readonly byDetector: Map<string, number>;
}

export class AbnormalAreaWatch implements RuleWatch {
  /** The tally judged from; undefined until the first one is complete. */
  private live: AlarmTally | undefined;
  /** A tally being built after a rule start or topology change; kept up to date as it grows. */
  private next: { readonly tally: AlarmTally; readonly build: MembershipBuild<AlarmShare> } | undefined;
  private dirty = true;
  private readonly counted: ReadonlySet<string> | undefined;
  private readonly countsSilence: boolean;

  constructor(
    private readonly c: CompiledRule,
    private readonly params: AbnormalAreaParams,
    private readonly judge: RuleJudge,
  ) {
    this.counted = params.detectors.length === 0 ? undefined : new Set(params.detectors);
    this.countsSilence = this.counted?.has('communication-loss') !== false;
  }

  /** Members and meters in alarm of the tallies (bounded by the judged areas' members). */
  get held(): number {
    return (this.live?.size ?? 0) + (this.next?.tally.size ?? 0);
  }

  openChanged(id: MeterId, detector: string, delta: 1 | -1): void {
    if (this.counted !== undefined && !this.counted.has(detector)) return;
    this.live?.move(id, detector, delta);
    this.next?.tally.move(id, detector, delta);
  }

  tick(now: number, budget: TickBudget): boolean {
    this.resume(now, budget);
    if (this.countsSilence && !this.judge.judgesSilence(now)) return this.next !== undefined;
    for (const s of this.live?.shares ?? []) {
      // Another node owns the area now: it judges it, from a fresh state if this node takes it again.
      if (!this.judge.judgesArea(this.c, s.area.id)) continue;
      const input = { areaName: s.area.name, meters: s.meters, inAlarm: s.inAlarm, byDetector: s.byDetector };
      this.judge.step(this.c, s.area.id, { kind: 'area', id: s.area.id }, initialCondition,
        (st) => detectAbnormalArea(st as ConditionState, input, this.params, now));
    }
    return this.next !== undefined;
  }

  /** Grows the tally being built; it replaces the live one once complete. */
  resume(_now: number, budget: TickBudget): boolean {
    if (this.next === undefined && this.dirty) this.startBuild();
    const next = this.next;
    if (next?.build.advance(budget, (m, of) => { next.tally.join(m.id, of, this.countedOpen(m.id)); }) === true) {
      this.live = next.tally;
      this.next = undefined;
    }
    return this.next !== undefined;
  }

  topologyChanged(): void {
    this.dirty = true;
  }

  /** A meter added or moved counts in its areas now; a tally still being built takes it too, once. */
  meterChanged(m: Meter): void {
    const open = this.countedOpen(m.id);
    this.live?.moved(m, open);
    this.next?.tally.moved(m, open);
  }

  /** Called before the engine forgets the meter's open alarms, which leave the counts with it. */
  forgetMeter(id: MeterId): void {
    const open = this.countedOpen(id);
    this.live?.leave(id, open);
    this.next?.tally.leave(id, open);
  }

  private countedOpen(id: MeterId): string[] {
    const out: string[] = [];
    for (const d of this.judge.openDetectors(id)) if (this.counted?.has(d) !== false) out.push(d);
    return out;
  }

  private startBuild(): void {
    this.dirty = false;
    const judged = new Map<AreaId, AlarmShare>();
    for (const area of this.judge.index.areasOf(this.c)) judged.set(area.id, { area, meters: 0, inAlarm: 0, byDetector: new Map() });
    const build = new MembershipBuild(this.judge.topology, judged);
    this.next = { tally: new AlarmTally([...judged.values()], this.judge.slots, (a) => build.judgedOf(a)), build };
  }
}

/** Open-alarm counts of one membership. */
class AlarmTally {
  private readonly members: Memberships<AlarmShare>;
  /** Counted open alarms per meter; absent when none. */
  private readonly openOf = new Map<MeterId, number>();

  constructor(
    readonly shares: readonly AlarmShare[],
    slots: MeterSlots,
    private readonly judgedOf: (area: AreaId) => readonly AlarmShare[] | null,
  ) {
    this.members = new Memberships(slots);
  }

  get size(): number {
    return this.members.size + this.openOf.size;
  }

  join(id: MeterId, of: readonly AlarmShare[], open: readonly string[]): void {
    if (!this.members.join(id, of)) return;
    for (const s of of) s.meters += 1;
    for (const d of open) this.move(id, d, 1);
  }

  /** A meter added or moved: out of the areas it counted in, with its open alarms, into those of its area now. */
  moved(m: Meter, open: readonly string[]): void {
    this.leave(m.id, open);
    const of = m.areaId === null ? null : this.judgedOf(m.areaId);
    if (of !== null) this.join(m.id, of, open);
  }

  leave(id: MeterId, open: readonly string[]): void {
    if (this.members.of(id) === undefined) return;
    for (const d of open) this.move(id, d, -1);
    for (const s of this.members.leave(id) ?? []) s.meters -= 1;
    this.openOf.delete(id);
  }

  move(id: MeterId, detector: string, delta: 1 | -1): void {
    const of = this.members.of(id);
    if (of === undefined) return;
    const before = this.openOf.get(id) ?? 0;
    const after = Math.max(0, before + delta);
    if (after === 0) this.openOf.delete(id);
    else this.openOf.set(id, after);
    for (const s of of) {
      s.byDetector.set(detector, Math.max(0, (s.byDetector.get(detector) ?? 0) + delta));
      if (before === 0 && after > 0) s.inAlarm += 1;
      else if (before > 0 && after === 0) s.inAlarm -= 1;
    }
  }
}
