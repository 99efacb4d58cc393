/**
 * The load-control program state on PostgreSQL: the embedded store's semantics (stateStore.ts)
 * on table `load_control_state`. A save that carries a fencing token is written only under the
 * lease's current token, so a round an old leader starts after a takeover is never recorded.
 * Purchases (table `load_control_purchases`) need no token: any node may take one, once.
 */
import { fenced, type FencingToken } from '../../cluster/fencing.js';
import type { PostgresDatabase, Queryable } from '../../storage/postgres/connection.js';
import type { ProgramState } from './machine.js';
import { purchaseOf, type ProgramStateStore, type Purchase, type PurchaseRecord, type PurchaseRow, type PurchaseTotal } from './stateStore.js';

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

  async addPurchase(programId: string, p: Purchase): Promise<PurchaseRecord> {
    return this.db.run(async (sql) => {
      const inserted = await sql`
        INSERT INTO load_control_purchases (program_id, purchase_id, wh, idempotency_key, actor, at)
        VALUES (${programId}, ${p.purchaseId}, ${p.wh}, ${p.idempotencyKey}, ${p.actor}, ${p.at}) ON CONFLICT DO NOTHING`;
      if (inserted.count > 0) return { created: true, stored: p };
      // By key first: the request retried is the likelier meaning of a clash.
      const [row] = await sql<PurchaseRow[]>`
        SELECT purchase_id, wh, idempotency_key, actor, at FROM load_control_purchases
        WHERE program_id = ${programId} AND (idempotency_key = ${p.idempotencyKey} OR purchase_id = ${p.purchaseId})
        ORDER BY (idempotency_key = ${p.idempotencyKey}) DESC LIMIT 1`;
      if (row === undefined) throw new Error(`purchase ${p.purchaseId} of program ${programId} was neither stored nor found`);
      return { created: false, stored: purchaseOf(row) };
    });
  }

  async purchases(programId: string, limit: number): Promise<Purchase[]> {
    const rows = await this.db.run((sql) => sql<PurchaseRow[]>`
      SELECT purchase_id, wh, idempotency_key, actor, at FROM load_control_purchases
      WHERE program_id = ${programId} ORDER BY at DESC, purchase_id DESC LIMIT ${limit}`);
    return rows.map(purchaseOf);
  }

  async purchaseTotals(): Promise<Map<string, PurchaseTotal>> {
    const rows = await this.db.run((sql) => sql<{ program_id: string; wh: string; n: string }[]>`
      SELECT program_id, SUM(wh) AS wh, COUNT(*) AS n FROM load_control_purchases GROUP BY program_id`);
    return new Map(rows.map((r) => [r.program_id, { wh: Number(r.wh), count: Number(r.n) }]));
  }
}
