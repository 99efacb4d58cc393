/**
 * Fencing: a side effect a lease holder causes is written only while the lease's token is
 * still the one the holder was given. A paused or partitioned old holder that wakes up finds a
 * newer token and is refused (`StaleFencingToken`), whatever it believes about itself.
 *
 * The check and the write share one transaction: the lease row is read `FOR SHARE`, which a
 * new holder's takeover (an UPDATE of that row) waits for, and which waits for a takeover in
 * progress and then sees its token. So either the write commits before the new holder exists,
 * or the new holder exists and the write is refused: never both acting.
 */
import type { PostgresDatabase, Queryable, TransactionSql } from '../storage/postgres/connection.js';
import { databaseError } from '../storage/postgres/errors.js';

/** The lease a side effect is done under, and the token its holder was given. */
export interface FencingToken {
  readonly lease: string;
  readonly token: number;
}

/**
 * What a singleton duty asks before each side effect: the token to carry, or undefined when
 * this node does not lead now (then it acts not at all). The leader lease is one; a duty that
 * runs without one (`single` mode, the embedded store) acts unfenced.
 */
export interface Leadership {
  fence(): FencingToken | undefined;
}

/** The lease has a newer holder (or none was ever given) than the token the write carries. */
export class StaleFencingToken extends Error {
  readonly code = 'STALE_FENCING_TOKEN';
  constructor(readonly lease: string, readonly token: number, readonly current: number | null) {
    super(`lease ${lease}: token ${token} is stale (current ${current ?? 'none'}); a newer holder acts now`);
    this.name = 'StaleFencingToken';
  }
}

/** Throws `StaleFencingToken` unless `fence` is the lease's current token; the row stays share-locked until `tx` ends. */
export async function checkFence(tx: TransactionSql | Queryable, fence: FencingToken): Promise<void> {
  const [row] = await tx<{ token: number }[]>`SELECT token FROM cluster_leases WHERE name = ${fence.lease} FOR SHARE`;
  if (row?.token !== fence.token) throw new StaleFencingToken(fence.lease, fence.token, row?.token ?? null);
}

/**
 * Runs `write` in a transaction after `checkFence`, so it commits only under the current
 * token. A stale token rejects with `StaleFencingToken`; the client's own failures come out as
 * the typed `DatabaseError`s, as from `PostgresDatabase.run`.
 */
export async function fenced<T>(db: PostgresDatabase, fence: FencingToken, write: (tx: TransactionSql) => Promise<T>): Promise<T> {
  try {
    return await db.sql.begin(async (tx) => {
      await checkFence(tx, fence);
      return write(tx);
    });
  } catch (err) {
    if (err instanceof StaleFencingToken) throw err;
    throw databaseError(err, db.target);
  }
}
