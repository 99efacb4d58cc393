/** The load-control program state on PostgreSQL: the embedded store's semantics (stateStore.ts) on table `load_control_state`. */
import type postgres from 'postgres';
import type { PostgresDatabase } from '../../storage/postgres/connection.js';
import type { ProgramState } from './machine.js';
import type { ProgramStateStore } from './stateStore.js';

export class PostgresProgramStateStore implements ProgramStateStore {
  constructor(private readonly db: PostgresDatabase) {}

  async load(programId: string): Promise<ProgramState | undefined> {
    const [row] = await this.db.run((sql) => sql<{ state: ProgramState }[]>`SELECT state FROM load_control_state WHERE program_id = ${programId}`);
    return row?.state;
  }

  async save(programId: string, state: ProgramState, at: number): Promise<void> {
    await this.db.run((sql) => sql`
      INSERT INTO load_control_state (program_id, state, updated_at) VALUES (${programId}, ${sql.json(state as unknown as postgres.JSONValue)}, ${at})
      ON CONFLICT (program_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`);
  }
}
