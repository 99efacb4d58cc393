/**
 * Rule management: the one place rules are created, changed and removed. Every change is
 * validated (schema, then the subject's meters and areas against the registry), persisted,
 * and applied to the running engine at once. A change is applied to the engine only once it
 * is stored, and the API answers after that: a rule the operator was told exists survives a
 * restart.
 */
import { DEFAULT_AREA_LOAD, type AreaLoadSettings } from '../domain/areaLoad.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { DetectorName } from './catalogue.js';
import { RuleValidationError, parseRule, subjectRefs, type Rule, type RuleIssue } from './model.js';
import type { RuleStore } from './store.js';

export interface RuleTarget {
  upsert(rule: Rule): void;
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

export class RuleService {
  private readonly store: RuleStore;
  private readonly rules = new Map<string, Rule>();
  private readonly now: () => number;

  constructor(private readonly options: RuleServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  /**
   * Loads the stored rules into the engine. A stored rule that no longer validates (a
   * detector's schema changed) is left in the store, not run, and returned for the log.
   */
  async load(): Promise<{ readonly loaded: number; readonly invalid: readonly { readonly id: string; readonly error: RuleValidationError }[] }> {
    const invalid: { id: string; error: RuleValidationError }[] = [];
    for (const stored of await this.store.list()) {
      try {
        const rule = parseRule(stored);
        const issues = this.stationIssues(rule);
        if (issues.length > 0) throw new RuleValidationError(issues);
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
  async seed(rules: readonly Rule[]): Promise<SeedOutcome> {
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

  async create(input: unknown): Promise<Rule> {
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

  /** Replaces a rule (the body carries everything but the id). */
  async update(id: string, input: Record<string, unknown>): Promise<Rule> {
    this.get(id);
    const rule = parseRule({ ...input, id });
    this.checkRefs(rule);
    await this.store.update(rule, this.now());
    this.rules.set(id, rule);
    this.options.engine.upsert(rule);
    return rule;
  }

  async setEnabled(id: string, enabled: boolean): Promise<Rule> {
    const current = this.get(id);
    if (current.enabled === enabled) return current;
    const rule: Rule = { ...current, enabled };
    await this.store.update(rule, this.now());
    this.rules.set(id, rule);
    if (enabled) this.options.engine.upsert(rule);
    else this.options.engine.remove(id, 'was disabled');
    return rule;
  }

  async delete(id: string): Promise<void> {
    this.get(id);
    await this.store.delete(id);
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
