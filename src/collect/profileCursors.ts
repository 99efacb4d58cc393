/**
 * Where each meter's stored-profile collection stands: the capture time of the newest entry
 * delivered. Advanced only after the pipeline accepted the entries, so a crash re-reads
 * (the store overwrites, never duplicates) rather than skipping. Embedded here, PostgreSQL in
 * src/collect/postgresProfileCursors.ts.
 */
import type { ProfileKind } from '../../protocols/adapter.js';
import type { Db } from '../storage/db.js';

export interface ProfileCursorStore {
  get(meterId: string, profile: ProfileKind): Promise<number | undefined>;
  /** Moves the cursor to `lastTs`, never backwards; resolves once it is stored. */
  set(meterId: string, profile: ProfileKind, lastTs: number): Promise<void>;
}

export class SqliteProfileCursors implements ProfileCursorStore {
  private readonly select;
  private readonly upsert;

  constructor(db: Db, private readonly now: () => number = Date.now) {
    this.select = db.prepare<[string, string], { last_ts: number }>('SELECT last_ts FROM profile_cursors WHERE meter_id = ? AND profile = ?');
    this.upsert = db.prepare(`INSERT INTO profile_cursors (meter_id, profile, last_ts, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (meter_id, profile) DO UPDATE SET last_ts = MAX(last_ts, excluded.last_ts), updated_at = excluded.updated_at`);
  }

  // better-sqlite3 answers at once; a throw becomes a rejection, as a network driver reports it.
  get(meterId: string, profile: ProfileKind): Promise<number | undefined> {
    return new Promise((resolve) => { resolve(this.select.get(meterId, profile)?.last_ts); });
  }

  set(meterId: string, profile: ProfileKind, lastTs: number): Promise<void> {
    return new Promise((resolve) => {
      this.upsert.run(meterId, profile, lastTs, this.now());
      resolve();
    });
  }
}

/** In memory, for tests and for a station without a store. */
export class MemoryProfileCursors implements ProfileCursorStore {
  private readonly cursors = new Map<string, number>();

  get(meterId: string, profile: ProfileKind): Promise<number | undefined> {
    return Promise.resolve(this.cursors.get(`${meterId}\u0000${profile}`));
  }

  set(meterId: string, profile: ProfileKind, lastTs: number): Promise<void> {
    const key = `${meterId}\u0000${profile}`;
    this.cursors.set(key, Math.max(lastTs, this.cursors.get(key) ?? lastTs));
    return Promise.resolve();
  }
}
