/**
 * What can go wrong between the station and PostgreSQL, as errors with a stable `code`. The
 * client's own errors (a SQLSTATE from the server, a socket code from Node, a code of the
 * `postgres` package) are turned into these by `databaseError`, so callers act on a code and
 * never parse a message. No message carries a password: the URL appears only redacted.
 */

export type DatabaseErrorCode =
  | 'DB_URL_INVALID'
  | 'DB_UNREACHABLE'
  | 'DB_AUTH_FAILED'
  | 'DB_NOT_FOUND'
  | 'DB_STATEMENT_TIMEOUT'
  | 'DB_POOL_TIMEOUT'
  | 'DB_MIGRATION_FAILED'
  | 'DB_QUERY_FAILED';

export abstract class DatabaseError extends Error {
  abstract readonly code: DatabaseErrorCode;
  /** The server's SQLSTATE, when the server answered. */
  readonly sqlState: string | undefined;
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.sqlState = sqlStateOf(cause);
  }
}

/** The URL cannot be parsed; it is not echoed, since it may hold a password. */
export class DatabaseUrlInvalid extends DatabaseError {
  readonly code = 'DB_URL_INVALID';
  constructor(readonly source: string) {
    super(`${source} is not a postgres:// URL (postgres://user:password@host:port/database)`);
    this.name = 'DatabaseUrlInvalid';
  }
}

/** No connection could be made: refused, no route, DNS, connect timeout, or the server went away. */
export class DatabaseUnreachable extends DatabaseError {
  readonly code = 'DB_UNREACHABLE';
  constructor(readonly target: string, detail: string, cause?: unknown) {
    super(`PostgreSQL at ${target} is unreachable: ${detail}`, cause);
    this.name = 'DatabaseUnreachable';
  }
}

/** The server refused the user or password (SQLSTATE 28P01, 28000). */
export class DatabaseAuthFailed extends DatabaseError {
  readonly code = 'DB_AUTH_FAILED';
  constructor(readonly target: string, readonly source: string, detail: string, cause?: unknown) {
    super(`PostgreSQL at ${target} refused the user or password given in ${source}: ${detail}`, cause);
    this.name = 'DatabaseAuthFailed';
  }
}

/** The database named in the URL does not exist (SQLSTATE 3D000). */
export class DatabaseNotFound extends DatabaseError {
  readonly code = 'DB_NOT_FOUND';
  constructor(readonly target: string, readonly source: string, detail: string, cause?: unknown) {
    super(`PostgreSQL at ${target}: ${detail}; create it or fix the database in ${source}`, cause);
    this.name = 'DatabaseNotFound';
  }
}

/** The server cancelled a statement that ran past `statement_timeout` (SQLSTATE 57014). */
export class StatementTimeout extends DatabaseError {
  readonly code = 'DB_STATEMENT_TIMEOUT';
  constructor(readonly target: string, cause?: unknown) {
    super(`PostgreSQL at ${target} cancelled a statement that ran past storage.postgres.statementTimeoutMs`, cause);
    this.name = 'StatementTimeout';
  }
}

/** Every pooled connection stayed busy past `storage.postgres.acquireTimeoutMs`. */
export class PoolTimeout extends DatabaseError {
  readonly code = 'DB_POOL_TIMEOUT';
  constructor(readonly target: string, cause?: unknown) {
    super(`no PostgreSQL connection to ${target} came free within storage.postgres.acquireTimeoutMs`, cause);
    this.name = 'PoolTimeout';
  }
}

/** A migration failed; its transaction was rolled back, so the schema is as it was before it. */
export class PostgresMigrationFailed extends DatabaseError {
  readonly code = 'DB_MIGRATION_FAILED';
  constructor(readonly version: number, readonly migration: string, cause: unknown) {
    super(`PostgreSQL migration ${version} (${migration}) failed and was rolled back: ${messageOf(cause)}`, cause);
    this.name = 'PostgresMigrationFailed';
  }
}

/** Any other error the server or the client reported for a statement. */
export class DatabaseQueryFailed extends DatabaseError {
  readonly code = 'DB_QUERY_FAILED';
  constructor(readonly target: string, cause: unknown) {
    super(`PostgreSQL at ${target}: ${messageOf(cause)}`, cause);
    this.name = 'DatabaseQueryFailed';
  }
}

/** Where the connection URL came from and where it points (redacted), for error messages. */
export interface DatabaseTarget {
  /** `GRIDHEAD_DATABASE_URL` or `storage.postgres.url`. */
  readonly source: string;
  /** The URL with its password replaced by `***`. */
  readonly redacted: string;
}

/** Node's codes for a connection that could not be made or was lost. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE']);
/** The `postgres` package's codes for the same. */
const CLIENT_CONNECTION_CODES = new Set(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED']);

/**
 * The typed error for what the client threw. SQLSTATE classes per the PostgreSQL manual,
 * Appendix A: 08 connection exception, 28 invalid authorization, 57P01-57P03 the server
 * shutting down or starting, 57014 query cancelled, 3D000 invalid catalog name.
 */
export function databaseError(err: unknown, target: DatabaseTarget): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const code = codeOf(err);
  const detail = messageOf(err);
  if (code === '28P01' || code === '28000') return new DatabaseAuthFailed(target.redacted, target.source, detail, err);
  if (code === '3D000') return new DatabaseNotFound(target.redacted, target.source, detail, err);
  if (code === '57014' && /statement timeout/i.test(detail)) return new StatementTimeout(target.redacted, err);
  if (code === 'QUEUE_TIMEOUT') return new PoolTimeout(target.redacted, err);
  if (code !== undefined && (SOCKET_CODES.has(code) || CLIENT_CONNECTION_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code))) {
    return new DatabaseUnreachable(target.redacted, `${code}: ${detail}`, err);
  }
  return new DatabaseQueryFailed(target.redacted, err);
}

/**
 * The URL for logs and messages: the password replaced by `***`, in the authority and in a
 * `password=` query parameter. A string that is not a postgres:// URL is not shown at all.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<unparsable URL>';
  }
  // Another scheme may parse with the credentials in its path ("user:secret@host"): show none of it.
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return '<unparsable URL>';
  if (parsed.password !== '') parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (key.toLowerCase() === 'password') parsed.searchParams.set(key, '***');
  }
  return parsed.toString().replace('%2A%2A%2A', '***');
}

/** The `code` a client or Node error carries (a SQLSTATE, a socket code, a client code). */
export function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = err.code;
  return typeof code === 'string' ? code : undefined;
}

function sqlStateOf(err: unknown): string | undefined {
  const code = codeOf(err);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E') ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
