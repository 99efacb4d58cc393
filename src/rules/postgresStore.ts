/**
 * Rules on PostgreSQL (table `rules`, src/storage/postgres/migrations.ts), with the embedded
 * store's semantics (store.ts); subject and parameters are `jsonb`. A create of an id that
 * exists stores nothing and says so, so two nodes creating the same rule at once get one rule
 * and one conflict.
 */
import type postgres from 'postgres';
import type { PostgresDatabase, Queryable } from '../storage/postgres/connection.js';
import type { Rule } from './model.js';
import type { RuleOrigin, RuleStore, StoredRule } from './store.js';

interface PgRuleRow {
  id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  severity: string;
  subject: unknown;
  detector: string;
  params: unknown;
}

export class PostgresRuleStore implements RuleStore {
  constructor(private readonly db: PostgresDatabase) {}

  async list(): Promise<StoredRule[]> {
    const rows = await this.db.run((sql) => sql<PgRuleRow[]>`
      SELECT id, name, description, enabled, severity, subject, detector, params FROM rules ORDER BY id`);
    return rows.map(fromRow);
  }

  async has(id: string): Promise<boolean> {
    const rows = await this.db.run((sql) => sql`SELECT 1 FROM rules WHERE id = ${id}`);
    return rows.length > 0;
  }

  create(rule: Rule, origin: RuleOrigin, now: number): Promise<boolean> {
    return this.db.run(async (sql) => (await sql`
      INSERT INTO rules (id, name, description, enabled, severity, subject, detector, params, origin, created_at, updated_at)
      VALUES (${rule.id}, ${rule.name}, ${rule.description ?? null}, ${rule.enabled}, ${rule.severity}, ${json(sql, rule.subject)},
        ${rule.detector}, ${json(sql, rule.params)}, ${origin}, ${now}, ${now})
      ON CONFLICT (id) DO NOTHING`).count === 1);
  }

  update(rule: Rule, now: number): Promise<void> {
    return this.db.run(async (sql) => {
      await sql`
        UPDATE rules SET name = ${rule.name}, description = ${rule.description ?? null}, enabled = ${rule.enabled},
          severity = ${rule.severity}, subject = ${json(sql, rule.subject)}, detector = ${rule.detector},
          params = ${json(sql, rule.params)}, updated_at = ${now}
        WHERE id = ${rule.id}`;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.db.run(async (sql) => (await sql`DELETE FROM rules WHERE id = ${id}`).count > 0);
  }
}

/** A jsonb parameter: the client serialises the value itself (a JSON string would be stored as a string). */
function json(sql: Queryable, value: unknown): postgres.Parameter {
  return sql.json(value as postgres.JSONValue);
}

function fromRow(r: PgRuleRow): StoredRule {
  return {
    id: r.id, name: r.name, ...(r.description === null ? {} : { description: r.description }), enabled: r.enabled,
    severity: r.severity, subject: r.subject, detector: r.detector, params: r.params,
  };
}
