/**
 * The real-time rule engine: a sink of the ingest pipeline that judges every reading as it
 * arrives against the rules watching its meter, keeps each (rule, meter[, phase]) condition
 * in memory, and emits AlarmSignals. Time-driven judgements (communication loss, area
 * figures, clear-after-time of device events) run on `tick(now)`, which rules/index.ts calls every
 * second; tests call it with their own clock. A tick never sweeps the fleet: each such rule
 * has a watch (watch.ts) that the engine keeps informed as readings and alarms come and go,
 * and that does only what is due, within `tickBudgetMs` for its sliced work.
 *
 * The tick also looks at the reading path ahead of the engine (`watchReadingPath`): while it
 * is stalled the engine hears nothing, so silence is not judged, and one station alarm says
 * why (readingPathStall.ts).
 *
 * In a cluster (`placement`) every reading updates the engine's values (an area's load sums
 * meters whose readings another node collected), but a node judges only what is placed on it:
 * meter rules of the meters of its terminals, area rules of its areas, their silences and
 * device events; one placement lookup per meter and instant. A meter taken under a new lease
 * term is judged afresh: what this node held about it from an earlier term is dropped quietly
 * (its alarms stay with the station), and its silence counts from the taking, not from before.
 *
 * Never throws from `write`: a failing detector is counted and reported through
 * `onDetectorError` at most once per rule per `errorLogIntervalMs`.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AlarmSignal, AlarmSubject } from '../domain/alarm.js';
import type { DeviceEvent } from '../domain/event.js';
import { DEFAULT_AREA_LOAD, meterId, terminalId, type AreaId, type AreaLoadSettings, type Meter, type MeterId, type Reading } from '../domain/index.js';
import type { PipelineStall, ReadingSink } from '../ingest/pipeline.js';
import { LogThrottle } from '../observe/logger.js';
import { DETECTORS } from './catalogue.js';
import { say, term } from './explanation.js';
import {
  detectDeviceEvent, explained, initialDeviceEventState, type DetectorEvent, type DeviceEventState, type LinePhase,
} from './detectors/index.js';
import { areaStateRaised } from './lineLoss.js';
import { MeterSlots } from './meterSlots.js';
import { OpenMeterAlarms } from './openAlarms.js';
import { ReadingPathStallWatch } from './readingPathStall.js';
import type { Rule } from './model.js';
import { RuleIndex, type CompiledRule, type RulePlacement, type RuleTopology } from './scope.js';
import { meterStateKey, PHASE_SLOTS, slotOfKey, StateTable, type StateKey } from './stateTable.js';
import { ValueTable } from './values.js';
import { TimeDrivenRules } from './timeDriven.js';
import type { RuleJudge } from './watch.js';

export interface RuleEngineOptions {
  readonly topology: RuleTopology;
  readonly onSignal: (signal: AlarmSignal) => void;
  readonly now?: () => number;
  /**
   * Condition states held at most across all rules; beyond it new ones are refused and counted.
   * Default 16,000,000: a million three-phase meters under the default rule set hold up to 15
   * each, most of them idle and packed into a few bytes (stateTable.ts).
   */
  readonly maxStates?: number;
  readonly onDetectorError?: (ruleId: string, error: unknown, suppressed: number) => void;
  readonly errorLogIntervalMs?: number;
  /** Wall-clock time one tick may spend on sliced work (enrolling meters, due deadlines), ms; default 2; 0: only `tickMinSlice`. */
  readonly tickBudgetMs?: number;
  /** Items each watch handles per tick even past the budget, so sliced work always progresses; default 64. */
  readonly tickMinSlice?: number;
  /**
   * Continue sliced work left over by a tick this long after each slice (0: setImmediate)
   * instead of at the next tick; rules/index.ts uses 5. Call `close()` when done.
   */
  readonly continueAfterMs?: number;
  /** The station's one definition of area load (freshness, power factor, supply meters left out); default DEFAULT_AREA_LOAD. */
  readonly areaLoad?: AreaLoadSettings;
  /** What this node judges in a cluster; everything when absent. Call `placementChanged()` when it changes. */
  readonly placement?: RulePlacement;
}

/** The lease term a meter is judged under here, and since when (engine clock). */
interface Term {
  readonly lease: string | null;
  readonly token: number;
  readonly since: number;
}

export interface RuleEngineStats {
  readonly rules: number;
  readonly states: number;
  readonly signals: number;
  readonly detectorErrors: number;
  /** States refused because `maxStates` was reached. */
  readonly statesRefused: number;
  /** Entries held by the time-driven rules (deadlines, tallied meters); bounded by meters × rules. */
  readonly timeDriven: number;
}

const PHASES: readonly LinePhase[] = ['l1', 'l2', 'l3'];

export class RuleEngine implements ReadingSink {
  readonly name = 'rules';
  private readonly index: RuleIndex;
  /** Every per-meter column of the engine and its watches is indexed by these slots. */
  private readonly slots = new MeterSlots();
  private readonly values = new ValueTable(this.slots);
  /** Area rules count open meter alarms as they change, instead of recounting on the tick. */
  private readonly open = new OpenMeterAlarms((id, c, delta) => {
    this.timed.openChanged(id, c.rule.detector, delta);
  });
  private readonly timed: TimeDrivenRules;
  private readonly now: () => number;
  private readonly maxStates: number;
  private readonly throttle: LogThrottle;
  private states = 0;
  private signals = 0;
  private detectorErrors = 0;
  private statesRefused = 0;
  private readingPath: { readonly stall: () => PipelineStall | undefined; readonly watch: ReadingPathStallWatch } | undefined;
  /** Per meter judged here, the term it is judged under (only with a placement). */
  private readonly terms = new Map<MeterId, Term>();

  constructor(private readonly options: RuleEngineOptions) {
    this.now = options.now ?? Date.now;
    this.maxStates = options.maxStates ?? 16_000_000;
    this.index = new RuleIndex(options.topology, this.slots);
    this.throttle = new LogThrottle(options.errorLogIntervalMs ?? 60_000, this.now);
    const judge: RuleJudge = {
      index: this.index, values: this.values, slots: this.slots, topology: options.topology, areaLoad: options.areaLoad ?? DEFAULT_AREA_LOAD,
      step: (c, key, subject, initial, run) => { this.step(c, key, subject, initial, run); },
      openDetectors: (id) => this.open.detectors(id),
      subjectOf: (c, key) => this.subjectOf(c, key),
      judgesSilence: (now) => this.readingPath?.watch.judgesSilence(now) ?? true,
      judgedSince: (m) => this.judgedSince(m),
      owns: (subject) => this.owns(subject),
      judgesArea: (c, id) => {
        if (this.owns({ kind: 'area', id })) return true;
        this.dropState(c, id);
        return false;
      },
    };
    this.timed = new TimeDrivenRules(judge, {
      budgetMs: options.tickBudgetMs ?? 2, minSlice: options.tickMinSlice ?? 64, continueAfterMs: options.continueAfterMs,
      onError: (c, err) => { this.failed(c, err); },
    }, this.now);
  }

  /** Takes a new or changed rule (a disabled rule is dropped): open alarms of its old version clear. */
  upsert(rule: Rule): void {
    this.drop(rule.id, 'was changed');
    this.take(rule);
  }

  /**
   * Takes a rule up again when this node becomes active: an unchanged rule keeps its states
   * and the alarms they hold open, and only its time-driven watches start again from now (a
   * standby taking over judges silence from the take-over, not from its own start). States
   * from an earlier term are not trusted for that: a meter's are dropped when it is first
   * judged under a new fencing token (judgedSince). Going through `upsert` here would clear
   * every alarm the rule holds raised without judging any value, and the next raise would
   * open a second one. A rule that changed is taken up as changed.
   */
  restart(rule: Rule): void {
    const c = this.index.get(rule.id);
    if (c === undefined || !rule.enabled || !isDeepStrictEqual(c.rule, rule)) {
      this.upsert(rule);
      return;
    }
    this.timed.remove(c);
    c.since = this.now();
    this.timed.add(c);
  }

  private take(rule: Rule): void {
    if (!rule.enabled) return;
    const detector = DETECTORS[rule.detector].compile(rule.params);
    const c: CompiledRule = { rule, detector, since: this.now(), states: new StateTable() };
    this.index.add(c);
    this.timed.add(c);
  }

  /** Forgets a rule; its open alarms clear with `reason` in the explanation. */
  remove(id: string, reason = 'was deleted'): void {
    this.drop(id, reason);
  }

  /**
   * The topology changed. A meter added, changed (moved to another area, say) or deleted touches
   * that meter alone, never the fleet: a deleted meter's state and open alarms go. Any other
   * change (or none named) re-expands every subject and membership.
   */
  topologyChanged(change?: { readonly kind: string; readonly id: string; readonly op: 'upsert' | 'delete' }): void {
    if (change?.kind === 'meter') {
      const id = meterId(change.id);
      const meter = change.op === 'delete' ? undefined : this.options.topology.meter(id);
      if (meter === undefined) this.forgetMeter(id);
      this.index.meterChanged(id);
      if (meter !== undefined) this.timed.meterChanged(meter);
      return;
    }
    this.index.invalidate();
    this.timed.topologyChanged();
  }

  write(batch: readonly Reading[]): void {
    const now = this.now();
    for (let i = 0; i < batch.length;) {
      const first = batch[i];
      if (first === undefined) break;
      // One evaluation per meter and device time: a poll's values of one instant are judged together.
      let mask = 0;
      let j = i;
      for (let r: Reading | undefined = first; r?.meterId === first.meterId && r.ts === first.ts; r = batch[++j]) {
        mask |= this.values.apply(r);
      }
      if (this.values.heard(first.meterId, now)) this.timed.heard(first.meterId, mask);
      if (mask !== 0 && this.judges(first.meterId)) this.evaluateMeter(first.meterId, mask, first.ts);
      i = j;
    }
  }

  onDeviceEvent(e: DeviceEvent): void {
    if (!this.judgesEvent(e)) return;
    const now = this.now();
    const input = { kind: 'event', code: e.code, ts: e.ts, detail: e.detail } as const;
    const rules = e.meterId === null
      ? [...this.index.all()].filter((c) => c.detector.scope === 'event' && 'all' in c.rule.subject)
      : this.index.forMeter(e.meterId).event;
    const subject: AlarmSubject = e.meterId === null ? { kind: 'terminal', id: e.terminalId } : { kind: 'meter', id: e.meterId };
    const key = e.meterId === null ? `t:${e.terminalId}` : meterStateKey(this.slots.take(e.meterId), 0);
    for (const c of rules) {
      if (c.detector.scope !== 'event') continue;
      const params = c.detector.params;
      this.step(c, key, subject, initialDeviceEventState, (s) => detectDeviceEvent(s as DeviceEventState, input, params, now));
      this.timed.eventStepped(c, key);
    }
  }

  /**
   * Where the engine learns whether the reading path ahead of it is stalled (a sink before it
   * failing); `openSince`: when a stall alarm an earlier run left open was raised.
   */
  watchReadingPath(stall: () => PipelineStall | undefined, openSince?: number): void {
    this.readingPath = { stall, watch: new ReadingPathStallWatch(openSince) };
  }

  /** Time-driven judgements at `now` (engine clock); `now` should not go backwards between ticks. */
  tick(now: number = this.now()): void {
    // The path first: a stall seen now already keeps this tick from judging silence.
    const path = this.readingPath;
    if (path !== undefined) {
      const signal = path.watch.observe(path.stall(), now);
      if (signal !== undefined) this.signal(signal.ruleId, signal);
    }
    this.timed.tick(now);
  }

  /** What this node judges changed (src/cluster/placement.ts): meters taken are enrolled, those given up no longer judged. */
  placementChanged(): void {
    this.timed.placementChanged();
  }

  /** Stops continuing sliced work in the background (with `continueAfterMs`). */
  close(): void {
    this.timed.close();
  }

  stats(): RuleEngineStats {
    return {
      rules: this.index.size, states: this.states, signals: this.signals, detectorErrors: this.detectorErrors,
      statesRefused: this.statesRefused, timeDriven: this.timed.held,
    };
  }

  // ── internals ───────────────────────────────────────────────────────────

  /** Whether this node judges the meter's rules now: one placement lookup. */
  private judges(id: MeterId): boolean {
    if (this.options.placement === undefined) return true;
    const meter = this.options.topology.meter(id);
    return meter !== undefined && this.judgedSince(meter) !== undefined;
  }

  /** A meter's event by its meter, a terminal's own by its terminal's placement. */
  private judgesEvent(e: DeviceEvent): boolean {
    if (this.options.placement === undefined) return true;
    return e.meterId === null ? this.owns({ kind: 'terminal', id: e.terminalId }) : this.judges(e.meterId);
  }

  private owns(subject: AlarmSubject): boolean {
    const placement = this.options.placement;
    if (placement === undefined) return true;
    switch (subject.kind) {
      case 'meter': return this.judges(subject.id);
      case 'terminal': return placement.fenceFor(subject.id) !== undefined;
      case 'area': return placement.ownsArea(subject.id);
      default: return true;
    }
  }

  private judgedSince(meter: Meter): number | undefined {
    const placement = this.options.placement;
    if (placement === undefined) return Number.NEGATIVE_INFINITY;
    const fence = placement.fenceFor(meter.terminalId);
    if (fence === undefined) return undefined;
    // Unfenced (one node): nothing is ever taken from another node.
    if (fence === null) return Number.NEGATIVE_INFINITY;
    const held = this.terms.get(meter.id);
    if (held?.lease === fence.lease && held.token === fence.token) return held.since;
    if (held !== undefined) this.forgetJudgement(meter.id);
    const since = this.now();
    this.terms.set(meter.id, { lease: fence.lease, token: fence.token, since });
    return since;
  }

  /** Drops, without a signal, what this node held about a meter judged elsewhere meanwhile: its alarms are the station's, not this node's. */
  private forgetJudgement(id: MeterId): void {
    this.open.closeAll(id);
    this.dropMeterStates(id);
  }

  /** Drops a meter's states (its own and its phases') in every rule, without a signal. */
  private dropMeterStates(id: MeterId): void {
    const slot = this.slots.of(id);
    if (slot === undefined) return;
    for (const c of this.index.all()) {
      for (let phase = 0; phase < PHASE_SLOTS; phase++) this.dropState(c, meterStateKey(slot, phase));
    }
  }

  private dropState(c: CompiledRule, key: StateKey): void {
    if (c.states.delete(key)) this.states -= 1;
  }

  private evaluateMeter(id: MeterId, mask: number, ts: number): void {
    const rules = this.index.forMeter(id).reading;
    if (rules.length === 0) return;
    const values = this.values.snapshot(id);
    const slot = this.slots.of(id);
    if (values === undefined || slot === undefined) return;
    const subject: AlarmSubject = { kind: 'meter', id };
    for (const c of rules) {
      const d = c.detector;
      if (d.scope !== 'meter' || (d.triggers & mask) === 0) continue;
      if (d.phaseQuantity === null) {
        this.step(c, meterStateKey(slot, 0), subject, () => d.initial(), (s) => d.evaluate(s, { phase: 'l1', values }, ts));
        continue;
      }
      for (const [p, phase] of PHASES.entries()) {
        if (values[d.phaseQuantity(phase)] === undefined) continue;
        this.step(c, meterStateKey(slot, p + 1), subject, () => d.initial(), (s) => d.evaluate(s, { phase, values }, ts));
      }
    }
  }

  /** One detector step on one state, with the bound on states and the error guard. */
  private step(
    c: CompiledRule,
    key: StateKey,
    subject: AlarmSubject,
    initial: () => unknown,
    run: (state: unknown) => { state: unknown; event?: DetectorEvent },
  ): void {
    let state = c.states.get(key);
    const fresh = state === undefined;
    if (fresh) {
      if (this.states >= this.maxStates) {
        this.statesRefused += 1;
        return;
      }
      state = initial();
    }
    try {
      const r = run(state);
      c.states.set(key, r.state);
      if (fresh) this.states += 1;
      if (r.event === undefined) return;
      if (subject.kind !== 'meter') {
        this.emit(c, subject, subject.kind === 'area' ? subject.id : null, r.event);
        return;
      }
      if (this.open.track(c, subject.id, r.event.kind)) this.emit(c, subject, this.options.topology.meter(subject.id)?.areaId ?? null, r.event);
    } catch (err) {
      this.failed(c, err);
    }
  }


  private emit(c: CompiledRule, subject: AlarmSubject, areaId: AreaId | null, e: DetectorEvent): void {
    const signal: AlarmSignal = {
      ruleId: c.rule.id, detector: c.rule.detector, subject, kind: e.kind, severity: c.rule.severity,
      at: e.at, since: e.since, explanation: e.explanation, explanationData: e.explanationData, value: e.value, areaId,
    };
    this.signal(c.rule.id, signal);
  }

  /** Hands a signal on; what the consumer throws is counted and reported against the rule. */
  private signal(ruleId: string, signal: AlarmSignal): void {
    this.signals += 1;
    try {
      this.options.onSignal(signal);
    } catch (err) {
      this.failedRule(ruleId, err);
    }
  }

  private failed(c: CompiledRule, err: unknown): void {
    this.failedRule(c.rule.id, err);
  }

  private failedRule(ruleId: string, err: unknown): void {
    this.detectorErrors += 1;
    const suppressed = this.throttle.pass(`rule:${ruleId}`);
    if (suppressed >= 0) this.options.onDetectorError?.(ruleId, err, suppressed);
  }

  /** Removes a rule, clearing whatever it holds open so no alarm is left orphaned. */
  private drop(id: string, reason: string): void {
    const c = this.index.remove(id);
    if (c === undefined) return;
    this.timed.remove(c);
    const now = this.now();
    const cleared = new Set<string>();
    this.states -= c.states.size;
    // A packed state is idle: only the states kept as objects can hold an alarm open.
    for (const [key, state] of c.states.unpacked()) {
      if (!this.isRaised(c, state)) continue;
      const subject = this.subjectOf(c, key);
      const subjectKey = `${subject.kind}:${subject.id}`;
      if (cleared.has(subjectKey)) continue;
      cleared.add(subjectKey);
      if (subject.kind === 'meter') this.open.close(c, subject.id);
      const areaId = subject.kind === 'area' ? subject.id : subject.kind === 'meter' ? this.options.topology.meter(subject.id)?.areaId ?? null : null;
      this.emit(c, subject, areaId, {
        kind: 'clear', at: now, since: now, value: Number.NaN,
        ...explained(now, [say('rule-closed')`rule ${c.rule.id} ${term(reason)}; the alarm is closed without judging the value`]),
      });
    }
    c.states.clear();
  }

  private forgetMeter(id: MeterId): void {
    // Watches first: the area counts take the meter's open alarms out before they are forgotten.
    this.timed.forgetMeter(id);
    this.values.forget(id);
    this.open.forget(id);
    this.terms.delete(id);
    this.dropMeterStates(id);
    this.index.forgetMeter(id);
    this.slots.release(id);
  }

  private isRaised(c: CompiledRule, state: unknown): boolean {
    const d = c.detector;
    if (d.scope === 'meter') return d.raised(state);
    if (d.scope === 'event') return (state as DeviceEventState).raisedAt !== null;
    return areaStateRaised(state);
  }

  private subjectOf(c: CompiledRule, key: StateKey): AlarmSubject {
    if (typeof key === 'number') return { kind: 'meter', id: this.slots.idAt(slotOfKey(key)) ?? meterId('') };
    const d = c.detector.scope;
    if (d === 'transformer-overload' || d === 'area-line-loss' || d === 'abnormal-area') return { kind: 'area', id: key as AreaId };
    return { kind: 'terminal', id: terminalId(key.startsWith('t:') ? key.slice(2) : key) };
  }
}
