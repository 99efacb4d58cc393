/**
 * The time-driven half of the rule engine. A rule whose verdict can change without a
 * reading of its own (communication loss, an event alarm's quiet time, area figures) gets a
 * watch. The engine tells the watches what happened, in O(1) each (a meter was heard from,
 * an alarm opened or closed, the topology changed), and calls `tick` once a second; a watch
 * then does only the work that is due, and stops its sliced work when the tick's budget is
 * spent, so no tick holds the event loop for long whatever the fleet size (timeDriven.ts
 * holds the watches and continues left-over slices).
 */
import type { AlarmSubject } from '../domain/alarm.js';
import type { AreaId, AreaLoadSettings, Meter, MeterId } from '../domain/index.js';
import type { DetectorEvent } from './detectors/index.js';
import type { CompiledRule, RuleIndex, RuleTopology } from './scope.js';
import type { MeterSlots } from './meterSlots.js';
import type { StateKey } from './stateTable.js';
import type { ValueTable } from './values.js';

/** What a watch may use of the engine. */
export interface RuleJudge {
  readonly index: RuleIndex;
  readonly values: ValueTable;
  /** The meters' slots, which index every per-meter column. */
  readonly slots: MeterSlots;
  readonly topology: RuleTopology;
  /** How area loads are summed and limits derived, the same for every caller (src/domain/areaLoad.ts). */
  readonly areaLoad: AreaLoadSettings;
  /**
   * One detector step on the state under `key`, creating it from `initial` (within the
   * engine's bound on states), emitting the event if any; never throws.
   */
  step(
    c: CompiledRule,
    key: StateKey,
    subject: AlarmSubject,
    initial: () => unknown,
    run: (state: unknown) => { state: unknown; event?: DetectorEvent },
  ): void;
  /** Detector names of the open alarms of a meter, one entry per rule. */
  openDetectors(id: MeterId): Iterable<string>;
  /**
   * Since when this node judges `meter` (engine clock): -Infinity on a node alone, the moment it
   * took the meter's terminal in a cluster; undefined while another node judges it. A meter taken
   * again under a new lease term is judged afresh: its states from an earlier term are dropped.
   */
  judgedSince(meter: Meter): number | undefined;
  /** Whether this node judges `subject` now (always on a node alone): a meter or terminal placed here, an area it owns. */
  owns(subject: AlarmSubject): boolean;
  /**
   * Whether this node judges area `id` under `c` now; when it does not (another node owns the
   * area), `c`'s state of it is dropped without a signal, so taking the area again starts afresh.
   */
  judgesArea(c: CompiledRule, id: AreaId): boolean;
  /** The alarm subject a state key stands for. */
  subjectOf(c: CompiledRule, key: StateKey): AlarmSubject;
  /**
   * Whether silence is evidence at `now`: false while the reading path ahead of the engine is
   * stalled and for the grace after it (readingPathStall.ts), when no device is raised for it.
   */
  judgesSilence(now: number): boolean;
}

export interface RuleWatch {
  /** Entries the watch holds (queued deadlines, live or stale, and tallied meters): its memory. */
  readonly held: number;
  /** The work due at `now` (engine clock). Sliced work stops once `budget` says so; true if some is left. */
  tick(now: number, budget: TickBudget): boolean;
  /** Only the sliced work left over, between ticks; true while some is left. */
  resume?(now: number, budget: TickBudget): boolean;
  /** A meter was heard from; `mask` has the bits of the quantities whose latest value changed. */
  heard?(id: MeterId, mask: number): void;
  /** A rule's alarm on a meter opened (+1) or closed (-1). */
  openChanged?(id: MeterId, detector: string, delta: 1 | -1): void;
  /** A device event stepped the state under `key` of this watch's rule. */
  eventStepped?(key: StateKey): void;
  /** Areas or meters changed: memberships are rebuilt on the next tick. */
  topologyChanged(): void;
  /**
   * One meter was added or changed (its area, its terminal): the watch takes that meter into
   * account alone; without this method the watch rebuilds as on `topologyChanged`.
   */
  meterChanged?(meter: Meter): void;
  /** A meter was deleted (its states are already gone). */
  forgetMeter(id: MeterId): void;
  /** What this node judges changed (areas taken or given up): look at the covered meters again. */
  placementChanged?(): void;
}

/**
 * How much sliced work one tick may do: at least `minItems` per watch (so work always
 * progresses), and more while the wall-clock budget lasts.
 */
export class TickBudget {
  constructor(private readonly until: number, private readonly minItems: number) {}

  /** `budgetMs` ≤ 0: exactly `minItems` per watch. */
  static start(budgetMs: number, minItems: number): TickBudget {
    return new TickBudget(budgetMs > 0 ? performance.now() + budgetMs : Number.NEGATIVE_INFINITY, minItems);
  }

  /** Whether a watch that has done `done` items in this tick may do another. */
  more(done: number): boolean {
    if (done < this.minItems) return true;
    if (this.until === Number.NEGATIVE_INFINITY) return false;
    // The clock is read every 16 items: reading it costs about as much as a cheap item.
    return (done & 15) !== 0 || performance.now() < this.until;
  }
}
