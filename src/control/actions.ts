/**
 * The control action log: every request to the control port and its result, in table
 * `control_actions` (embedded migration 6; PostgreSQL, src/control/postgresActions.ts). A row
 * is written (and awaited) before the device is touched (status 'pending') and finished once,
 * so a crash leaves evidence of what was attempted; `closeInterrupted` marks such rows at start.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from '../storage/db.js';
import type { ControlCommand, ControlOrigin, ControlRequest, ControlResult, DeviceControlState } from './port.js';

export interface ControlAction {
  readonly id: number;
  readonly meterId: string;
  readonly command: ControlCommand;
  readonly limitKw: number | null;
  readonly origin: ControlOrigin;
  readonly reason: string;
  readonly requestedAt: number;
  readonly status: 'pending' | ControlResult['status'];
  readonly finishedAt: number | null;
  readonly state: DeviceControlState | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export interface ActionQuery {
  readonly programId?: string;
  readonly meterId?: string;
  /** Newest first, at most this many (default 100, at most 1,000). */
  readonly limit?: number;
}

/** Cap of one query's rows: the log grows forever, a reply must not. */
export const MAX_ACTIONS_PER_QUERY = 1_000;

/** The action log as the command service and the load-control programs use it. */
export interface ControlActionStore {
  /** Records a request before it is sent; resolves to its id once stored. */
  begin(request: ControlRequest, at: number): Promise<number>;
  /** Records the result of a pending request; a request finished already stays as it was. */
  finish(id: number, result: ControlResult, at: number): Promise<void>;
  /** Marks requests a previous run left pending: whether they reached the device is unknown. Resolves to how many. */
  closeInterrupted(at: number): Promise<number>;
  get(id: number): Promise<ControlAction | undefined>;
  /** Newest first. */
  list(q?: ActionQuery): Promise<ControlAction[]>;
}

/** The note `closeInterrupted` leaves on each request it closes. */
export const INTERRUPTED_MESSAGE = 'the station stopped before the result was known; check the device state';

/** Rows one query returns: `limit` clamped to 1 … MAX_ACTIONS_PER_QUERY, 100 by default. */
export function actionLimit(q: ActionQuery): number {
  return Math.min(Math.max(1, q.limit ?? 100), MAX_ACTIONS_PER_QUERY);
}

/** A row of `control_actions` as both drivers read it (the state JSON decoded). */
export interface StoredAction {
  id: number;
  meter_id: string;
  command: ControlCommand;
  limit_kw: number | null;
  origin_kind: 'program' | 'operator';
  origin_id: string;
  origin_round: number | null;
  reason: string;
  requested_at: number;
  status: ControlAction['status'];
  finished_at: number | null;
  state: DeviceControlState | null;
  error_code: string | null;
  error_message: string | null;
}

/** A row as SQLite returns it: the state still JSON text. */
type Row = Omit<StoredAction, 'state'> & { state: string | null };

/** The embedded action log. better-sqlite3 is synchronous: each write is stored when its call returns. */
export class SqliteControlActionStore implements ControlActionStore {
  readonly #insert: Statement<[string, string, number | null, string, string, number | null, string, number]>;
  readonly #finish: Statement<[string, number, string | null, string | null, string | null, number]>;
  readonly #interrupted: Statement<[number, string]>;
  readonly #get: Statement<[number], Row>;
  readonly #query: Statement<[{ program: string | null; meter: string | null; limit: number }], Row>;

  constructor(db: Db) {
    this.#insert = db.prepare(`
      INSERT INTO control_actions (meter_id, command, limit_kw, origin_kind, origin_id, origin_round, reason, requested_at, status)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`);
    this.#finish = db.prepare(`
      UPDATE control_actions SET status = ?, finished_at = ?, state = ?, error_code = ?, error_message = ?
      WHERE id = ? AND status = 'pending'`);
    this.#interrupted = db.prepare(`
      UPDATE control_actions SET status = 'failed', finished_at = ?, error_code = 'INTERRUPTED', error_message = ?
      WHERE status = 'pending'`);
    this.#get = db.prepare('SELECT * FROM control_actions WHERE id = ?');
    this.#query = db.prepare(`
      SELECT * FROM control_actions
      WHERE (@program IS NULL OR (origin_kind = 'program' AND origin_id = @program)) AND (@meter IS NULL OR meter_id = @meter)
      ORDER BY id DESC LIMIT @limit`);
  }

  begin(request: ControlRequest, at: number): Promise<number> {
    return settled(() => {
      const o = request.origin;
      const info = this.#insert.run(
        request.meterId, request.command, request.limitKw ?? null, o.kind, o.kind === 'program' ? o.id : o.actor,
        o.kind === 'program' ? o.round : null, request.reason, at,
      );
      return Number(info.lastInsertRowid);
    });
  }

  finish(id: number, result: ControlResult, at: number): Promise<void> {
    return settled(() => {
      this.#finish.run(
        result.status, at, result.state === undefined ? null : JSON.stringify(result.state),
        result.error?.code ?? null, result.error?.message ?? null, id,
      );
    });
  }

  closeInterrupted(at: number): Promise<number> {
    return settled(() => this.#interrupted.run(at, INTERRUPTED_MESSAGE).changes);
  }

  get(id: number): Promise<ControlAction | undefined> {
    return settled(() => {
      const row = this.#get.get(id);
      return row === undefined ? undefined : toAction(row);
    });
  }

  list(q: ActionQuery = {}): Promise<ControlAction[]> {
    return settled(() => this.#query.all({ program: q.programId ?? null, meter: q.meterId ?? null, limit: actionLimit(q) }).map(toAction));
  }
}

function toAction(r: Row): ControlAction {
  return actionOf({ ...r, state: r.state === null ? null : (JSON.parse(r.state) as DeviceControlState) });
}

export function actionOf(r: StoredAction): ControlAction {
  return {
    id: r.id,
    meterId: r.meter_id,
    command: r.command,
    limitKw: r.limit_kw,
    origin: r.origin_kind === 'program' ? { kind: 'program', id: r.origin_id, round: r.origin_round ?? 0 } : { kind: 'operator', actor: r.origin_id },
    reason: r.reason,
    requestedAt: r.requested_at,
    status: r.status,
    finishedAt: r.finished_at,
    state: r.state,
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
  };
}
