/**
 * The engine's time-driven rules: a watch for each rule that needs one (watch.ts), kept
 * informed of readings, alarm changes and topology changes, and ticked once a second. Sliced
 * work a tick's budget left over (enrolling meters, a burst of due deadlines, rebuilding
 * memberships) goes on at the next tick, or, with `continueAfterMs`, sooner: one budgeted
 * slice at a time with that much idle time between slices for the event loop's I/O (0:
 * setImmediate), so a mass outage on a large fleet raises within a second instead of over
 * many ticks, while readings keep their latency.
 */
import type { Meter, MeterId } from '../domain/index.js';
import { AbnormalAreaWatch } from './areaShare.js';
import { AreaLoadWatch } from './areaLoad.js';
import { EventQuietWatch } from './eventQuiet.js';
import { LineLossWatch } from './lineLoss.js';
import type { CompiledRule } from './scope.js';
import { SilenceWatch } from './silenceWatch.js';
import type { StateKey } from './stateTable.js';
import { TickBudget, type RuleJudge, type RuleWatch } from './watch.js';

export interface TimeDrivenOptions {
  /** Wall-clock time one tick or continuation may spend on sliced work, ms; ≤ 0: only `minSlice`. */
  readonly budgetMs: number;
  /** Items each watch handles per slice even past the budget, so work always progresses. */
  readonly minSlice: number;
  /** Continue left-over sliced work this long after a slice (0: setImmediate); undefined: at the next tick. */
  readonly continueAfterMs: number | undefined;
  /** A watch failed; the engine counts and logs it against the rule. */
  readonly onError: (c: CompiledRule, err: unknown) => void;
}

export class TimeDrivenRules {
  /** In rule order (a changed rule goes to the end, as in the rule index). */
  private readonly watches = new Map<CompiledRule, RuleWatch>();
  /** The watches the per-reading and per-alarm paths call. */
  private hearers: { readonly c: CompiledRule; readonly w: RuleWatch }[] = [];
  private alarmCounters: { readonly c: CompiledRule; readonly w: RuleWatch }[] = [];
  private continuation: { readonly cancel: () => void } | undefined;
  private closed = false;

  constructor(private readonly judge: RuleJudge, private readonly options: TimeDrivenOptions, private readonly now: () => number) {}

  /** Entries the watches hold (deadlines, tallied meters). */
  get held(): number {
    let n = 0;
    for (const w of this.watches.values()) n += w.held;
    return n;
  }

  add(c: CompiledRule): void {
    const w = watchFor(c, this.judge);
    if (w === undefined) return;
    this.watches.set(c, w);
    this.list();
  }

  remove(c: CompiledRule): void {
    if (this.watches.delete(c)) this.list();
  }

  /** A meter was heard from: O(time-driven rules), no sweep. */
  heard(id: MeterId, mask: number): void {
    for (const { c, w } of this.hearers) {
      // Inline try (no closure): this is the per-reading path.
      try {
        w.heard?.(id, mask);
      } catch (err) {
        this.options.onError(c, err);
      }
    }
  }

  /** A rule's alarm on a meter opened or closed: the area counts follow. */
  openChanged(id: MeterId, detector: string, delta: 1 | -1): void {
    for (const { c, w } of this.alarmCounters) this.guard(c, () => { w.openChanged?.(id, detector, delta); });
  }

  eventStepped(c: CompiledRule, key: StateKey): void {
    const w = this.watches.get(c);
    if (w?.eventStepped !== undefined) this.guard(c, () => { w.eventStepped?.(key); });
  }

  topologyChanged(): void {
    for (const w of this.watches.values()) w.topologyChanged();
  }

  forgetMeter(id: MeterId): void {
    for (const w of this.watches.values()) w.forgetMeter(id);
  }

  meterChanged(meter: Meter): void {
    for (const [c, w] of this.watches) {
      if (w.meterChanged === undefined) w.topologyChanged();
      else this.guard(c, () => { w.meterChanged?.(meter); });
    }
  }

  placementChanged(): void {
    for (const w of this.watches.values()) w.placementChanged?.();
  }

  tick(now: number): void {
    this.cancel();
    this.run((w, budget) => w.tick(now, budget));
  }

  /** Cancels a pending continuation; later ticks still work (rules/index.ts stops calling them). */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  // ── internals ───────────────────────────────────────────────────────────

  /** One budgeted round over the watches (a copy: a signal consumer may change rules meanwhile). */
  private run(step: (w: RuleWatch, budget: TickBudget) => boolean): void {
    const budget = TickBudget.start(this.options.budgetMs, this.options.minSlice);
    let left = false;
    for (const [c, w] of [...this.watches]) {
      try {
        if (step(w, budget)) left = true;
      } catch (err) {
        this.options.onError(c, err);
      }
    }
    const after = this.options.continueAfterMs;
    if (!left || after === undefined || this.closed) return;
    const resume = () => {
      this.continuation = undefined;
      const now = this.now();
      this.run((w, budget) => w.resume?.(now, budget) ?? false);
    };
    if (after <= 0) {
      const handle = setImmediate(resume);
      this.continuation = { cancel: () => { clearImmediate(handle); } };
    } else {
      const handle = setTimeout(resume, after);
      this.continuation = { cancel: () => { clearTimeout(handle); } };
    }
  }

  private cancel(): void {
    this.continuation?.cancel();
    this.continuation = undefined;
  }

  private guard(c: CompiledRule, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.options.onError(c, err);
    }
  }

  private list(): void {
    this.hearers = [];
    this.alarmCounters = [];
    for (const [c, w] of this.watches) {
      if (w.heard !== undefined) this.hearers.push({ c, w });
      if (w.openChanged !== undefined) this.alarmCounters.push({ c, w });
    }
  }
}

/** The watch a rule needs, or undefined for rules judged from readings alone. */
function watchFor(c: CompiledRule, judge: RuleJudge): RuleWatch | undefined {
  const d = c.detector;
  switch (d.scope) {
    case 'meter': return undefined;
    case 'silence': return new SilenceWatch(c, d.params, judge);
    case 'event': return d.params.clearAfterMs > 0 ? new EventQuietWatch(c, d.params, judge) : undefined;
    case 'transformer-overload': return new AreaLoadWatch(c, d.params, judge);
    case 'abnormal-area': return new AbnormalAreaWatch(c, d.params, judge);
    case 'area-line-loss': return new LineLossWatch(c, d.params, judge);
  }
}
