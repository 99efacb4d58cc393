/**
 * The control action log on PostgreSQL: the embedded log's semantics (src/control/actions.ts)
 * on table `control_actions`. `finish` touches a row only while it is pending, so a result
 * that arrives after a restart closed the request as interrupted does not overwrite that.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import {
  INTERRUPTED_MESSAGE, actionLimit, actionOf,
  type ActionQuery, type ControlAction, type ControlActionStore, type StoredAction,
} from './actions.js';
import type { ControlRequest, ControlResult } from './port.js';

export class PostgresControlActionStore implements ControlActionStore {
  constructor(private readonly db: PostgresDatabase) {}

  async begin(request: ControlRequest, at: number): Promise<number> {
    const o = request.origin;
    const [row] = await this.db.run((sql) => sql<{ id: number }[]>`
      INSERT INTO control_actions (meter_id, command, limit_kw, origin_kind, origin_id, origin_round, reason, requested_at, status)
      VALUES (${request.meterId}, ${request.command}, ${request.limitKw ?? null}, ${o.kind}, ${o.kind === 'program' ? o.id : o.actor},
              ${o.kind === 'program' ? o.round : null}, ${request.reason}, ${at}, 'pending')
      RETURNING id`);
    if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
    return row.id;
  }

  async finish(id: number, result: ControlResult, at: number): Promise<void> {
    await this.db.run((sql) => sql`
      UPDATE control_actions SET status = ${result.status}, finished_at = ${at}, state = ${result.state === undefined ? null : sql.json(result.state)},
        error_code = ${result.error?.code ?? null}, error_message = ${result.error?.message ?? null}
      WHERE id = ${id} AND status = 'pending'`);
  }

  closeInterrupted(at: number): Promise<number> {
    return this.db.run(async (sql) => (await sql`
      UPDATE control_actions SET status = 'failed', finished_at = ${at}, error_code = 'INTERRUPTED', error_message = ${INTERRUPTED_MESSAGE}
      WHERE status = 'pending'`).count);
  }

  async get(id: number): Promise<ControlAction | undefined> {
    const [row] = await this.db.run((sql) => sql<StoredAction[]>`SELECT * FROM control_actions WHERE id = ${id}`);
    return row === undefined ? undefined : actionOf(row);
  }

  async list(q: ActionQuery = {}): Promise<ControlAction[]> {
    const rows = await this.db.run((sql) => sql<StoredAction[]>`
      SELECT * FROM control_actions WHERE true
        ${q.programId === undefined ? sql`` : sql`AND origin_kind = 'program' AND origin_id = ${q.programId}`}
        ${q.meterId === undefined ? sql`` : sql`AND meter_id = ${q.meterId}`}
      ORDER BY id DESC LIMIT ${actionLimit(q)}`);
    return rows.map(actionOf);
  }
}
