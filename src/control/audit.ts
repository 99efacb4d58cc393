/**
 * The audit log: who did what, when, from where, to what, and how it
 * ended. Append-only: neither implementation has an UPDATE or DELETE, and triggers in each
 * schema (embedded migration 3; PostgreSQL, src/control/postgresAudit.ts) refuse both, so an
 * entry once written stays as written.
 *
 * Details are JSON for the reader, bounded in size, and never carry a secret: callers
 * describe a key change by the names of the keys changed, not their values.
 */
import { settled, type Db } from '../storage/db.js';

/** The actor until access control exists, and for requests without credentials. */
export const ANONYMOUS = 'anonymous';
/** The station itself (start-up seeding, automatic programs). */
export const SYSTEM_ACTOR = 'system';

export type AuditOutcome = 'ok' | 'failed' | 'refused';

export interface AuditInput {
  /** Token subject or user name; ANONYMOUS or SYSTEM_ACTOR otherwise. */
  readonly actor: string;
  /** Network address the request came from; null for the station's own actions. */
  readonly source: string | null;
  /** Dotted verb, e.g. `meter.update`, `keys.set`, `command.disconnect`. */
  readonly action: string;
  /** What it concerned, e.g. `meter:m-17`, `key-group:east`. */
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends Omit<AuditInput, 'detail'> {
  readonly id: number;
  readonly ts: number;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

export interface AuditFilter {
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  /** Inclusive bounds, ms since the epoch. */
  readonly from?: number;
  readonly to?: number;
  /** The `next` of the previous page: entries older than it. */
  readonly cursor?: number;
  readonly limit: number;
}

/** Serialised detail larger than this is replaced by a note saying so. */
export const MAX_AUDIT_DETAIL_BYTES = 8 * 1024;

/** The audit log as services and routes use it; `append` resolves once the entry is stored. */
export interface AuditLog {
  append(input: AuditInput): Promise<AuditEntry>;
  /** Newest first; `next` is the cursor of the following page, null on the last. */
  query(filter: AuditFilter): Promise<AuditPage>;
}

export interface AuditPage {
  readonly items: AuditEntry[];
  readonly next: number | null;
}

/** The detail as stored: JSON, or a note of its size when it is larger than MAX_AUDIT_DETAIL_BYTES; null without one. */
export function storedDetail(detail: AuditInput['detail']): string | null {
  if (detail === undefined) return null;
  const json = JSON.stringify(detail);
  const bytes = Buffer.byteLength(json);
  return bytes > MAX_AUDIT_DETAIL_BYTES ? JSON.stringify({ truncated: true, bytes }) : json;
}

/** The embedded audit log (migration 3). better-sqlite3 is synchronous: an entry is stored when `append` returns. */
export class SqliteAuditLog implements AuditLog {
  private readonly now: () => number;

  constructor(private readonly db: Db, options: { readonly now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  append(input: AuditInput): Promise<AuditEntry> {
    return settled(() => this.#append(input));
  }

  query(filter: AuditFilter): Promise<AuditPage> {
    return settled(() => this.#query(filter));
  }

  #append(input: AuditInput): AuditEntry {
    const ts = this.now();
    const detail = storedDetail(input.detail);
    const info = this.db.prepare('INSERT INTO audit_log (ts, actor, source, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(ts, input.actor, input.source, input.action, input.target, input.outcome, detail);
    return {
      id: Number(info.lastInsertRowid), ts, actor: input.actor, source: input.source, action: input.action, target: input.target,
      outcome: input.outcome, detail: detail === null ? null : JSON.parse(detail) as Record<string, unknown>,
    };
  }

  #query(filter: AuditFilter): AuditPage {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.actor !== undefined) { where.push('actor = ?'); args.push(filter.actor); }
    if (filter.action !== undefined) { where.push('action = ?'); args.push(filter.action); }
    if (filter.target !== undefined) { where.push('target = ?'); args.push(filter.target); }
    if (filter.from !== undefined) { where.push('ts >= ?'); args.push(filter.from); }
    if (filter.to !== undefined) { where.push('ts <= ?'); args.push(filter.to); }
    if (filter.cursor !== undefined) { where.push('id < ?'); args.push(filter.cursor); }
    // One more than asked tells whether another page exists.
    const rows = this.db.prepare(`SELECT id, ts, actor, source, action, target, outcome, detail FROM audit_log
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`).all(...args, filter.limit + 1) as {
      id: number; ts: number; actor: string; source: string | null; action: string; target: string | null; outcome: AuditOutcome; detail: string | null;
    }[];
    return auditPage(rows.map((r) => ({ ...r, detail: r.detail === null ? null : JSON.parse(r.detail) as Record<string, unknown> })), filter.limit);
  }
}

/** The page of `limit` entries out of `rows` (fetched one longer, which tells whether another page exists). */
export function auditPage(rows: readonly AuditEntry[], limit: number): AuditPage {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? last.id : null };
}
