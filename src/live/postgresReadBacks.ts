/**
 * Control read-backs in PostgreSQL: the embedded queries (meterState.ts, `SqliteControlReadBacks`)
 * on the command store's command_targets, whose read-back is jsonb. Each is one seek on
 * command_targets_verified (meter_id, updated_at DESC) WHERE status = 'verified': the newest
 * verified targets of the meter first, read until one carries the value asked for.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { ControlReadBacks } from './meterState.js';

export class PostgresControlReadBacks implements ControlReadBacks {
  constructor(private readonly db: PostgresDatabase) {}

  async relay(meterId: string): Promise<{ connected: boolean; at: number } | undefined> {
    const [row] = await this.db.run((sql) => sql<{ connected: boolean; at: number }[]>`
      SELECT (state->>'connected')::boolean AS connected, updated_at AS at FROM command_targets
      WHERE meter_id = ${meterId} AND status = 'verified' AND jsonb_typeof(state->'connected') = 'boolean'
      ORDER BY updated_at DESC LIMIT 1`);
    return row;
  }

  async limit(meterId: string): Promise<{ limitKw: number | null; at: number } | undefined> {
    // A cleared limit is read back as limitKw null: present, and the answer.
    const [row] = await this.db.run((sql) => sql<{ limitKw: number | null; at: number }[]>`
      SELECT (state->>'limitKw')::double precision AS "limitKw", updated_at AS at FROM command_targets
      WHERE meter_id = ${meterId} AND status = 'verified' AND state ? 'limitKw'
      ORDER BY updated_at DESC LIMIT 1`);
    return row;
  }
}
