/**
 * Rules on PostgreSQL (table `rules`, src/storage/postgres/migrations.ts), with the embedded
 * store's semantics (store.ts); subject and parameters are `jsonb`. A create of an id that
 * exists stores nothing and says so, so two nodes creating the same rule at once get one rule
 * and one conflict.
 *
 * Every node runs the rules in its own engine, so a write that changed a row notifies channel
 * `rule_changes` in its transaction (sent at commit, never by a rollback) with the rule's id
 * only (src/storage/postgres/follower.ts): the other nodes read the row back, and a row that is
 * gone was deleted.
 */
import type postgres from 'postgres';
import type { PostgresDatabase, Queryable, TransactionSql } from '../storage/postgres/connection.js';
import { listenForNotices, noticeOrigin, writeNotifying } from '../storage/postgres/follower.js';
import type { Rule } from './model.js';
import type { RuleOrigin, RuleStore, SharedRules, StoredRule } from './store.js';

/** The channel every node's rule service listens on. */
export const RULE_CHANNEL = 'rule_changes';

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
  /** Names this store in its notifications, so its own are told from other nodes'. */
  private readonly origin = noticeOrigin();
  readonly shared: SharedRules = {
    follow: (sink) => listenForNotices(this.db, RULE_CHANNEL, this.origin, sink),
    read: async (ids) => {
      const rows = await this.db.run((sql) => sql<PgRuleRow[]>`
        SELECT id, name, description, enabled, severity, subject, detector, params FROM rules WHERE id = ANY(${ids as string[]}::text[])`);
      return rows.map(fromRow);
    },
  };

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
    return this.write(rule.id, async (tx) => (await tx`
      INSERT INTO rules (id, name, description, enabled, severity, subject, detector, params, origin, created_at, updated_at)
      VALUES (${rule.id}, ${rule.name}, ${rule.description ?? null}, ${rule.enabled}, ${rule.severity}, ${json(tx, rule.subject)},
        ${rule.detector}, ${json(tx, rule.params)}, ${origin}, ${now}, ${now})
      ON CONFLICT (id) DO NOTHING`).count === 1);
  }

  async update(rule: Rule, now: number): Promise<void> {
    await this.write(rule.id, async (tx) => (await tx`
      UPDATE rules SET name = ${rule.name}, description = ${rule.description ?? null}, enabled = ${rule.enabled},
        severity = ${rule.severity}, subject = ${json(tx, rule.subject)}, detector = ${rule.detector},
        params = ${json(tx, rule.params)}, updated_at = ${now}
      WHERE id = ${rule.id}`).count > 0);
  }

  delete(id: string): Promise<boolean> {
    return this.write(id, async (tx) => (await tx`DELETE FROM rules WHERE id = ${id}`).count > 0);
  }

  /** `work` and, when it changed a row, the notification of the rule's id, in one transaction. */
  private write(id: string, work: (tx: TransactionSql) => Promise<boolean>): Promise<boolean> {
    return writeNotifying(this.db, RULE_CHANNEL, this.origin, id, work);
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
