/**
 * Clear-after-time of device-event alarms without sweeping: each raised (rule, subject)
 * holds one deadline, its last raising event + `clearAfterMs`. A repeat event only moves the
 * state's `lastAt`; the entry is pushed forward when it pops and finds the quiet time not yet
 * over. Only raised states are queued, so the queue is bounded by the open alarms.
 */
import type { MeterId } from '../domain/index.js';
import { DeadlineQueue } from './deadlines.js';
import { detectDeviceEvent, initialDeviceEventState, type DeviceEventParams, type DeviceEventState } from './detectors/index.js';
import type { CompiledRule } from './scope.js';
import { meterStateKey, type StateKey } from './stateTable.js';
import type { RuleJudge, RuleWatch, TickBudget } from './watch.js';

const COMPACT_SLACK = 1024;

/** A heap entry; live only while it is the one `scheduled` holds for its key. */
interface Entry {
  readonly key: StateKey;
}

export class EventQuietWatch implements RuleWatch {
  private readonly due = new DeadlineQueue<Entry>();
  /** State key → its one live entry. */
  private readonly scheduled = new Map<StateKey, Entry>();

  constructor(
    private readonly c: CompiledRule,
    private readonly params: DeviceEventParams,
    private readonly judge: RuleJudge,
  ) {}

  /** Raised states waiting for their quiet time, plus heap entries (compacted past twice those). */
  get held(): number {
    return this.scheduled.size + this.due.size;
  }

  eventStepped(key: StateKey): void {
    if (this.scheduled.has(key)) return;
    const s = this.c.states.get(key) as DeviceEventState | undefined;
    if (s?.raisedAt === null || s?.raisedAt === undefined || s.lastAt === null) return;
    this.schedule(key, s.lastAt + this.params.clearAfterMs);
  }

  tick(now: number, budget: TickBudget): boolean {
    return this.resume(now, budget);
  }

  resume(now: number, budget: TickBudget): boolean {
    let done = 0;
    while (this.due.peekAt() <= now && budget.more(done)) {
      const entry = this.due.pop();
      if (entry === undefined || this.scheduled.get(entry.key) !== entry) continue;
      const key = entry.key;
      this.scheduled.delete(key);
      const s = this.c.states.get(key) as DeviceEventState | undefined;
      if (s?.raisedAt === null || s?.raisedAt === undefined || s.lastAt === null) continue;
      const quietAt = s.lastAt + this.params.clearAfterMs;
      if (now < quietAt) {
        this.schedule(key, quietAt);
        continue;
      }
      done += 1;
      const subject = this.judge.subjectOf(this.c, key);
      // Another node judges the subject now; its alarm's quiet time is that node's to judge.
      if (!this.judge.owns(subject)) continue;
      this.judge.step(this.c, key, subject, initialDeviceEventState,
        (st) => detectDeviceEvent(st as DeviceEventState, { kind: 'tick' }, this.params, now));
      // Still raised (the step failed): try again on the next tick, as the sweep would.
      const after = this.c.states.get(key) as DeviceEventState | undefined;
      if (after !== undefined && after.raisedAt !== null) this.schedule(key, now + 1);
    }
    if (this.due.size > 2 * this.scheduled.size + COMPACT_SLACK) this.due.retain((e) => this.scheduled.get(e.key) === e);
    return this.due.peekAt() <= now;
  }

  topologyChanged(): void {
    // Keys are meters and terminals, not memberships: nothing to rebuild.
  }

  meterChanged(): void {
    // As above.
  }

  forgetMeter(id: MeterId): void {
    const slot = this.judge.slots.of(id);
    if (slot !== undefined) this.scheduled.delete(meterStateKey(slot, 0));
  }

  private schedule(key: StateKey, at: number): void {
    const entry: Entry = { key };
    this.scheduled.set(key, entry);
    this.due.push(at, entry);
  }
}
