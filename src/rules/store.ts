/**
 * Rules persisted: the port the rule service writes through, and its embedded implementation
 * (migration 4). The PostgreSQL one is in postgresStore.ts. Plain rows; validation is the
 * service's job.
 */
import type { Db } from '../storage/db.js';
import type { Listening } from '../storage/postgres/notifications.js';
import type { NoticeSink } from '../storage/postgres/follower.js';
import type { Rule } from './model.js';

export type RuleOrigin = 'yaml' | 'api';

export interface RuleStore {
  /** Every stored rule, by id. */
  list(): Promise<StoredRule[]>;
  has(id: string): Promise<boolean>;
  /** Stores a new rule; false (and nothing stored) when a rule with its id exists. */
  create(rule: Rule, origin: RuleOrigin, now: number): Promise<boolean>;
  update(rule: Rule, now: number): Promise<void>;
  /** False when there was no such rule. */
  delete(id: string): Promise<boolean>;
  /** The store several nodes write; undefined for the embedded one (one process). */
  readonly shared?: SharedRules;
}

/** What a node needs to follow the rule changes other nodes commit. */
export interface SharedRules {
  /** Listens for the ids of rules other nodes changed (resolves once listening). */
  follow(sink: NoticeSink): Promise<Listening>;
  /** The stored rules among `ids` (a rule not returned is gone). */
  read(ids: readonly string[]): Promise<StoredRule[]>;
}

interface RuleRow {
  id: string;
  name: string;
  description: string | null;
  enabled: number;
  severity: string;
  subject: string;
  detector: string;
  params: string;
}

/** A stored rule before it is validated again (the schema may have moved on since it was written). */
export type StoredRule = Record<string, unknown> & { readonly id: string };

export class SqliteRuleStore implements RuleStore {
  private readonly insert;
  private readonly replace;
  private readonly del;
  private readonly one;
  private readonly all;

  constructor(db: Db) {
    this.insert = db.prepare<[string, string, string | null, number, string, string, string, string, RuleOrigin, number, number]>(
      `INSERT INTO rules (id, name, description, enabled, severity, subject, detector, params, origin, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    this.replace = db.prepare<[string, string | null, number, string, string, string, string, number, string]>(
      `UPDATE rules SET name = ?, description = ?, enabled = ?, severity = ?, subject = ?, detector = ?, params = ?, updated_at = ? WHERE id = ?`,
    );
    this.del = db.prepare<[string]>('DELETE FROM rules WHERE id = ?');
    this.one = db.prepare<[string], RuleRow>('SELECT * FROM rules WHERE id = ?');
    this.all = db.prepare<[], RuleRow>('SELECT * FROM rules ORDER BY id');
  }

  // Async only to meet the port: better-sqlite3 runs each statement at the call.
  /* eslint-disable @typescript-eslint/require-await */
  async list(): Promise<StoredRule[]> {
    return this.all.all().map(fromRow);
  }

  async has(id: string): Promise<boolean> {
    return this.one.get(id) !== undefined;
  }

  async create(rule: Rule, origin: RuleOrigin, now: number): Promise<boolean> {
    return this.insert.run(rule.id, rule.name, rule.description ?? null, rule.enabled ? 1 : 0, rule.severity,
      JSON.stringify(rule.subject), rule.detector, JSON.stringify(rule.params), origin, now, now).changes === 1;
  }

  async update(rule: Rule, now: number): Promise<void> {
    this.replace.run(rule.name, rule.description ?? null, rule.enabled ? 1 : 0, rule.severity,
      JSON.stringify(rule.subject), rule.detector, JSON.stringify(rule.params), now, rule.id);
  }

  async delete(id: string): Promise<boolean> {
    return this.del.run(id).changes > 0;
  }
  /* eslint-enable @typescript-eslint/require-await */
}

function fromRow(r: RuleRow): StoredRule {
  return {
    id: r.id, name: r.name, ...(r.description === null ? {} : { description: r.description }), enabled: r.enabled === 1,
    severity: r.severity, subject: JSON.parse(r.subject) as unknown, detector: r.detector, params: JSON.parse(r.params) as unknown,
  };
}
