/** Rules persisted in the embedded store (migration 4). Plain rows; validation is the service's job. */
import type { Db } from '../storage/db.js';
import type { Rule } from './model.js';

export type RuleOrigin = 'yaml' | 'api';

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

export class RuleStore {
  private readonly insert;
  private readonly replace;
  private readonly del;
  private readonly one;
  private readonly all;

  constructor(db: Db) {
    this.insert = db.prepare<[string, string, string | null, number, string, string, string, string, RuleOrigin, number, number]>(
      `INSERT INTO rules (id, name, description, enabled, severity, subject, detector, params, origin, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.replace = db.prepare<[string, string | null, number, string, string, string, string, number, string]>(
      `UPDATE rules SET name = ?, description = ?, enabled = ?, severity = ?, subject = ?, detector = ?, params = ?, updated_at = ? WHERE id = ?`,
    );
    this.del = db.prepare<[string]>('DELETE FROM rules WHERE id = ?');
    this.one = db.prepare<[string], RuleRow>('SELECT * FROM rules WHERE id = ?');
    this.all = db.prepare<[], RuleRow>('SELECT * FROM rules ORDER BY id');
  }

  list(): StoredRule[] {
    return this.all.all().map(fromRow);
  }

  has(id: string): boolean {
    return this.one.get(id) !== undefined;
  }

  create(rule: Rule, origin: RuleOrigin, now: number): void {
    this.insert.run(rule.id, rule.name, rule.description ?? null, rule.enabled ? 1 : 0, rule.severity,
      JSON.stringify(rule.subject), rule.detector, JSON.stringify(rule.params), origin, now, now);
  }

  update(rule: Rule, now: number): void {
    this.replace.run(rule.name, rule.description ?? null, rule.enabled ? 1 : 0, rule.severity,
      JSON.stringify(rule.subject), rule.detector, JSON.stringify(rule.params), now, rule.id);
  }

  delete(id: string): boolean {
    return this.del.run(id).changes > 0;
  }
}

function fromRow(r: RuleRow): StoredRule {
  return {
    id: r.id, name: r.name, ...(r.description === null ? {} : { description: r.description }), enabled: r.enabled === 1,
    severity: r.severity, subject: JSON.parse(r.subject) as unknown, detector: r.detector, params: JSON.parse(r.params) as unknown,
  };
}
