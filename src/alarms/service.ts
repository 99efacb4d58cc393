/**
 * The alarm lifecycle: raised → acknowledged → cleared, one open alarm per (rule, subject).
 *
 * A raise while an alarm is open for the same rule and subject updates that alarm (value,
 * explanation, severity) instead of opening a second one, so a flapping value never makes
 * a storm. A cleared alarm is history: it is never reopened, the next raise opens a new
 * alarm. Open alarms are indexed in memory (reloaded from the store at start), so a
 * restart neither loses nor duplicates them.
 */
import {
  ConflictError, NotFoundError, ValidationError,
  type Alarm, type AlarmSignal, type AlarmState, type AlarmSubject, type AreaId, type Severity,
} from '../domain/index.js';
import { AlarmStore } from './store.js';
import type { Db } from '../storage/db.js';

export type AlarmChangeKind = 'raised' | 'updated' | 'acknowledged' | 'commented' | 'cleared';

export interface AlarmChange {
  readonly kind: AlarmChangeKind;
  readonly alarm: Alarm;
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
  readonly code: 'OPEN_LIMIT' | 'CLEAR_WITHOUT_OPEN' | 'STORE_FAILED' | 'LISTENER_FAILED';
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
  readonly storeErrors: number;
}

export const MAX_COMMENT_LENGTH = 2000;
export const MAX_PAGE = 1000;

export class AlarmService {
  private readonly store: AlarmStore;
  private readonly openByKey = new Map<string, Alarm>();
  private readonly openPerRule = new Map<string, number>();
  /** Rules currently refusing raises; the overflow is reported once per episode. */
  private readonly overflowing = new Set<string>();
  private readonly listeners = new Set<(change: AlarmChange) => void>();
  private readonly maxOpenPerRule: number;
  private readonly now: () => number;
  private counts = { raised: 0, updated: 0, cleared: 0, overflow: 0, clearsWithoutOpen: 0, listenerErrors: 0, storeErrors: 0 };

  constructor(db: Db, private readonly options: AlarmServiceOptions) {
    this.store = new AlarmStore(db);
    this.maxOpenPerRule = options.maxOpenPerRule ?? 10_000;
    this.now = options.now ?? Date.now;
    for (const a of this.store.open()) this.index(a);
  }

  /** Called for every change, synchronously; a throwing listener is counted and reported, never propagated. */
  onChange(listener: (change: AlarmChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one rule decision. Never throws: failures are counted and reported. Returns the alarm concerned, if any. */
  onSignal(signal: AlarmSignal): Alarm | undefined {
    try {
      return signal.kind === 'raise' ? this.raise(signal) : this.clear(signal);
    } catch (err) {
      this.counts.storeErrors += 1;
      this.report({ code: 'STORE_FAILED', ruleId: signal.ruleId, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  }

  acknowledge(id: string, by: string, comment?: string): Alarm {
    const alarm = this.get(id);
    if (alarm.state === 'cleared') throw new ConflictError(`alarm ${id} is already cleared`);
    if (comment !== undefined) checkComment(comment);
    const now = this.now();
    let next = alarm;
    if (alarm.state === 'raised') {
      next = { ...alarm, state: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by };
      this.store.update(next, now);
    }
    if (comment !== undefined) next = this.appendComment(next, by, comment, now);
    if (next !== alarm) {
      this.index(next);
      this.emit(alarm.state === 'raised' ? 'acknowledged' : 'commented', next);
    }
    return next;
  }

  comment(id: string, by: string, text: string): Alarm {
    const alarm = this.get(id);
    checkComment(text);
    const next = this.appendComment(alarm, by, text, this.now());
    if (next.state !== 'cleared') this.index(next);
    this.emit('commented', next);
    return next;
  }

  get(id: string): Alarm {
    const alarm = this.store.get(id);
    if (alarm === undefined) throw new NotFoundError('alarm', id);
    return alarm;
  }

  /** Newest first; `next` is the cursor of the following page, null on the last one. */
  list(filter: AlarmFilter = {}): AlarmPage {
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
    const items = this.store.list({
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

  /** The open alarm of a rule and subject, if any. */
  openFor(ruleId: string, subject: AlarmSubject): Alarm | undefined {
    return this.openByKey.get(keyOf(ruleId, subject));
  }

  stats(): AlarmServiceStats {
    return { open: this.openByKey.size, ...this.counts };
  }

  private raise(s: AlarmSignal): Alarm | undefined {
    const key = keyOf(s.ruleId, s.subject);
    const open = this.openByKey.get(key);
    const now = this.now();
    if (open !== undefined) {
      const next: Alarm = { ...open, value: s.value, explanation: s.explanation, explanationData: s.explanationData ?? null, severity: s.severity, areaId: s.areaId };
      this.store.update(next, now);
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
    const alarm = this.store.insert({
      ruleId: s.ruleId, detector: s.detector, subject: s.subject, areaId: s.areaId, severity: s.severity,
      state: 'raised', raisedAt: s.at, since: s.since, acknowledgedAt: null, acknowledgedBy: null, clearedAt: null,
      explanation: s.explanation, clearExplanation: null, explanationData: s.explanationData ?? null, clearExplanationData: null,
      value: s.value, comments: [],
    }, now);
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
    const next: Alarm = { ...open, state: 'cleared', clearedAt: s.at, clearExplanation: s.explanation, clearExplanationData: s.explanationData ?? null, value: s.value };
    this.store.update(next, this.now());
    this.unindex(next);
    this.counts.cleared += 1;
    this.emit('cleared', next);
    return next;
  }

  private appendComment(alarm: Alarm, by: string, text: string, at: number): Alarm {
    const comment = { at, by, text };
    this.store.addComment(alarm.id, alarm.comments.length + 1, comment);
    return { ...alarm, comments: [...alarm.comments, comment] };
  }

  private index(a: Alarm): void {
    const key = keyOf(a.ruleId, a.subject);
    if (!this.openByKey.has(key)) this.openPerRule.set(a.ruleId, (this.openPerRule.get(a.ruleId) ?? 0) + 1);
    this.openByKey.set(key, a);
  }

  private unindex(a: Alarm): void {
    if (!this.openByKey.delete(keyOf(a.ruleId, a.subject))) return;
    const n = (this.openPerRule.get(a.ruleId) ?? 1) - 1;
    if (n <= 0) this.openPerRule.delete(a.ruleId);
    else this.openPerRule.set(a.ruleId, n);
    if (n < this.maxOpenPerRule) this.overflowing.delete(a.ruleId);
  }

  private emit(kind: AlarmChangeKind, alarm: Alarm): void {
    for (const listener of this.listeners) {
      try {
        listener({ kind, alarm });
      } catch (err) {
        this.counts.listenerErrors += 1;
        this.report({ code: 'LISTENER_FAILED', ruleId: alarm.ruleId, message: err instanceof Error ? err.message : String(err) });
      }
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

function keyOf(ruleId: string, subject: AlarmSubject): string {
  return `${ruleId}\u0000${subject.kind}\u0000${subject.id}`;
}

function checkComment(text: string): void {
  if (text.trim().length === 0) throw new ValidationError('comment text is empty', 'text');
  if (text.length > MAX_COMMENT_LENGTH) throw new ValidationError(`comment longer than ${MAX_COMMENT_LENGTH} characters`, 'text');
}
