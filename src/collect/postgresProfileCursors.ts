/**
 * Stored-profile cursors in PostgreSQL, with the embedded store's meaning
 * (src/collect/profileCursors.ts): a cursor only moves forward, in one atomic upsert, so two
 * nodes advancing the same meter's cursor at once keep the newer time.
 */
import type { ProfileKind } from '../../protocols/adapter.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { ProfileCursorStore } from './profileCursors.js';

export class PostgresProfileCursors implements ProfileCursorStore {
  constructor(private readonly db: PostgresDatabase, private readonly now: () => number = Date.now) {}

  async get(meterId: string, profile: ProfileKind): Promise<number | undefined> {
    const rows = await this.db.run((sql) => sql<{ last_ts: number }[]>`SELECT last_ts FROM profile_cursors WHERE meter_id = ${meterId} AND profile = ${profile}`);
    return rows[0]?.last_ts;
  }

  async set(meterId: string, profile: ProfileKind, lastTs: number): Promise<void> {
    await this.db.run((sql) => sql`
      INSERT INTO profile_cursors (meter_id, profile, last_ts, updated_at) VALUES (${meterId}, ${profile}, ${lastTs}, ${this.now()})
      ON CONFLICT (meter_id, profile) DO UPDATE SET
        last_ts = greatest(profile_cursors.last_ts, excluded.last_ts), updated_at = excluded.updated_at`);
  }
}
