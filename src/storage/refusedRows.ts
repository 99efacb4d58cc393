/**
 * Whether a store error means the database refused the row itself, so the same write can
 * never succeed: SQLite's constraint and type-mismatch errors (better-sqlite3 `code`
 * SQLITE_CONSTRAINT_*, SQLITE_MISMATCH), PostgreSQL's SQLSTATE classes 22 (data exception)
 * and 23 (integrity constraint violation), also when wrapped as the `cause` of our own error.
 * Anything else (unreachable, timeout, busy, locked) may pass on a retry.
 */
export function refusedForGood(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 3; depth += 1) {
    const code = typeof e === 'object' && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined && (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || /^2[23][0-9A-Z]{3}$/.test(code))) return true;
    e = typeof e === 'object' && 'cause' in e ? e.cause : undefined;
  }
  return false;
}
