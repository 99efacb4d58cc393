/**
 * Where each program stands, persisted (table `load_control_state`; embedded migration 6,
 * PostgreSQL in src/rules/loadControl/postgresStateStore.ts) after every change, and awaited
 * before the program acts on it, so a restart resumes a round in progress instead of
 * re-tripping, and still knows what it tripped when the load falls.
 */
import type { Statement } from 'better-sqlite3';
import type { FencingToken } from '../../cluster/fencing.js';
import { settled, type Db } from '../../storage/db.js';
import type { ProgramState } from './machine.js';

export interface ProgramStateStore {
  load(programId: string): Promise<ProgramState | undefined>;
  /**
   * Replaces the program's whole state: a later save supersedes an earlier one entirely. With
   * `fence` (the leader's token), a shared store writes only while that token is current, else
   * rejects with `StaleFencingToken` and writes nothing; the embedded stores serve one node and
   * ignore it.
   */
  save(programId: string, state: ProgramState, at: number, fence?: FencingToken): Promise<void>;
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

  load(programId: string): Promise<ProgramState | undefined> {
    return settled(() => {
      const row = this.#get.get(programId);
      return row === undefined ? undefined : (JSON.parse(row.state) as ProgramState);
    });
  }

  save(programId: string, state: ProgramState, at: number): Promise<void> {
    return settled(() => { this.#put.run(programId, JSON.stringify(state), at); });
  }
}

/** In memory, for tests and a station without a store. */
export class MemoryProgramStateStore implements ProgramStateStore {
  private readonly states = new Map<string, string>();

  load(programId: string): Promise<ProgramState | undefined> {
    const s = this.states.get(programId);
    return Promise.resolve(s === undefined ? undefined : (JSON.parse(s) as ProgramState));
  }

  save(programId: string, state: ProgramState): Promise<void> {
    this.states.set(programId, JSON.stringify(state));
    return Promise.resolve();
  }
}
