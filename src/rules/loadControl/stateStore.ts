/**
 * Where each program stands, persisted (table `load_control_state`, migration 6) after every
 * change, so a restart resumes a round in progress instead of re-tripping, and still knows
 * what it tripped when the load falls.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../../storage/db.js';
import type { ProgramState } from './machine.js';

export interface ProgramStateStore {
  load(programId: string): ProgramState | undefined;
  save(programId: string, state: ProgramState, at: number): void;
}

export class SqliteProgramStateStore implements ProgramStateStore {
  readonly #get: Statement<[string], { state: string }>;
  readonly #put: Statement<[string, string, number]>;

  constructor(db: Db) {
    this.#get = db.prepare('SELECT state FROM load_control_state WHERE program_id = ?');
    this.#put = db.prepare(`
      INSERT INTO load_control_state (program_id, state, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (program_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`);
  }

  load(programId: string): ProgramState | undefined {
    const row = this.#get.get(programId);
    return row === undefined ? undefined : (JSON.parse(row.state) as ProgramState);
  }

  save(programId: string, state: ProgramState, at: number): void {
    this.#put.run(programId, JSON.stringify(state), at);
  }
}

/** In memory, for tests and a station without a store. */
export class MemoryProgramStateStore implements ProgramStateStore {
  private readonly states = new Map<string, string>();

  load(programId: string): ProgramState | undefined {
    const s = this.states.get(programId);
    return s === undefined ? undefined : (JSON.parse(s) as ProgramState);
  }

  save(programId: string, state: ProgramState): void {
    this.states.set(programId, JSON.stringify(state));
  }
}
