/**
 * Rule management: the one place rules are created, changed and removed. Every change is
 * validated (schema, then the subject's meters and areas against the registry), persisted,
 * and applied to the running engine at once. A change is applied to the engine only once it
 * is stored, and the API answers after that: a rule the operator was told exists survives a
 * restart.
 *
 * On a store several nodes share, `follow` brings what the others change into this node's
 * engine: the rules they name are read back, and only what differs from this node's copy is
 * applied (a rule gone is removed, its open alarms clear). Changes, this node's and the ones it
 * catches up, run one at a time, so a rule read back before a local change never lands after it.
 */
import { isDeepStrictEqual } from 'node:util';
import { ChangeFollower, type FollowCatchUp } from '../storage/postgres/follower.js';
import { DEFAULT_AREA_LOAD, type AreaLoadSettings } from '../domain/areaLoad.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { DetectorName } from './catalogue.js';
import { RuleValidationError, parseRule, subjectRefs, type Rule, type RuleIssue } from './model.js';
import type { RuleStore, SharedRules, StoredRule } from './store.js';

export interface RuleTarget {
  upsert(rule: Rule): void;
  /** The rule taken up again: unchanged, it keeps the alarms it holds open; changed, as `upsert` (RuleEngine.restart). */
  restart(rule: Rule): void;
  remove(id: string, reason?: string): void;
}

export interface RuleRefs {
  meterExists(id: string): boolean;
  areaExists(id: string): boolean;
}

export interface RuleServiceOptions {
  readonly store: RuleStore;
  readonly engine: RuleTarget;
  readonly refs: RuleRefs;
  /** The station's area-load definition, which a rule's own freshness or power factor may not contradict; default DEFAULT_AREA_LOAD. */
  readonly areaLoad?: Pick<AreaLoadSettings, 'freshMs' | 'powerFactor'>;
  readonly now?: () => number;
}

/**
 * Rule parameters the station's one area-load definition replaced, with the key that holds
 * them now. Stored and seeded rules carry them (the old defaults were written out), so they
 * stay valid while they agree; a differing value would judge area load unlike the overview
 * and load control, and is refused by name.
 */
const STATION_KEYS = [
  { param: 'freshMs', key: 'station.areaLoadFreshMs', of: (s: Pick<AreaLoadSettings, 'freshMs' | 'powerFactor'>) => s.freshMs },
  { param: 'powerFactor', key: 'station.transformerPowerFactor', of: (s: Pick<AreaLoadSettings, 'freshMs' | 'powerFactor'>) => s.powerFactor },
] as const;

export interface RuleFilter {
  readonly detector?: DetectorName;
  readonly enabled?: boolean;
}

export interface SeedOutcome {
  /** Rules of the set that were not in the store and were added. */
  readonly added: readonly string[];
  /** Rules already in the store, kept as the operator left them. */
  readonly kept: readonly string[];
}

/** What following other nodes reports: a catch-up that failed (retried) or a stored rule this node cannot run. */
export type RuleFollowProblem =
  | { readonly code: 'CATCH_UP_FAILED'; readonly err: unknown }
  | { readonly code: 'INVALID_STORED_RULE'; readonly id: string; readonly error: RuleValidationError }
  | { readonly code: 'BROKEN_NOTIFICATION'; readonly payload: string };

export class RuleService {
  private readonly store: RuleStore;
  private readonly rules = new Map<string, Rule>();
  private readonly now: () => number;
  /** The change in progress; the next one waits for it. */
  private chain: Promise<unknown> = Promise.resolve();
  private follower: { stop(): Promise<void> } | undefined;

  constructor(private readonly options: RuleServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  /**
   * Loads the stored rules into the engine. A stored rule that no longer validates (a
   * detector's schema changed) is left in the store, not run, and returned for the log. Loaded
   * again (this node becoming active), a rule that did not change is restarted without
   * closing the alarms it holds open; one that changed is taken up as changed.
   */
  async load(): Promise<{ readonly loaded: number; readonly invalid: readonly { readonly id: string; readonly error: RuleValidationError }[] }> {
    return this.serial(async () => {
      const invalid: { id: string; error: RuleValidationError }[] = [];
      const stored = await this.store.list();
      // A rule another node deleted while this one did not hear (a standby taking over) goes too.
      this.dropAbsent(new Set(stored.map((r) => r.id)));
      for (const s of stored) {
        const outcome = this.checkStored(s);
        if (!outcome.ok) {
          invalid.push({ id: s.id, error: outcome.error });
          continue;
        }
        this.rules.set(outcome.rule.id, outcome.rule);
        this.options.engine.restart(outcome.rule);
      }
      return { loaded: this.rules.size, invalid };
    });
  }

  /**
   * Follows the changes other nodes commit to a shared store, until `close`; nothing to do on
   * a store only this process writes. Resolves once listening.
   */
  async follow(onProblem: (problem: RuleFollowProblem) => void): Promise<void> {
    const shared = this.store.shared;
    if (shared === undefined || this.follower !== undefined) return;
    const follower = new ChangeFollower<true>({
      apply: (work) => this.serial(() => this.catchUp(shared, work, onProblem)),
      merge: (a) => a,
      onError: (err) => { onProblem({ code: 'CATCH_UP_FAILED', err }); },
    });
    const listening = await shared.follow({
      changed: (id) => { follower.changed(id, true); },
      changedAll: () => { follower.changedAll(); },
      broken: (payload) => { onProblem({ code: 'BROKEN_NOTIFICATION', payload }); },
    });
    this.follower = { stop: async () => { await listening.stop(); await follower.stop(); } };
    // What other nodes changed between the load and the first LISTEN was told to nobody here.
    follower.changedAll();
  }

  /** Stops following other nodes; the store belongs to its opener. */
  async close(): Promise<void> {
    await this.follower?.stop();
    this.follower = undefined;
  }

  /** Adds the rules of a rule set whose ids are not in the store; existing ids are left alone. */
  seed(rules: readonly Rule[]): Promise<SeedOutcome> {
    return this.serial(() => this.seedNow(rules));
  }

  private async seedNow(rules: readonly Rule[]): Promise<SeedOutcome> {
    const added: string[] = [];
    const kept: string[] = [];
    for (const [i, rule] of rules.entries()) {
      if (await this.store.has(rule.id)) {
        kept.push(rule.id);
        continue;
      }
      try {
        this.checkRefs(rule);
      } catch (err) {
        // Name the rule by its place in the set, as the YAML checks do.
        if (err instanceof RuleValidationError) throw new RuleValidationError(err.issues.map((e) => ({ path: `rules[${i}].${e.path}`, message: e.message })));
        throw err;
      }
      // Another node seeding the same set at once stored it first: theirs stands, as the operator's would.
      if (!await this.store.create(rule, 'yaml', this.now())) {
        kept.push(rule.id);
        continue;
      }
      this.rules.set(rule.id, rule);
      this.options.engine.upsert(rule);
      added.push(rule.id);
    }
    return { added, kept };
  }

  list(filter: RuleFilter = {}): Rule[] {
    return [...this.rules.values()]
      .filter((r) => (filter.detector === undefined || r.detector === filter.detector) && (filter.enabled === undefined || r.enabled === filter.enabled))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): Rule {
    const r = this.rules.get(id);
    if (r === undefined) throw new NotFoundError('rule', id);
    return r;
  }

  create(input: unknown): Promise<Rule> {
    return this.serial(() => this.createNow(input));
  }

  /** Replaces a rule (the body carries everything but the id). */
  update(id: string, input: Record<string, unknown>): Promise<Rule> {
    return this.serial(() => this.updateNow(id, input));
  }

  setEnabled(id: string, enabled: boolean): Promise<Rule> {
    return this.serial(() => this.setEnabledNow(id, enabled));
  }

  delete(id: string): Promise<void> {
    return this.serial(() => this.deleteNow(id));
  }

  private async createNow(input: unknown): Promise<Rule> {
    const rule = parseRule(input);
    const conflict = () => new ConflictError(`rule ${JSON.stringify(rule.id)} already exists`);
    if (this.rules.has(rule.id)) throw conflict();
    this.checkRefs(rule);
    // The store decides: a rule another node (or a concurrent request) created under this id wins.
    if (!await this.store.create(rule, 'api', this.now())) throw conflict();
    this.rules.set(rule.id, rule);
    this.options.engine.upsert(rule);
    return rule;
  }

  private async updateNow(id: string, input: Record<string, unknown>): Promise<Rule> {
    this.get(id);
    const rule = parseRule({ ...input, id });
    this.checkRefs(rule);
    await this.store.update(rule, this.now());
    this.rules.set(id, rule);
    this.options.engine.upsert(rule);
    return rule;
  }

  private async setEnabledNow(id: string, enabled: boolean): Promise<Rule> {
    const current = this.get(id);
    if (current.enabled === enabled) return current;
    const rule: Rule = { ...current, enabled };
    await this.store.update(rule, this.now());
    this.rules.set(id, rule);
    if (enabled) this.options.engine.upsert(rule);
    else this.options.engine.remove(id, 'was disabled');
    return rule;
  }

  private async deleteNow(id: string): Promise<void> {
    this.get(id);
    await this.store.delete(id);
    this.rules.delete(id);
    this.options.engine.remove(id, 'was deleted');
  }

  /** Runs `work` after the change in progress, whatever its outcome. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Brings the rules `work` names (or all) to what the store holds, applying only what differs. */
  private async catchUp(shared: SharedRules, work: FollowCatchUp<true>, onProblem: (problem: RuleFollowProblem) => void): Promise<void> {
    const stored = work.all ? await this.store.list() : await shared.read([...work.ids.keys()]);
    const present = new Set(stored.map((r) => r.id));
    if (work.all) this.dropAbsent(present);
    else for (const id of work.ids.keys()) if (!present.has(id)) this.drop(id);
    for (const s of stored) {
      const outcome = this.checkStored(s);
      if (!outcome.ok) {
        // Not run here, as at a load: another node's schema is newer, or the station settings differ.
        onProblem({ code: 'INVALID_STORED_RULE', id: s.id, error: outcome.error });
        this.drop(s.id);
        continue;
      }
      const rule = outcome.rule;
      const before = this.rules.get(rule.id);
      if (isDeepStrictEqual(before, rule)) continue;
      this.rules.set(rule.id, rule);
      if (before?.enabled === true && !rule.enabled) this.options.engine.remove(rule.id, 'was disabled');
      else this.options.engine.upsert(rule);
    }
  }

  /** Forgets every rule not in `present`. */
  private dropAbsent(present: ReadonlySet<string>): void {
    for (const id of [...this.rules.keys()]) if (!present.has(id)) this.drop(id);
  }

  private drop(id: string): void {
    if (!this.rules.delete(id)) return;
    this.options.engine.remove(id, 'was deleted');
  }

  /** A stored rule as this node would run it, or why it cannot. */
  private checkStored(stored: StoredRule): { ok: true; rule: Rule } | { ok: false; error: RuleValidationError } {
    try {
      const rule = parseRule(stored);
      const issues = this.stationIssues(rule);
      if (issues.length > 0) throw new RuleValidationError(issues);
      return { ok: true, rule };
    } catch (err) {
      if (!(err instanceof RuleValidationError)) throw err;
      return { ok: false, error: err };
    }
  }

  /** Unknown meters and areas are a 400 naming the field, not a rule that silently watches nothing. */
  private checkRefs(rule: Rule): void {
    const issues: RuleIssue[] = [];
    const s = rule.subject;
    const refs = subjectRefs(s);
    refs.meters.forEach((m, i) => {
      if (!this.options.refs.meterExists(m)) issues.push({ path: 'meters' in s ? `subject.meters[${i}]` : 'subject.meter', message: `no meter with id ${JSON.stringify(m)}` });
    });
    for (const a of refs.areas) if (!this.options.refs.areaExists(a)) issues.push({ path: 'subject.area', message: `no area with id ${JSON.stringify(a)}` });
    const supply = rule.params.supplyMeter;
    if (typeof supply === 'string' && !this.options.refs.meterExists(supply)) {
      issues.push({ path: 'params.supplyMeter', message: `no meter with id ${JSON.stringify(supply)}` });
    }
    issues.push(...this.stationIssues(rule));
    if (issues.length > 0) throw new RuleValidationError(issues);
  }

  private stationIssues(rule: Rule): RuleIssue[] {
    if (rule.detector !== 'transformer-overload') return [];
    const station = this.options.areaLoad ?? DEFAULT_AREA_LOAD;
    const issues: RuleIssue[] = [];
    for (const k of STATION_KEYS) {
      const v = rule.params[k.param];
      if (v !== undefined && v !== k.of(station)) {
        issues.push({ path: `params.${k.param}`, message: `superseded by ${k.key} (${k.of(station)}), which every area load uses: set it there, or remove this parameter` });
      }
    }
    return issues;
  }
}
