/**
 * The work order store (src/workOrders/store.ts) on PostgreSQL, migration 30, shared by every
 * node. Numbers and change numbers come from sequences (unique across nodes). Every write takes
 * one transaction-scoped advisory lock before it draws a change number: writes from all nodes
 * run one after the other, so change numbers commit in the order they are drawn and a follower
 * of `changesSince` never skips one. Orders change a few times a day each; the lock costs nothing.
 */
import { ADVISORY_LOCK_SPACE, refusalsKept, type PostgresDatabase, type Sql, type TransactionSql } from '../storage/postgres/connection.js';
import type { WorkOrder, WorkOrderDetail, WorkOrderEvent, WorkOrderResult } from './model.js';
import { filterClauses } from './query.js';
import { ORDER_COLUMNS, commentOf, eventOf, newOrderParams, orderOf, patched, type CommentRow, type EventRow, type OrderRow } from './rows.js';
import {
  pageLimit, pageOf, workOrderNumber,
  type ChangeDecision, type InsertedWorkOrder, type NewWorkOrder, type WorkOrderPage, type WorkOrderQuery, type WorkOrderStore,
} from './store.js';

/** pg_advisory_xact_lock key under ADVISORY_LOCK_SPACE: 'wkor'. */
export const LOCK_WORK_ORDERS = 0x776b6f72;

type Row = OrderRow & { result: WorkOrderResult | null };

export class PostgresWorkOrderStore implements WorkOrderStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  insert(order: NewWorkOrder, by: string): Promise<InsertedWorkOrder> {
    return this.#write(async (tx) => {
      if (order.key !== null) {
        const [existing] = await tx<Row[]>`SELECT ${tx.unsafe(ORDER_COLUMNS)} FROM work_orders WHERE key = ${order.key}`;
        if (existing !== undefined) return { order: orderOf(existing, existing.result), created: false };
      }
      const [drawn] = await tx<{ n: number; seq: number }[]>`SELECT nextval('work_order_numbers') AS n, nextval('work_order_changes') AS seq`;
      if (drawn === undefined) throw new Error('no work order number drawn');
      const [row] = await tx<Row[]>`INSERT INTO work_orders ${tx({ ...newOrderParams(order), number: workOrderNumber(drawn.n), change_seq: drawn.seq })}
        RETURNING ${tx.unsafe(ORDER_COLUMNS)}`;
      if (row === undefined) throw new Error(`work order ${order.id} not returned by its insert`);
      await addEvent(tx, order.id, { at: order.createdAt, by, event: 'created', detail: null });
      return { order: orderOf(row, row.result), created: true };
    });
  }

  async get(id: string): Promise<WorkOrder | undefined> {
    const [row] = await this.#db.run((sql) => sql<Row[]>`SELECT ${sql.unsafe(ORDER_COLUMNS)} FROM work_orders WHERE id = ${id}`);
    return row === undefined ? undefined : orderOf(row, row.result);
  }

  async byKey(key: string): Promise<WorkOrder | undefined> {
    const [row] = await this.#db.run((sql) => sql<Row[]>`SELECT ${sql.unsafe(ORDER_COLUMNS)} FROM work_orders WHERE key = ${key}`);
    return row === undefined ? undefined : orderOf(row, row.result);
  }

  detail(id: string): Promise<WorkOrderDetail | undefined> {
    // One snapshot: the order, its comments and its history as of the same moment.
    return this.#db.run((sql) => sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
      const [row] = await tx<Row[]>`SELECT ${tx.unsafe(ORDER_COLUMNS)} FROM work_orders WHERE id = ${id}`;
      if (row === undefined) return undefined;
      const comments = await tx<CommentRow[]>`SELECT at, by, text FROM work_order_comments WHERE order_id = ${id} ORDER BY seq`;
      const events = await tx<EventRow[]>`SELECT at, by, event, detail FROM work_order_events WHERE order_id = ${id} ORDER BY seq`;
      return { ...orderOf(row, row.result), comments: comments.map(commentOf), history: events.map(eventOf) };
    }));
  }

  change(id: string, decide: ChangeDecision): Promise<WorkOrder | undefined> {
    return this.#write(async (tx) => {
      const [row] = await tx<Row[]>`SELECT ${tx.unsafe(ORDER_COLUMNS)} FROM work_orders WHERE id = ${id}`;
      if (row === undefined) return undefined;
      const current = orderOf(row, row.result);
      const [count] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM work_order_comments WHERE order_id = ${id}`;
      const events = await tx<EventRow[]>`SELECT at, by, event, detail FROM work_order_events WHERE order_id = ${id} ORDER BY seq`;
      const change = decide(current, count?.n ?? 0, events.map(eventOf));
      if (change === null) return current;
      const [drawn] = await tx<{ seq: number }[]>`SELECT nextval('work_order_changes') AS seq`;
      if (drawn === undefined) throw new Error('no work order change number drawn');
      const next = patched(current, change.patch, change.event.at, drawn.seq);
      await tx`UPDATE work_orders SET assignee = ${next.assignee}, state = ${next.state}, result = ${next.result === null ? null : tx.json(next.result)},
        result_text = ${next.resultText}, escalations = ${next.escalations}, closed_at = ${next.closedAt}, updated_at = ${next.updatedAt}, change_seq = ${drawn.seq}
        WHERE id = ${id}`;
      await addEvent(tx, id, change.event);
      if (change.comment !== undefined) {
        await tx`INSERT INTO work_order_comments (order_id, seq, at, by, text)
          VALUES (${id}, (SELECT COALESCE(MAX(seq), 0) + 1 FROM work_order_comments WHERE order_id = ${id}), ${change.event.at}, ${change.event.by}, ${change.comment.text})`;
      }
      return next;
    });
  }

  async list(q: WorkOrderQuery): Promise<WorkOrderPage> {
    const limit = pageLimit(q.limit);
    const { where, args } = filterClauses(q, (n) => `$${n}`);
    const rows = await this.#db.run((sql) => sql.unsafe<Row[]>(`SELECT ${ORDER_COLUMNS} FROM work_orders ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`, args));
    return pageOf(rows.map((r) => orderOf(r, r.result)), limit);
  }

  async changesSince(seq: number, limit: number): Promise<WorkOrder[]> {
    const rows = await this.#db.run((sql) => sql<Row[]>`SELECT ${sql.unsafe(ORDER_COLUMNS)} FROM work_orders WHERE change_seq > ${seq}
      ORDER BY change_seq LIMIT ${pageLimit(limit)}`);
    return rows.map((r) => orderOf(r, r.result));
  }

  /** One write transaction under the work orders' advisory lock. */
  #write<T>(work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    return refusalsKept(this.#db, (sql: Sql) => sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_WORK_ORDERS})`;
      return work(tx);
    }) as Promise<T>);
  }
}

async function addEvent(tx: TransactionSql, id: string, e: WorkOrderEvent): Promise<void> {
  await tx`INSERT INTO work_order_events (order_id, seq, at, by, event, detail)
    VALUES (${id}, (SELECT COALESCE(MAX(seq), 0) + 1 FROM work_order_events WHERE order_id = ${id}), ${e.at}, ${e.by}, ${e.event}, ${e.detail})`;
}
