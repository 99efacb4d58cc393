/**
 * The plans of the statements a store really sends: a store is handed a connection that
 * records each query with its parameters, and the test asks the database to EXPLAIN them.
 * A page served by an index is one range of it; a scan of the table (or of a whole index
 * walked for a filter) or a sort grows with the table, so those are what the checks refuse.
 */
import postgres from 'postgres';
import type { Db } from '../../src/storage/db.js';
import type { PostgresDatabase } from '../../src/storage/postgres/connection.js';

export interface SentQuery {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** `db` with every statement it runs recorded, latest last; `taken()` empties the record. */
export function recordingSqlite(db: Db): { readonly db: Db; taken(): SentQuery[] } {
  let sent: SentQuery[] = [];
  const wrapStatement = (text: string, stmt: object) => new Proxy(stmt, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'all' || prop === 'get' || prop === 'iterate') {
        return (...params: unknown[]) => {
          sent.push({ text, params });
          return (value as (...a: unknown[]) => unknown).apply(target, params);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  const recording = new Proxy(db, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'prepare') return (text: string) => wrapStatement(text, target.prepare(text));
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: recording, taken: () => { const out = sent; sent = []; return out; } };
}

/** The lines of SQLite's EXPLAIN QUERY PLAN for a recorded query. */
export function sqlitePlan(db: Db, q: SentQuery): string[] {
  return db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${q.text}`).all(...q.params).map((r) => r.detail);
}

/**
 * Whether a SQLite plan reads only index ranges: no SCAN (a table, or a whole index walked for
 * a filter) other than of `allowedScans` (a table-valued function's rows), and no temp B-tree (a sort).
 */
export function sqliteRangeOnly(plan: readonly string[], allowedScans: readonly string[] = []): boolean {
  return plan.every((line) => !line.includes('TEMP B-TREE') && !(line.startsWith('SCAN ') && !allowedScans.some((a) => line.startsWith(`SCAN ${a}`))));
}

/**
 * A pool to `db`'s database that records each query with its parameters (as sent, in text
 * form), standing in for `db` wherever a store takes one; close it after the test.
 */
export function recordingPostgres(db: PostgresDatabase): { readonly db: PostgresDatabase; taken(): SentQuery[]; close(): Promise<void> } {
  let sent: SentQuery[] = [];
  const o = db.sql.options;
  const sql = postgres({
    host: o.host[0] ?? '127.0.0.1', port: o.port[0] ?? 5432, user: o.user, pass: o.pass, database: o.database ?? undefined,
    max: 1,
    types: { int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (raw: string) => Number(raw) } },
    onnotice: () => undefined,
    debug: (_connection, text, params) => { sent.push({ text, params: params as unknown[] }); },
  });
  const recording: PostgresDatabase = { ...db, sql, run: (work) => work(sql) };
  return { db: recording, taken: () => { const out = sent; sent = []; return out; }, close: () => sql.end({ timeout: 5 }) };
}

/**
 * PostgreSQL's plan nodes for a recorded query, each as `<node type>` plus ` filtered` when it
 * throws rows away after reading them and ` on <relation>` for a scan; the planner is told to
 * avoid scans and sorts where it can.
 */
export async function postgresPlanNodes(db: PostgresDatabase, q: SentQuery): Promise<string[]> {
  return db.sql.begin(async (tx) => {
    // A tiny test table is cheapest read whole; discouraged, a scan or sort still appears when nothing else serves.
    await tx`SET LOCAL enable_seqscan = off`;
    await tx`SET LOCAL enable_sort = off`;
    await tx`SET LOCAL enable_bitmapscan = off`;
    const [row] = await tx.unsafe<{ 'QUERY PLAN': unknown }[]>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.params as postgres.ParameterOrJSON<never>[]);
    const nodes: string[] = [];
    const walk = (n: PlanNode) => {
      nodes.push(`${n['Node Type']}${n.Filter === undefined ? '' : ' filtered'}${n['Relation Name'] === undefined ? '' : ` on ${n['Relation Name']}`}`);
      for (const child of n.Plans ?? []) walk(child);
    };
    const plan = (row?.['QUERY PLAN'] as { Plan: PlanNode }[] | undefined)?.[0]?.Plan;
    if (plan !== undefined) walk(plan);
    return nodes;
  });
}

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; Filter?: string; Plans?: PlanNode[] }

/**
 * Whether a PostgreSQL plan reads only index ranges: no sequential scan, no sort, no index walk
 * that filters what it reads, except on `filteredOk` (relations whose filter drops few rows).
 */
export function postgresRangeOnly(nodes: readonly string[], filteredOk: readonly string[] = []): boolean {
  return nodes.every((n) => {
    if (n.startsWith('Seq Scan') || n.startsWith('Sort') || n.startsWith('Incremental Sort')) return false;
    // A partition is named after its table: readings_20260110 is one of readings'.
    const filtered = / filtered on (\S+)$/.exec(n)?.[1];
    return filtered === undefined || filteredOk.some((r) => filtered === r || filtered.startsWith(`${r}_`));
  });
}
