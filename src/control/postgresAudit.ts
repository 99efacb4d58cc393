/**
 * The audit log on PostgreSQL: the embedded log's semantics (src/control/audit.ts) on table
 * `audit_log`, whose triggers refuse UPDATE, DELETE and TRUNCATE. Ids come from an identity
 * column: several nodes append at once and each entry still gets its own, increasing with the
 * commit order closely enough for paging newest first.
 */
import type postgres from 'postgres';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { auditPage, storedDetail, type AuditEntry, type AuditFilter, type AuditInput, type AuditLog, type AuditOutcome, type AuditPage } from './audit.js';

interface Row {
  id: number; ts: number; actor: string; source: string | null; action: string; target: string | null; outcome: AuditOutcome;
  detail: Record<string, unknown> | null;
}

export class PostgresAuditLog implements AuditLog {
  private readonly now: () => number;

  constructor(private readonly db: PostgresDatabase, options: { readonly now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    const ts = this.now();
    const stored = storedDetail(input.detail);
    const detail = stored === null ? null : JSON.parse(stored) as Record<string, unknown>;
    const [row] = await this.db.run((sql) => sql<{ id: number }[]>`
      INSERT INTO audit_log (ts, actor, source, action, target, outcome, detail)
      VALUES (${ts}, ${input.actor}, ${input.source}, ${input.action}, ${input.target}, ${input.outcome}, ${detail === null ? null : sql.json(detail as postgres.JSONValue)})
      RETURNING id`);
    if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
    return { id: row.id, ts, actor: input.actor, source: input.source, action: input.action, target: input.target, outcome: input.outcome, detail };
  }

  query(f: AuditFilter): Promise<AuditPage> {
    return this.db.run(async (sql) => {
      const none = sql``;
      const rows = await sql<Row[]>`SELECT id, ts, actor, source, action, target, outcome, detail FROM audit_log WHERE true
        ${f.actor === undefined ? none : sql`AND actor = ${f.actor}`}
        ${f.action === undefined ? none : sql`AND action = ${f.action}`}
        ${f.target === undefined ? none : sql`AND target = ${f.target}`}
        ${f.from === undefined ? none : sql`AND ts >= ${f.from}`}
        ${f.to === undefined ? none : sql`AND ts <= ${f.to}`}
        ${f.cursor === undefined ? none : sql`AND id < ${f.cursor}`}
        ORDER BY id DESC LIMIT ${f.limit + 1}`;
      return auditPage(rows, f.limit);
    });
  }
}
