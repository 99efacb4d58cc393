/**
 * Area line loss (台区线损) per interval. Between interval ends a tick costs one lookup per
 * judged area; only at an interval's end are the area's registers read (once per interval,
 * e.g. daily), both ends of which must be known for every meter.
 */
import type { Area, Meter, MeterId } from '../domain/index.js';
import {
  detectAreaLineLoss, initialCondition, type AreaLineLossParams, type ConditionState, type DetectorResult,
} from './detectors/index.js';
import type { CompiledRule } from './scope.js';
import type { RuleJudge, RuleWatch } from './watch.js';

/** One line-loss interval: register values of the area's meters at its start. */
interface LineLossState {
  readonly condition: ConditionState;
  readonly startAt: number;
  readonly start: ReadonlyMap<MeterId, number>;
}

/** Whether an area rule's state (a condition, or a line-loss interval's) holds an open alarm. */
export function areaStateRaised(state: unknown): boolean {
  const cond = (state as { condition?: ConditionState }).condition ?? (state as ConditionState);
  return cond.phase === 'active' || cond.phase === 'clearing';
}

export class LineLossWatch implements RuleWatch {
  /** Interval starts live in the rule's states; nothing is held here. */
  readonly held = 0;

  constructor(
    private readonly c: CompiledRule,
    private readonly params: AreaLineLossParams,
    private readonly judge: RuleJudge,
  ) {}

  /** Nothing sliced: an interval's end reads one area's registers at once. */
  tick(now: number): boolean {
    // The rule judges the area its supply meter belongs to directly (within the rule's areas).
    const supplyArea = this.judge.topology.meter(this.params.supplyMeter as MeterId)?.areaId;
    if (supplyArea === undefined || supplyArea === null) return false;
    for (const area of this.judge.index.areasOf(this.c)) {
      if (area.id !== supplyArea) continue;
      // Another node owns the area: its interval is that node's; taken again, a new one begins here.
      if (!this.judge.judgesArea(this.c, area.id)) continue;
      this.judge.step(this.c, area.id, { kind: 'area', id: area.id }, () => this.begin(area, now),
        (s) => this.judgeInterval(area, s as LineLossState, now));
    }
    return false;
  }

  topologyChanged(): void {
    // Members are read from the rule index at an interval's end: nothing held here.
  }

  forgetMeter(): void {
    // As above.
  }

  meterChanged(): void {
    // As above.
  }

  private begin(area: Area, now: number): LineLossState {
    return { condition: initialCondition(), startAt: now, start: this.registers(this.judge.index.membersOf(area.id), now) };
  }

  private judgeInterval(area: Area, s: LineLossState, now: number): DetectorResult<LineLossState> {
    const p = this.params;
    if (now - s.startAt < p.intervalMs) return { state: s };
    const supplyId = p.supplyMeter as MeterId;
    const members = this.judge.index.membersOf(area.id);
    const end = this.registers(members, now);
    const missing: string[] = [];
    let customers = 0;
    let customersDelta = 0;
    let supplyDelta: number | undefined;
    for (const m of members) {
      const a = s.start.get(m.id);
      const b = end.get(m.id);
      const delta = a === undefined || b === undefined ? undefined : b - a;
      if (m.id === supplyId) {
        supplyDelta = delta;
        if (delta === undefined) missing.push(m.id);
        continue;
      }
      customers += 1;
      if (delta === undefined) missing.push(m.id);
      else customersDelta += delta;
    }
    const r = detectAreaLineLoss(s.condition, { areaName: area.name, intervalMs: now - s.startAt, supplyDelta, customersDelta, customers, missing }, p, now);
    const next: LineLossState = { condition: r.state, startAt: now, start: end };
    return r.event === undefined ? { state: next } : { state: next, event: r.event };
  }

  /** Register values read at most `maxReadingAgeMs` before `now`. */
  private registers(members: readonly Meter[], now: number): Map<MeterId, number> {
    const out = new Map<MeterId, number>();
    const notBefore = now - this.params.maxReadingAgeMs;
    for (const m of members) {
      const v = this.judge.values.fresh(m.id, this.params.register, notBefore);
      if (v !== undefined) out.set(m.id, v.value);
    }
    return out;
  }
}
