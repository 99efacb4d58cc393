/**
 * Where each meter's stored-profile collection stands: the capture time of the newest entry
 * delivered. Advanced only after the pipeline accepted the entries, so a crash re-reads
 * (the store overwrites, never duplicates) rather than skipping.
 */
import type { ProfileKind } from '../../protocols/adapter.js';
import type { Db } from '../storage/db.js';

export interface ProfileCursorStore {
  get(meterId: string, profile: ProfileKind): number | undefined;
  set(meterId: string, profile: ProfileKind, lastTs: number): void;
}

export class SqliteProfileCursors implements ProfileCursorStore {
  private readonly select;
  private readonly upsert;

  constructor(db: Db, private readonly now: () => number = Date.now) {
    this.select = db.prepare<[string, string], { last_ts: number }>('SELECT last_ts FROM profile_cursors WHERE meter_id = ? AND profile = ?');
    this.upsert = db.prepare(`INSERT INTO profile_cursors (meter_id, profile, last_ts, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (meter_id, profile) DO UPDATE SET last_ts = MAX(last_ts, excluded.last_ts), updated_at = excluded.updated_at`);
  }

  get(meterId: string, profile: ProfileKind): number | undefined {
    return this.select.get(meterId, profile)?.last_ts;
  }

  set(meterId: string, profile: ProfileKind, lastTs: number): void {
    this.upsert.run(meterId, profile, lastTs, this.now());
  }
}

/** In memory, for tests and for a station without a store. */
export class MemoryProfileCursors implements ProfileCursorStore {
  private readonly cursors = new Map<string, number>();

  get(meterId: string, profile: ProfileKind): number | undefined {
    return this.cursors.get(`${meterId}\u0000${profile}`);
  }

  set(meterId: string, profile: ProfileKind, lastTs: number): void {
    const key = `${meterId}\u0000${profile}`;
    this.cursors.set(key, Math.max(lastTs, this.cursors.get(key) ?? lastTs));
  }
}
