/**
 * The station's connection pool to PostgreSQL (client: the `postgres` package, chosen by
 * measurement in tests/bench/store-dialects.bench.ts).
 *
 * Bounded: at most `poolMax` connections; a query waits `acquireTimeoutMs` for one at most;
 * a connection attempt gives up after `connectTimeoutMs`. Every connection starts with
 * `statement_timeout` and `idle_in_transaction_session_timeout` set, so neither a runaway
 * query nor a forgotten transaction holds locks for long. A lost server is reconnected on
 * the next query, no sooner than a backoff that doubles from `reconnectMinMs` up to
 * `reconnectMaxMs`; until then queries fail with `DatabaseUnreachable`, which the caller
 * retries (the ingest pipeline retries the same batch).
 */
import postgres from 'postgres';
import type { PostgresConfig } from '../../config/schema.js';
import { DomainError } from '../../domain/errors.js';
import { DatabaseUrlInvalid, databaseError, redactUrl, type DatabaseTarget } from './errors.js';
import { countStatements, type StatementCounts } from './statements.js';

/** pg_advisory_xact_lock(key1, key2) keys: 'grid' in ASCII, then what the lock guards (each store names its own second key). */
export const ADVISORY_LOCK_SPACE = 0x67726964;

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;
/** The pool, a transaction or a reserved connection: what a query can run on. */
export type Queryable = postgres.ISql;

export const DATABASE_URL_ENV = 'GRIDHEAD_DATABASE_URL';

export interface PostgresOpenOptions {
  readonly url: string;
  /** Where the URL came from, named in error messages; default `GRIDHEAD_DATABASE_URL`. */
  readonly urlSource?: string;
  readonly config: Omit<PostgresConfig, 'url'>;
}

/** One pool to one database, owned by whoever opened it: `close()` it at shutdown. */
export interface PostgresDatabase {
  readonly sql: Sql;
  readonly target: DatabaseTarget;
  /** Runs `work` with the pool; whatever the client throws comes out as a `DatabaseError`. */
  run<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  /** The statements sent since the pool opened, by command (src/storage/postgres/statements.ts). */
  statements(): StatementCounts;
  /** Lets running queries finish (for up to 5 s), then closes every connection. */
  close(): Promise<void>;
}

/**
 * Opens the pool and proves the URL works with one round trip, so a wrong password, host or
 * database stops the start with a clear `DatabaseError` instead of failing every later query.
 */
export async function openPostgres(options: PostgresOpenOptions): Promise<PostgresDatabase> {
  const source = options.urlSource ?? DATABASE_URL_ENV;
  if (!isPostgresUrl(options.url)) throw new DatabaseUrlInvalid(source);
  const target: DatabaseTarget = { source, redacted: redactUrl(options.url) };
  const c = options.config;
  const sql = postgres(options.url, {
    max: c.poolMax,
    connect_timeout: c.connectTimeoutMs / 1000,
    queue_timeout: c.acquireTimeoutMs / 1000,
    backoff: (attempt: number) => reconnectDelayMs(attempt, c.reconnectMinMs, c.reconnectMaxMs) / 1000,
    connection: {
      application_name: 'gridhead',
      statement_timeout: c.statementTimeoutMs,
      idle_in_transaction_session_timeout: c.idleInTransactionTimeoutMs,
    },
    // int8 (counts, millisecond timestamps) as numbers: every value the stores keep is below 2^53.
    types: { int8: { from: [20], parse: (raw: string) => Number(raw) } },
    // CREATE … IF NOT EXISTS and the like send notices; they are not news.
    onnotice: false,
  });
  const statements = countStatements({ database: sql.options.database ?? '', hosts: sql.options.host, ports: sql.options.port });
  const db: PostgresDatabase = {
    sql,
    target,
    async run(work) {
      try {
        return await work(sql);
      } catch (err) {
        throw databaseError(err, target);
      }
    },
    statements: () => statements.counts(),
    close: async () => {
      await sql.end({ timeout: 5 });
      statements.stop();
    },
  };
  try {
    await db.run((s) => s`SELECT 1`);
  } catch (err) {
    statements.stop();
    await sql.end({ timeout: 0 });
    throw err;
  }
  return db;
}

/** The URL of `GRIDHEAD_DATABASE_URL`, else `storage.postgres.url`, with where it came from. */
export function databaseUrl(config: PostgresConfig, env: NodeJS.ProcessEnv): { url: string; source: string } | undefined {
  const fromEnv = env[DATABASE_URL_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, source: DATABASE_URL_ENV };
  return config.url === undefined ? undefined : { url: config.url, source: 'storage.postgres.url' };
}

/** Attempt n (from 1) waits min·2^(n−1), capped at max, with up to a quarter of jitter so nodes do not reconnect in step. */
export function reconnectDelayMs(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return base * (0.75 + Math.random() / 4);
}

function isPostgresUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

/**
 * Runs `work` on the pool, with a store's own refusals (a DomainError thrown inside a
 * transaction to roll it back) coming out as themselves, not as a query failure.
 */
export async function refusalsKept<T>(db: PostgresDatabase, work: (sql: Sql) => Promise<T>): Promise<T> {
  let refusal: DomainError | undefined;
  try {
    return await db.run(async (sql) => {
      try {
        return await work(sql);
      } catch (err) {
        if (err instanceof DomainError) refusal = err;
        throw err;
      }
    });
  } catch (err) {
    throw refusal ?? err;
  }
}
