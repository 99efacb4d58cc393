/**
 * Rule management: the one place rules are created, changed and removed. Every change is
 * validated (schema, then the subject's meters and areas against the registry), persisted,
 * and applied to the running engine at once.
 */
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { Db } from '../storage/db.js';
import type { DetectorName } from './catalogue.js';
import { RuleValidationError, parseRule, subjectRefs, type Rule, type RuleIssue } from './model.js';
import { RuleStore } from './store.js';

export interface RuleTarget {
  upsert(rule: Rule): void;
  remove(id: string, reason?: string): void;
}

export interface RuleRefs {
  meterExists(id: string): boolean;
  areaExists(id: string): boolean;
}

export interface RuleServiceOptions {
  readonly db: Db;
  readonly engine: RuleTarget;
  readonly refs: RuleRefs;
  readonly now?: () => number;
}

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

export class RuleService {
  private readonly store: RuleStore;
  private readonly rules = new Map<string, Rule>();
  private readonly now: () => number;

  constructor(private readonly options: RuleServiceOptions) {
    this.store = new RuleStore(options.db);
    this.now = options.now ?? Date.now;
  }

  /**
   * Loads the stored rules into the engine. A stored rule that no longer validates (a
   * detector's schema changed) is left in the store, not run, and returned for the log.
   */
  load(): { readonly loaded: number; readonly invalid: readonly { readonly id: string; readonly error: RuleValidationError }[] } {
    const invalid: { id: string; error: RuleValidationError }[] = [];
    for (const stored of this.store.list()) {
      try {
        const rule = parseRule(stored);
        this.rules.set(rule.id, rule);
        this.options.engine.upsert(rule);
      } catch (err) {
        if (!(err instanceof RuleValidationError)) throw err;
        invalid.push({ id: stored.id, error: err });
      }
    }
    return { loaded: this.rules.size, invalid };
  }

  /** Adds the rules of a rule set whose ids are not in the store; existing ids are left alone. */
  seed(rules: readonly Rule[]): SeedOutcome {
    const added: string[] = [];
    const kept: string[] = [];
    for (const [i, rule] of rules.entries()) {
      if (this.store.has(rule.id)) {
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
      this.store.create(rule, 'yaml', this.now());
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

  create(input: unknown): Rule {
    const rule = parseRule(input);
    if (this.rules.has(rule.id) || this.store.has(rule.id)) throw new ConflictError(`rule ${JSON.stringify(rule.id)} already exists`);
    this.checkRefs(rule);
    this.store.create(rule, 'api', this.now());
    this.rules.set(rule.id, rule);
    this.options.engine.upsert(rule);
    return rule;
  }

  /** Replaces a rule (the body carries everything but the id). */
  update(id: string, input: Record<string, unknown>): Rule {
    this.get(id);
    const rule = parseRule({ ...input, id });
    this.checkRefs(rule);
    this.store.update(rule, this.now());
    this.rules.set(id, rule);
    this.options.engine.upsert(rule);
    return rule;
  }

  setEnabled(id: string, enabled: boolean): Rule {
    const current = this.get(id);
    if (current.enabled === enabled) return current;
    const rule: Rule = { ...current, enabled };
    this.store.update(rule, this.now());
    this.rules.set(id, rule);
    if (enabled) this.options.engine.upsert(rule);
    else this.options.engine.remove(id, 'was disabled');
    return rule;
  }

  delete(id: string): void {
    this.get(id);
    this.store.delete(id);
    this.rules.delete(id);
    this.options.engine.remove(id, 'was deleted');
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
    if (issues.length > 0) throw new RuleValidationError(issues);
  }
}
