/**
 * The WHERE clauses of a work order list, shared by both stores: each filter an equality on an
 * indexed column, then the keyset condition of the page (newest first by created_at, id).
 */
import type { WorkOrderQuery } from './store.js';

const FILTER_COLUMNS = [
  ['areaId', 'area_id'], ['state', 'state'], ['assignee', 'assignee'], ['role', 'role'], ['type', 'type'], ['meterId', 'meter_id'],
] as const;

/** `placeholder(n)` writes the n-th parameter (1-based): `?` on SQLite, `$n` on PostgreSQL. */
export function filterClauses(q: WorkOrderQuery, placeholder: (n: number) => string): { where: string[]; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const arg = (v: string | number): string => {
    args.push(v);
    return placeholder(args.length);
  };
  for (const [field, column] of FILTER_COLUMNS) {
    const value = q[field];
    if (value !== undefined) where.push(`${column} = ${arg(value)}`);
  }
  // A row value: both planners read it as one range of the (…, created_at, id) index.
  if (q.after !== undefined) where.push(`(created_at, id) < (${arg(q.after.createdAt)}, ${arg(q.after.id)})`);
  return { where, args };
}
