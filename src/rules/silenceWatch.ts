/**
 * Communication loss without sweeping the fleet. Each (rule, meter) has one deadline: the
 * instant its silence would reach N expected intervals (last data + N × interval). A reading
 * only moves the meter's last-seen time (ValueTable); the deadline entry moves lazily, when it
 * pops: a tick takes what is due, re-checks it against the current last-seen time, and either
 * judges it or pushes it forward. A meter in alarm has no deadline: it waits for data
 * (`heard`) and is judged on the next tick, as the sweep did.
 *
 * The meters a rule covers are enrolled (judged once, then scheduled) in slices across ticks:
 * when the rule starts and after every topology change.
 *
 * While silence is no evidence (the station's reading path stalled, and the grace after it:
 * readingPathStall.ts), a meter that falls due without an alarm is parked instead of judged:
 * it has no deadline until silence is evidence again, when the parked meters are scheduled
 * at once (in slices) and judged on what they have sent by then. A meter already in alarm is
 * judged as usual: no data came, so it stays in alarm.
 *
 * What the watch keeps per meter is a few numbers in columns indexed by the engine's meter
 * slots (meterSlots.ts), and the heap holds slot numbers: no object per meter.
 *
 * In a cluster only the meters placed on this node are judged: a meter placed elsewhere has no
 * deadline until the placement changes, when the covered meters are enrolled again; a meter
 * taken counts its silence from the taking (judge.judgedSince), as a meter added does from its
 * enrolment, so an area taken over does not raise every meter for the time before.
 */
import type { Meter, MeterId } from '../domain/index.js';
import type { CommunicationLossRuleParams } from './catalogue.js';
import {
  detectCommunicationLoss, initialCondition, type CommunicationLossParams, type ConditionState, type SilenceBasis,
} from './detectors/index.js';
import { checkSilence, silentAt } from './freshness.js';
import { ExpiryHeap } from './expiryHeap.js';
import { columnFor } from './meterSlots.js';
import type { CompiledRule } from './scope.js';
import { meterStateKey } from './stateTable.js';
import type { RuleJudge, RuleWatch, TickBudget } from './watch.js';

/** Meters changed one by one that wait for the next tick; past this many a whole enrolment pass is cheaper. */
const MAX_CHANGED = 10_000;

export class SilenceWatch implements RuleWatch {
  /** 1 where the meter in that slot is enrolled. */
  private enrolled = new Uint8Array(0);
  private enrolledCount = 0;
  /**
   * When the meter became expected to report: the rule's start for the meters it found, the
   * enrolment after the topology change for a meter added later (a new meter is not silent
   * the moment it is created).
   */
  private expectedFrom = new Float64Array(0);
  /** The enrolment pass that last visited it: meters a finished pass did not visit are gone. */
  private visited = new Int32Array(0);
  /** Each enrolled meter's one deadline, by slot (none while waiting, parked or not judged here). */
  private readonly due = new ExpiryHeap();
  /** Meters in alarm (by slot): no deadline, judged on the tick after they are heard from. */
  private readonly waiting = new Set<number>();
  /** Meters (by slot) that fell due while silence was no evidence: no deadline until it is again. */
  private readonly parked = new Set<number>();
  private pass = 0;
  private enrolment: { readonly ids: readonly MeterId[]; cursor: number } | undefined;
  private enrolAgain = true;
  /** Meters added or changed since the last tick, enrolled (or let go) one by one. */
  private readonly changed = new Set<MeterId>();
  private readonly withInterval = new Map<number, CommunicationLossParams>();

  constructor(
    private readonly c: CompiledRule,
    private readonly params: CommunicationLossRuleParams,
    private readonly judge: RuleJudge,
  ) {}

  /** Enrolled meters plus their deadlines (at most one each). */
  get held(): number {
    return this.enrolledCount + this.due.size;
  }

  heard(id: MeterId): void {
    if (this.waiting.size === 0) return;
    const slot = this.judge.slots.of(id);
    if (slot === undefined || !this.waiting.delete(slot)) return;
    if (this.enrolled[slot] === 1) this.schedule(slot, Number.NEGATIVE_INFINITY);
  }

  tick(now: number, budget: TickBudget): boolean {
    return this.resume(now, budget);
  }

  /** Parked meters back in the queue once silence is evidence again, due deadlines (time-critical), then enrolment. */
  resume(now: number, budget: TickBudget): boolean {
    const judging = this.parked.size === 0 || this.judge.judgesSilence(now);
    if (judging) this.unpark(now, budget);
    let done = 0;
    for (let e = this.due.first(); e !== undefined && e.due <= now && budget.more(done); e = this.due.first()) {
      const slot = e.slot;
      this.due.delete(slot);
      const id = this.judge.slots.idAt(slot);
      const meter = id === undefined ? undefined : this.judge.topology.meter(id);
      if (meter !== undefined) this.observe(slot, meter, now);
      done += 1;
    }
    if (this.enrolment === undefined && this.enrolAgain) this.startPass();
    this.enrolChanged(now, budget);
    this.enrol(now, budget);
    return this.enrolment !== undefined || this.changed.size > 0 || (this.due.first()?.due ?? Number.POSITIVE_INFINITY) <= now || (judging && this.parked.size > 0);
  }

  topologyChanged(): void {
    this.enrolAgain = true;
  }

  /** Enrolled at the next tick, as a whole pass would (its silence counts from then), or let go if the rule no longer covers it. */
  meterChanged(m: Meter): void {
    if (this.enrolAgain) return;
    if (this.changed.size >= MAX_CHANGED) {
      this.changed.clear();
      this.enrolAgain = true;
      return;
    }
    this.changed.add(m.id);
  }

  placementChanged(): void {
    this.enrolAgain = true;
  }

  forgetMeter(id: MeterId): void {
    const slot = this.judge.slots.of(id);
    if (slot === undefined) return;
    this.unenrol(slot);
  }

  // ── internals ───────────────────────────────────────────────────────────

  /** Parked meters become due now, as many as the budget allows. */
  private unpark(now: number, budget: TickBudget): void {
    let done = 0;
    for (const slot of this.parked) {
      if (!budget.more(done)) return;
      this.parked.delete(slot);
      if (this.enrolled[slot] === 1) this.schedule(slot, now);
      done += 1;
    }
  }

  private startPass(): void {
    this.enrolAgain = false;
    this.pass += 1;
    this.enrolment = { ids: this.judge.index.meterIdsOf(this.c), cursor: 0 };
  }

  /** The meters changed one by one since the last tick, while the budget lasts. */
  private enrolChanged(now: number, budget: TickBudget): void {
    let done = 0;
    for (const id of this.changed) {
      if (!budget.more(done)) return;
      this.changed.delete(id);
      done += 1;
      const m = this.judge.topology.meter(id);
      if (m === undefined) continue;
      if (this.judge.index.covers(this.c, m)) {
        // Added after the rule's first pass took its list: expected to report from now.
        this.enrolOne(m, now, now);
        continue;
      }
      const slot = this.judge.slots.of(id);
      if (slot !== undefined) this.unenrol(slot);
    }
  }

  /** Visits the pass's meters while the budget lasts; a finished pass forgets meters it did not visit. */
  private enrol(now: number, budget: TickBudget): void {
    const e = this.enrolment;
    if (e === undefined) return;
    for (let done = 0; e.cursor < e.ids.length && budget.more(done); done++) {
      const id = e.ids[e.cursor++];
      // The list is the one the pass started with: a meter deleted since is skipped.
      const m = id === undefined ? undefined : this.judge.topology.meter(id);
      if (m !== undefined) this.enrolOne(m, now, this.pass === 1 ? this.c.since : now);
    }
    if (e.cursor < e.ids.length) return;
    this.enrolment = undefined;
    for (let slot = 0; slot < this.enrolled.length; slot++) {
      if (this.enrolled[slot] === 1 && this.visited[slot] !== this.pass) this.unenrol(slot);
    }
  }

  private enrolOne(m: Meter, now: number, expectedFrom: number): void {
    const slot = this.judge.slots.take(m.id);
    if (this.enrolled[slot] !== 1) {
      this.enrolled = columnFor(this.enrolled, slot, 0);
      this.expectedFrom = columnFor(this.expectedFrom, slot, Number.NaN);
      this.visited = columnFor(this.visited, slot, 0);
      this.enrolled[slot] = 1;
      this.enrolledCount += 1;
      this.expectedFrom[slot] = expectedFrom;
    }
    // Visited by this pass: a meter added after the pass took its list is not let go at its end.
    this.visited[slot] = this.pass;
    this.waiting.delete(slot);
    this.parked.delete(slot);
    this.observe(slot, m, now);
  }

  private unenrol(slot: number): void {
    if (this.enrolled[slot] === 1) this.enrolledCount -= 1;
    if (slot < this.enrolled.length) this.enrolled[slot] = 0;
    this.due.delete(slot);
    this.waiting.delete(slot);
    this.parked.delete(slot);
  }

  /** One judgement, then the next instant at which the verdict can change without new data. */
  private observe(slot: number, meter: Meter, now: number): void {
    const id = meter.id;
    const key = meterStateKey(slot, 0);
    const interval = this.intervalOf(meter);
    // Unknown interval (terminal disabled or unknown): not judged until the topology changes.
    if (interval === undefined) return;
    const taken = this.judge.judgedSince(meter);
    if (taken === undefined) {
      // Another node judges it: no deadline here until the placement changes.
      this.waiting.delete(slot);
      this.parked.delete(slot);
      return;
    }
    const expectedFrom = this.expectedFrom[slot] ?? this.c.since;
    const heard = this.judge.values.lastSeen(id);
    // Heard before the rule started (or before this node took the meter): silence counts from then, as for a meter never heard.
    const from = Math.max(this.c.since, taken);
    const last = Math.max(heard ?? expectedFrom, from);
    const basis = basisOf(heard, expectedFrom, this.c.since, taken);
    const silentFrom = silentAt(last, interval, this.params.missedIntervals);
    const before = this.c.states.get(key) as ConditionState | undefined;
    if ((before === undefined || before.phase === 'idle') && !checkSilence(last, now, interval, this.params.missedIntervals).silent) {
      // Not silent and nothing pending: the detector would only say "idle", so skip it (and
      // its explanation text); a meter seen for the first time gets its idle state all the same.
      if (before === undefined) this.judge.step(this.c, key, { kind: 'meter', id }, initialCondition, (s) => ({ state: s }));
      this.schedule(slot, this.c.states.has(key) ? Math.max(silentFrom, now + 1) : now + 1);
      return;
    }
    if (before?.phase !== 'active' && before?.phase !== 'clearing' && !this.judge.judgesSilence(now)) {
      this.parked.add(slot);
      return;
    }
    const params = this.paramsFor(interval);
    this.judge.step(this.c, key, { kind: 'meter', id }, initialCondition,
      (s) => detectCommunicationLoss(s as ConditionState, last, params, now, basis));
    const state = this.c.states.get(key) as ConditionState | undefined;
    switch (state?.phase) {
      case 'active':
        this.waiting.add(slot);
        return;
      case 'clearing':
        this.schedule(slot, Math.max(Math.min((state.since ?? now) + this.params.clearForMs, silentFrom), now + 1));
        return;
      case 'idle':
        this.schedule(slot, Math.max(silentFrom, now + 1));
        return;
      default:
        // No state (refused under the engine's bound, or the detector failed) or pending: next tick.
        this.schedule(slot, now + 1);
    }
  }

  /** The detector's parameters with the meter's interval (one object per distinct interval). */
  private paramsFor(interval: number): CommunicationLossParams {
    let p = this.withInterval.get(interval);
    if (p === undefined) {
      if (this.withInterval.size >= 64) this.withInterval.clear();
      this.withInterval.set(interval, (p = { ...this.params, expectedIntervalMs: interval }));
    }
    return p;
  }

  private schedule(slot: number, at: number): void {
    this.due.set(slot, at);
  }

  private intervalOf(m: Meter): number | undefined {
    return this.params.expectedIntervalMs ?? this.judge.topology.expectedIntervalMs(m);
  }

}

/** What the silence counts from: a reading, the meter's addition, this node's taking of it, or the rule's start. */
function basisOf(heard: number | null, expectedFrom: number, ruleSince: number, taken: number): SilenceBasis {
  const from = Math.max(ruleSince, taken);
  if (heard !== null && heard >= from) return 'reading';
  if (taken > ruleSince && taken >= expectedFrom) return 'taken';
  return heard === null && expectedFrom > ruleSince ? 'added' : 'started';
}
