/**
 * The load-control program state on PostgreSQL: the embedded store's semantics (stateStore.ts)
 * on table `load_control_state`. A save that carries a fencing token is written only under the
 * lease's current token, so a round an old leader starts after a takeover is never recorded.
 */
import { fenced, type FencingToken } from '../../cluster/fencing.js';
import type { PostgresDatabase, Queryable } from '../../storage/postgres/connection.js';
import type { ProgramState } from './machine.js';
import type { ProgramStateStore } from './stateStore.js';

export class PostgresProgramStateStore implements ProgramStateStore {
  constructor(private readonly db: PostgresDatabase) {}

  async load(programId: string): Promise<ProgramState | undefined> {
    const [row] = await this.db.run((sql) => sql<{ state: ProgramState }[]>`SELECT state FROM load_control_state WHERE program_id = ${programId}`);
    return row?.state;
  }

  async save(programId: string, state: ProgramState, at: number, fence?: FencingToken): Promise<void> {
    const write = (sql: Queryable) => sql`
      INSERT INTO load_control_state (program_id, state, updated_at) VALUES (${programId}, ${sql.json(state)}, ${at})
      ON CONFLICT (program_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`;
    if (fence === undefined) await this.db.run(write);
    else await fenced(this.db, fence, write);
  }
}
