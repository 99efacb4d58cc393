/**
 * Meter replacements in PostgreSQL, with the embedded store's meaning
 * (src/billing/replacements.ts): every node holds them all in memory for the export.
 *
 * A replacement recorded on one node must count in the next export of every node, so a
 * recording notifies channel `meter_replacements` in the transaction that stores it (sent
 * at commit) and every node listens (src/storage/postgres/notifications.ts). Notifications sent
 * while a node's listening connection was down are lost to it, so each time that connection is
 * re-established the node reloads the table: it never keeps a stale list longer than its
 * connection is down.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { databaseError, type DatabaseError } from '../storage/postgres/errors.js';
import { listenTo, notifyInTransaction, type Listening } from '../storage/postgres/notifications.js';
import { MAX_REPLACEMENTS, ReplacementIndex, ReplacementLimitReached, replacementOf, type ReplacementRow, type ReplacementStore } from './replacements.js';
import type { MeterReplacement } from './vee.js';

const CHANNEL = 'meter_replacements';

export interface PostgresReplacementStoreOptions {
  readonly now?: () => number;
  /** A reload after the listening connection came back failed; the next reconnection tries again. */
  readonly onError?: (error: DatabaseError) => void;
}

export class PostgresReplacementStore implements ReplacementStore {
  private index = ReplacementIndex.of([]);
  private listening: Listening | undefined;
  private readonly now: () => number;

  /** Listens for other nodes' recordings, then loads the table; resolves when both are done. */
  static async open(db: PostgresDatabase, options: PostgresReplacementStoreOptions = {}): Promise<PostgresReplacementStore> {
    const store = new PostgresReplacementStore(db, options);
    store.listening = await listenTo(db, CHANNEL, {
      heard: (payload) => { store.heard(payload); },
      missed: () => { store.reload().catch((err: unknown) => options.onError?.(databaseError(err, db.target))); },
    });
    await store.reload();
    return store;
  }

  private constructor(private readonly db: PostgresDatabase, private readonly options: PostgresReplacementStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  async add(r: MeterReplacement): Promise<void> {
    this.index.checkRoomFor(r);
    const stored = await this.db.run((sql) => sql.begin(async (tx) => {
      // The limit is checked again in the database: another node may have recorded since this one loaded.
      const rows = await tx`
        INSERT INTO meter_replacements (meter_id, at, old_final, new_initial, created_at)
        SELECT ${r.meterId}, ${r.at}, ${r.oldFinal}, ${r.newInitial}, ${this.now()}
        WHERE EXISTS (SELECT 1 FROM meter_replacements WHERE meter_id = ${r.meterId} AND at = ${r.at})
           OR (SELECT count(*) FROM meter_replacements) < ${MAX_REPLACEMENTS}
        ON CONFLICT (meter_id, at) DO UPDATE SET old_final = excluded.old_final, new_initial = excluded.new_initial
        RETURNING 1`;
      if (rows.length === 0) return false;
      await notifyInTransaction(tx, CHANNEL, JSON.stringify(r));
      return true;
    }));
    if (!stored) throw new ReplacementLimitReached();
    this.index.remember(r);
  }

  of(meterId: string): readonly MeterReplacement[] {
    return this.index.of(meterId);
  }

  /** Stops listening; the pool belongs to its opener. */
  async close(): Promise<void> {
    await this.listening?.stop();
    this.listening = undefined;
  }

  private async reload(): Promise<void> {
    const rows = await this.db.run((sql) => sql<ReplacementRow[]>`SELECT meter_id, at, old_final, new_initial FROM meter_replacements ORDER BY meter_id COLLATE "C", at`);
    this.index = ReplacementIndex.of(rows.map(replacementOf));
  }

  private heard(payload: string): void {
    const r = parseReplacement(payload);
    if (r !== undefined) this.index.remember(r);
  }
}

/** A notification's replacement; undefined for anything else sent on the channel. */
function parseReplacement(payload: string): MeterReplacement | undefined {
  try {
    const v = JSON.parse(payload) as Partial<Record<keyof MeterReplacement, unknown>>;
    if (typeof v.meterId === 'string' && typeof v.at === 'number' && typeof v.oldFinal === 'number' && typeof v.newInitial === 'number') {
      return { meterId: v.meterId, at: v.at, oldFinal: v.oldFinal, newInitial: v.newInitial };
    }
  } catch {
    // Not ours: someone else's NOTIFY on the same channel name.
  }
  return undefined;
}
