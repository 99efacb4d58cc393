/**
 * The alarm lifecycle: raised → acknowledged → cleared, one open alarm per (rule, subject).
 *
 * A raise while an alarm is open for the same rule and subject updates that alarm (value,
 * explanation, severity) instead of opening a second one, so a flapping value never makes
 * a storm. A cleared alarm is history: it is never reopened, the next raise opens a new
 * alarm. Open alarms are indexed in memory (reloaded from the store at start), so a
 * restart neither loses nor duplicates them.
 *
 * The in-memory index is authoritative for the running node: a rule's signal changes it at
 * once and its row follows through the ordered write-behind queue of src/storage/writeBehind.ts
 * (at most `alarms.storeQueueMax` writes; past it a signal is refused, counted and reported),
 * so the rule engine never waits for the store. An operator's acknowledgement or comment is
 * answered only once it is stored; reads wait for the writes queued before them.
 *
 * What a crash can lose: on PostgreSQL, the writes still queued (the database unreachable, or
 * the last few milliseconds). The rules raise again what is still true after the restart, and
 * a lost clear leaves an alarm open that the next evaluation clears (a clear without an open
 * alarm is counted, not an error); the notifiers have already told the operator. That is the
 * price of never stalling collection on the alarm store. `close` drains the queue.
 *
 * On a store several nodes share, `follow` keeps the index true to what the others do: the
 * alarms they write are read back (once this node's own queued writes are stored) and what
 * differs from the index is applied and announced as a change marked `heard`. A heard change is
 * never written back, so it is never notified again; its listeners decide what it means to
 * them (the SSE feed streams it, the notifiers leave it to the node that made it).
 */
import { isDeepStrictEqual } from 'node:util';
import { ChangeFollower, type FollowCatchUp } from '../storage/postgres/follower.js';
import { refusedForGood } from '../storage/refusedRows.js';
import {
  ConflictError, NotFoundError, ValidationError,
  type Alarm, type AlarmSignal, type AlarmState, type AlarmSubject, type AreaId, type Severity,
} from '../domain/index.js';
import { WriteBehindQueue } from '../storage/writeBehind.js';
import { ALARM_NOTE_LIFECYCLE, type AlarmIdBlock, type AlarmStore, type SharedAlarms } from './store.js';

export type AlarmChangeKind = 'raised' | 'updated' | 'acknowledged' | 'commented' | 'cleared';

export interface AlarmChange {
  readonly kind: AlarmChangeKind;
  readonly alarm: Alarm;
  /** Made by another node and heard from the shared store; absent for this node's own. */
  readonly heard?: true;
}

export interface AlarmFilter {
  readonly state?: AlarmState;
  readonly severity?: Severity;
  /** The area and every area below it. */
  readonly areaId?: string;
  readonly meterId?: string;
  readonly ruleId?: string;
  /** raisedAt ≥ from, ms. */
  readonly from?: number;
  /** raisedAt < to, ms. */
  readonly to?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}

export interface AlarmPage {
  readonly items: readonly Alarm[];
  readonly next: string | null;
}

export interface AlarmProblem {
  readonly code: 'OPEN_LIMIT' | 'CLEAR_WITHOUT_OPEN' | 'STORE_FAILED' | 'LISTENER_FAILED' | 'FOLLOW_FAILED' | 'BROKEN_NOTIFICATION';
  readonly ruleId: string | null;
  readonly message: string;
}

export interface AlarmServiceOptions {
  /** Expands an area id to itself and its descendants; throws for an unknown area. */
  readonly areaSubtree: (id: string) => ReadonlySet<AreaId>;
  /** Open alarms per rule, at most; further raises are dropped and counted. Default 10,000. */
  readonly maxOpenPerRule?: number;
  /** Every refused signal and internal failure; the caller rate-limits its logging. */
  readonly onProblem?: (problem: AlarmProblem) => void;
  /** `alarms.storeQueueMax`: store writes waiting, at most; beyond it signals are refused (counted). Default 10,000. */
  readonly storeQueueMax?: number;
  /** Backoff between attempts of a failed store write. */
  readonly storeRetryMinMs?: number;
  readonly storeRetryMaxMs?: number;
  readonly now?: () => number;
}

export interface AlarmServiceStats {
  readonly open: number;
  readonly raised: number;
  readonly updated: number;
  readonly cleared: number;
  /** Raises dropped because the rule already had `maxOpenPerRule` open alarms. */
  readonly overflow: number;
  readonly clearsWithoutOpen: number;
  readonly listenerErrors: number;
  /** Signals refused because the store could not take them (queue full, no id reserved). */
  readonly storeErrors: number;
  /** Store writes waiting in the queue. */
  readonly storeWaiting: number;
  /** Failed attempts of store writes (each retried). */
  readonly storeWriteFailures: number;
}

export const MAX_COMMENT_LENGTH = 2000;
export const MAX_PAGE = 1000;
/** How long `close` waits for queued store writes before it gives them up (and reports how many). */
export const STORE_DRAIN_MS = 10_000;

export class AlarmService {
  private readonly writes: WriteBehindQueue<() => Promise<void>>;
  private readonly openByKey = new Map<string, Alarm>();
  private readonly openById = new Map<string, Alarm>();
  /** The block ids are taken from, and the next one, reserved when half of it is used. */
  private ids: { next: number; end: number; size: number };
  private spareIds: AlarmIdBlock | undefined;
  private reserving = false;
  private readonly openPerRule = new Map<string, number>();
  /** Rules currently refusing raises; the overflow is reported once per episode. */
  private readonly overflowing = new Set<string>();
  private readonly listeners = new Set<(change: AlarmChange) => void>();
  private readonly maxOpenPerRule: number;
  private readonly now: () => number;
  private counts = { raised: 0, updated: 0, cleared: 0, overflow: 0, clearsWithoutOpen: 0, listenerErrors: 0, storeErrors: 0 };
  private follower: ChangeFollower<number> | undefined;
  private listening: { stop(): Promise<void> } | undefined;

  /** Loads the open alarms and reserves the first ids: the service is ready for signals when this resolves. */
  static async open(store: AlarmStore, options: AlarmServiceOptions): Promise<AlarmService> {
    const [open, ids] = await Promise.all([store.openAlarms(), store.reserveIds()]);
    return new AlarmService(store, options, open, ids);
  }

  private constructor(private readonly store: AlarmStore, private readonly options: AlarmServiceOptions, open: readonly Alarm[], ids: AlarmIdBlock) {
    this.maxOpenPerRule = options.maxOpenPerRule ?? 10_000;
    this.now = options.now ?? Date.now;
    this.ids = blockOf(ids);
    this.writes = new WriteBehindQueue<() => Promise<void>>({
      // One write at a time: each is its own statement, and an update never overtakes the insert of its alarm.
      write: async (works) => { for (const work of works) await work(); },
      max: options.storeQueueMax ?? 10_000,
      what: 'alarm',
      ...(options.storeRetryMinMs === undefined ? {} : { retryMinMs: options.storeRetryMinMs }),
      ...(options.storeRetryMaxMs === undefined ? {} : { retryMaxMs: options.storeRetryMaxMs }),
      // A row the database refuses (a constraint) is reported and dropped: retrying it would hold every alarm write behind it for ever.
      refusedForGood,
      onFailure: (err, attempt, waiting) => {
        this.report({ code: 'STORE_FAILED', ruleId: null, message: `alarm store write failed (attempt ${attempt}, ${waiting} waiting; ${refusedForGood(err) ? 'the database refuses this row: dropped' : 'retried'}): ${err instanceof Error ? err.message : String(err)}` });
      },
    });
    for (const a of open) this.index(a);
  }

  /** Stops following other nodes and stores what is queued (waiting up to `drainMs`); what could not be stored is reported and returned as a count. */
  async close(drainMs = STORE_DRAIN_MS): Promise<number> {
    await this.listening?.stop();
    this.listening = undefined;
    const abandoned = await this.writes.drain(drainMs);
    if (abandoned > 0) this.report({ code: 'STORE_FAILED', ruleId: null, message: `${abandoned} alarm write(s) not stored at shutdown` });
    // After the drain: a catch-up in progress waits for this node's writes, which the drain settled or gave up.
    await this.follower?.stop();
    this.follower = undefined;
    return abandoned;
  }

  /**
   * Follows the alarm changes other nodes commit to a shared store, until `close`; nothing to
   * do on a store only this process writes. Resolves once listening.
   */
  async follow(): Promise<void> {
    const shared = this.store.shared;
    if (shared === undefined || this.follower !== undefined) return;
    const follower = new ChangeFollower<number>({
      apply: (work) => this.catchUp(shared, work),
      merge: (a, b) => a | b,
      onError: (err) => {
        this.report({ code: 'FOLLOW_FAILED', ruleId: null, message: `catching up with alarms other nodes changed failed (retried): ${err instanceof Error ? err.message : String(err)}` });
      },
    });
    this.follower = follower;
    this.listening = await shared.follow({
      changed: (id, note) => { follower.changed(id, note); },
      changedAll: () => { follower.changedAll(); },
      broken: (payload) => { this.report({ code: 'BROKEN_NOTIFICATION', ruleId: null, message: `ignored a notification on the alarm channel that is not an alarm change: ${payload.slice(0, 200)}` }); },
    });
    // What other nodes changed between the load and the first LISTEN was told to nobody here.
    follower.changedAll();
  }

  /** Called for every change, synchronously; a throwing listener is counted and reported, never propagated. */
  onChange(listener: (change: AlarmChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one rule decision. Never throws: failures are counted and reported. Returns the alarm concerned, if any. */
  onSignal(signal: AlarmSignal): Alarm | undefined {
    if (!this.writes.hasRoom()) {
      this.refuse(signal, `the alarm store is behind (${this.writes.stats().waiting} writes waiting, alarms.storeQueueMax)`);
      return undefined;
    }
    return signal.kind === 'raise' ? this.raise(signal) : this.clear(signal);
  }

  /** Answers once the acknowledgement (and its comment) is stored. */
  async acknowledge(id: string, by: string, comment?: string): Promise<Alarm> {
    if (comment !== undefined) checkComment(comment);
    // An open alarm is taken from memory, with no wait in between, so that a raise cannot slip under the change.
    const alarm = this.openById.get(id) ?? await this.stored(id);
    if (alarm.state === 'cleared') throw new ConflictError(`alarm ${id} is already cleared`);
    const now = this.now();
    let next = alarm;
    const writes: Promise<void>[] = [];
    if (alarm.state === 'raised') {
      next = { ...alarm, state: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by };
      const acked = next;
      writes.push(this.write(() => this.store.update(acked, now)));
    }
    if (comment !== undefined) next = this.appendComment(next, by, comment, now, writes);
    if (next !== alarm) {
      this.index(next);
      this.emit(alarm.state === 'raised' ? 'acknowledged' : 'commented', next);
    }
    await Promise.all(writes);
    return next;
  }

  /** Answers once the comment is stored. */
  async comment(id: string, by: string, text: string): Promise<Alarm> {
    checkComment(text);
    const alarm = this.openById.get(id) ?? await this.stored(id);
    const writes: Promise<void>[] = [];
    const next = this.appendComment(alarm, by, text, this.now(), writes);
    if (next.state !== 'cleared') this.index(next);
    this.emit('commented', next);
    await Promise.all(writes);
    return next;
  }

  async get(id: string): Promise<Alarm> {
    return this.openById.get(id) ?? await this.stored(id);
  }

  /** Newest first; `next` is the cursor of the following page, null on the last one. */
  async list(filter: AlarmFilter = {}): Promise<AlarmPage> {
    const limit = filter.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ValidationError(`limit must be an integer in 1..${MAX_PAGE}`, 'limit');
    if (filter.cursor !== undefined && !/^\d{1,15}$/.test(filter.cursor)) throw new ValidationError('cursor is not one this API returned', 'cursor');
    if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) throw new ValidationError('`from` must be before `to`', 'from');
    let areaIds: readonly AreaId[] | undefined;
    if (filter.areaId !== undefined) {
      try {
        areaIds = [...this.options.areaSubtree(filter.areaId)];
      } catch (err) {
        if (err instanceof NotFoundError) throw new ValidationError(`no area ${JSON.stringify(filter.areaId)}`, 'area');
        throw err;
      }
    }
    await this.writes.settled();
    const items = await this.store.list({
      ...(filter.state === undefined ? {} : { states: [filter.state] }),
      ...(filter.severity === undefined ? {} : { severity: filter.severity }),
      ...(areaIds === undefined ? {} : { areaIds }),
      ...(filter.meterId === undefined ? {} : { meterId: filter.meterId }),
      ...(filter.ruleId === undefined ? {} : { ruleId: filter.ruleId }),
      ...(filter.from === undefined ? {} : { from: filter.from }),
      ...(filter.to === undefined ? {} : { to: filter.to }),
      ...(filter.cursor === undefined ? {} : { beforeId: Number(filter.cursor) }),
      // One more than asked: its presence says there is a next page.
      limit: limit + 1,
    });
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page, next: items.length > limit && last !== undefined ? last.id : null };
  }

  /** Every open alarm (raised or acknowledged), as this node knows them. */
  openAlarms(): Alarm[] {
    return [...this.openByKey.values()];
  }

  /** The open alarm of a rule and subject, if any. */
  openFor(ruleId: string, subject: AlarmSubject): Alarm | undefined {
    return this.openByKey.get(keyOf(ruleId, subject));
  }

  stats(): AlarmServiceStats {
    const writes = this.writes.stats();
    return { open: this.openByKey.size, ...this.counts, storeWaiting: writes.waiting, storeWriteFailures: writes.failures };
  }

  /** An alarm as stored, once the writes queued before this call are. */
  private async stored(id: string): Promise<Alarm> {
    await this.writes.settled();
    const alarm = await this.store.get(id);
    if (alarm === undefined) throw new NotFoundError('alarm', id);
    return alarm;
  }

  /** Queues a store write (the caller checked `hasRoom` or is an operator's action, which is never refused). */
  private write(work: () => Promise<void>): Promise<void> {
    return this.writes.push(work);
  }

  private refuse(s: AlarmSignal, reason: string): void {
    this.counts.storeErrors += 1;
    this.report({ code: 'STORE_FAILED', ruleId: s.ruleId, message: `${s.kind} refused: ${reason}` });
  }

  /** The next id of this node's blocks; a new block is reserved when half of the current one is used. */
  private nextId(): string | undefined {
    if (this.ids.next >= this.ids.end && this.spareIds !== undefined) {
      this.ids = blockOf(this.spareIds);
      this.spareIds = undefined;
    }
    if (this.ids.next >= this.ids.end) {
      this.reserveIds();
      return undefined;
    }
    const id = this.ids.next;
    this.ids.next += 1;
    if (this.ids.end - this.ids.next < this.ids.size / 2) this.reserveIds();
    return String(id);
  }

  private reserveIds(): void {
    if (this.reserving || this.spareIds !== undefined) return;
    this.reserving = true;
    this.store.reserveIds().then(
      (block) => { this.spareIds = block; },
      (err: unknown) => { this.report({ code: 'STORE_FAILED', ruleId: null, message: `reserving alarm ids failed (tried again at the next raise): ${err instanceof Error ? err.message : String(err)}` }); },
    ).finally(() => { this.reserving = false; });
  }

  private raise(s: AlarmSignal): Alarm | undefined {
    const key = keyOf(s.ruleId, s.subject);
    const open = this.openByKey.get(key);
    const now = this.now();
    if (open !== undefined) {
      const next: Alarm = { ...open, value: s.value, explanation: s.explanation, explanationData: s.explanationData ?? null, severity: s.severity, areaId: s.areaId };
      void this.write(() => this.store.update(next, now));
      this.index(next);
      this.counts.updated += 1;
      this.emit('updated', next);
      return next;
    }
    const perRule = this.openPerRule.get(s.ruleId) ?? 0;
    if (perRule >= this.maxOpenPerRule) {
      this.counts.overflow += 1;
      if (!this.overflowing.has(s.ruleId)) {
        this.overflowing.add(s.ruleId);
        this.report({ code: 'OPEN_LIMIT', ruleId: s.ruleId, message: `rule ${s.ruleId} already has ${this.maxOpenPerRule} open alarms; further raises are dropped until some clear` });
      }
      return undefined;
    }
    const id = this.nextId();
    if (id === undefined) {
      this.refuse(s, 'no alarm id reserved yet (the store has not answered)');
      return undefined;
    }
    const alarm: Alarm = {
      id, ruleId: s.ruleId, detector: s.detector, subject: s.subject, areaId: s.areaId, severity: s.severity,
      state: 'raised', raisedAt: s.at, since: s.since, acknowledgedAt: null, acknowledgedBy: null, clearedAt: null,
      explanation: s.explanation, clearExplanation: null, explanationData: s.explanationData ?? null, clearExplanationData: null,
      value: s.value, comments: [],
    };
    void this.write(() => this.store.insert(alarm, now));
    this.index(alarm);
    this.counts.raised += 1;
    this.emit('raised', alarm);
    return alarm;
  }

  private clear(s: AlarmSignal): Alarm | undefined {
    const open = this.openByKey.get(keyOf(s.ruleId, s.subject));
    if (open === undefined) {
      // Normal after a restart of the engine or an overflow; counted, not an error.
      this.counts.clearsWithoutOpen += 1;
      return undefined;
    }
    // A clear without a measured value (its rule was removed: NaN) keeps the last value the alarm had.
    const next: Alarm = { ...open, state: 'cleared', clearedAt: s.at, clearExplanation: s.explanation, clearExplanationData: s.explanationData ?? null, value: Number.isFinite(s.value) ? s.value : open.value };
    const now = this.now();
    void this.write(() => this.store.update(next, now));
    this.unindex(next);
    this.counts.cleared += 1;
    this.emit('cleared', next);
    return next;
  }

  /** The alarm with the comment appended; the comment's store write is added to `writes`. */
  private appendComment(alarm: Alarm, by: string, text: string, at: number, writes: Promise<void>[]): Alarm {
    const comment = { at, by, text };
    const seq = alarm.comments.length + 1;
    writes.push(this.write(() => this.store.addComment(alarm.id, seq, comment)));
    return { ...alarm, comments: [...alarm.comments, comment] };
  }

  private index(a: Alarm): void {
    const key = keyOf(a.ruleId, a.subject);
    const held = this.openByKey.get(key);
    if (held === undefined) this.openPerRule.set(a.ruleId, (this.openPerRule.get(a.ruleId) ?? 0) + 1);
    // Another node's alarm for the same rule and subject is the one the store kept (one open alarm per key).
    else if (held.id !== a.id) this.openById.delete(held.id);
    this.openByKey.set(key, a);
    this.openById.set(a.id, a);
  }

  private unindex(a: Alarm): void {
    this.openById.delete(a.id);
    const key = keyOf(a.ruleId, a.subject);
    // Only the alarm itself: a newer one may hold its rule and subject by now.
    if (this.openByKey.get(key)?.id !== a.id) return;
    this.openByKey.delete(key);
    const n = (this.openPerRule.get(a.ruleId) ?? 1) - 1;
    if (n <= 0) this.openPerRule.delete(a.ruleId);
    else this.openPerRule.set(a.ruleId, n);
    if (n < this.maxOpenPerRule) this.overflowing.delete(a.ruleId);
  }

  private emit(kind: AlarmChangeKind, alarm: Alarm, heard = false): void {
    const change: AlarmChange = heard ? { kind, alarm, heard } : { kind, alarm };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.counts.listenerErrors += 1;
        this.report({ code: 'LISTENER_FAILED', ruleId: alarm.ruleId, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /**
   * Applies what other nodes wrote to the alarms `work` names (or to every open alarm and every
   * one this node holds open). Read once this node's own writes are stored, so the rows are at
   * least as new as its index; an alarm this node changed while the rows were read is read
   * again at the next catch-up instead of being set back.
   */
  private async catchUp(shared: SharedAlarms, work: FollowCatchUp<number>): Promise<void> {
    await this.writes.settled();
    const asRead = new Map<string, Alarm | undefined>();
    let rows: Alarm[];
    if (work.all) {
      for (const [id, a] of this.openById) asRead.set(id, a);
      rows = await this.store.openAlarms();
      const open = new Set(rows.map((a) => a.id));
      // Open here and no longer open in the store: cleared by another node (a row not stored at all is left alone).
      const gone = [...asRead.keys()].filter((id) => !open.has(id));
      if (gone.length > 0) rows.push(...await shared.read(gone));
    } else {
      for (const id of work.ids.keys()) asRead.set(id, this.openById.get(id));
      rows = await shared.read([...work.ids.keys()]);
    }
    for (const after of rows) {
      const before = asRead.has(after.id) ? asRead.get(after.id) : this.openById.get(after.id);
      const note = work.all ? ALARM_NOTE_LIFECYCLE : work.ids.get(after.id) ?? ALARM_NOTE_LIFECYCLE;
      if (this.openById.get(after.id) !== before) {
        this.follower?.changed(after.id, note);
        continue;
      }
      const kind = heardKind(before, after, note);
      if (kind === undefined) continue;
      if (after.state === 'cleared') this.unindex(after);
      else this.index(after);
      this.emit(kind, after, true);
    }
  }

  private report(problem: AlarmProblem): void {
    try {
      this.options.onProblem?.(problem);
    } catch (err) {
      process.emitWarning(`alarm onProblem threw while reporting ${problem.code}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * What a change another node made to an alarm is to this node: `before` is the alarm as this
 * node held it open (undefined: not open here), `after` as stored, `note` the ALARM_NOTE_* bits
 * of the writes heard. Undefined when nothing differs.
 */
export function heardKind(before: Alarm | undefined, after: Alarm, note: number): AlarmChangeKind | undefined {
  if (before !== undefined && isDeepStrictEqual(before, after)) return undefined;
  if (after.state === 'cleared') {
    // Not open here and only commented: a comment on an alarm cleared long ago.
    return before !== undefined || (note & ALARM_NOTE_LIFECYCLE) !== 0 ? 'cleared' : 'commented';
  }
  if (before === undefined) return 'raised';
  if (before.state === 'raised' && after.state === 'acknowledged') return 'acknowledged';
  if (after.comments.length > before.comments.length) return 'commented';
  return 'updated';
}

function blockOf(b: AlarmIdBlock): { next: number; end: number; size: number } {
  return { next: b.first, end: b.first + b.count, size: b.count };
}

function keyOf(ruleId: string, subject: AlarmSubject): string {
  return `${ruleId}\u0000${subject.kind}\u0000${subject.id}`;
}

function checkComment(text: string): void {
  if (text.trim().length === 0) throw new ValidationError('comment text is empty', 'text');
  if (text.length > MAX_COMMENT_LENGTH) throw new ValidationError(`comment longer than ${MAX_COMMENT_LENGTH} characters`, 'text');
}
