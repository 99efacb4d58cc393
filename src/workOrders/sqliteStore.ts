/**
 * The work order store (src/workOrders/store.ts) in the embedded SQLite file, migration 23.
 * better-sqlite3 is synchronous and the file has one writer: each write draws its numbers
 * from work_order_counters inside its own transaction, so they are given once and in order.
 */
import type { Statement } from 'better-sqlite3';
import { settled, type Db } from '../storage/db.js';
import type { WorkOrder, WorkOrderDetail, WorkOrderEvent, WorkOrderResult } from './model.js';
import { ORDER_COLUMNS, commentOf, eventOf, newOrderParams, orderOf, patched, type CommentRow, type EventRow, type OrderRow } from './rows.js';
import {
  pageLimit, pageOf, workOrderNumber,
  type ChangeDecision, type InsertedWorkOrder, type NewWorkOrder, type WorkOrderPage, type WorkOrderQuery, type WorkOrderStore,
} from './store.js';
import { filterClauses } from './query.js';

type Row = OrderRow & { result: string | null };

export class SqliteWorkOrderStore implements WorkOrderStore {
  readonly #get: Statement<[string], Row>;
  readonly #byKey: Statement<[string], Row>;
  readonly #next: Statement<[string], { value: number }>;
  readonly #insert: Statement<[Record<string, unknown>]>;
  readonly #event: Statement<[string, string, number, string, string, string | null]>;
  readonly #comment: Statement<[string, string, number, string, string]>;
  readonly #comments: Statement<[string], CommentRow>;
  readonly #commentCount: Statement<[string], { n: number }>;
  readonly #events: Statement<[string], EventRow>;
  readonly #update: Statement<[Record<string, unknown>]>;

  constructor(private readonly db: Db) {
    this.#get = db.prepare(`SELECT ${ORDER_COLUMNS} FROM work_orders WHERE id = ?`);
    this.#byKey = db.prepare(`SELECT ${ORDER_COLUMNS} FROM work_orders WHERE key = ?`);
    this.#next = db.prepare('UPDATE work_order_counters SET value = value + 1 WHERE name = ? RETURNING value');
    this.#insert = db.prepare(`INSERT INTO work_orders (${ORDER_COLUMNS}) VALUES (@id, @number, @key, @type, @title, @meter_id, @customer, @area_id, @role,
      @assignee, @due_at, @state, NULL, @result_text, @escalations, @alarm_id, @source_instance_id, @source_process_key, @source_element_id,
      @created_at, @updated_at, @closed_at, @change_seq)`);
    // seq: one more than the order's last line, so history and comments read in the order written.
    this.#event = db.prepare(`INSERT INTO work_order_events (order_id, seq, at, by, event, detail)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM work_order_events WHERE order_id = ?), ?, ?, ?, ?)`);
    this.#comment = db.prepare(`INSERT INTO work_order_comments (order_id, seq, at, by, text)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM work_order_comments WHERE order_id = ?), ?, ?, ?)`);
    this.#comments = db.prepare('SELECT at, by, text FROM work_order_comments WHERE order_id = ? ORDER BY seq');
    this.#commentCount = db.prepare('SELECT COUNT(*) AS n FROM work_order_comments WHERE order_id = ?');
    this.#events = db.prepare('SELECT at, by, event, detail FROM work_order_events WHERE order_id = ? ORDER BY seq');
    this.#update = db.prepare(`UPDATE work_orders SET assignee = @assignee, state = @state, result = @result, result_text = @result_text,
      escalations = @escalations, closed_at = @closed_at, updated_at = @updated_at, change_seq = @change_seq WHERE id = @id`);
  }

  insert(order: NewWorkOrder, by: string): Promise<InsertedWorkOrder> {
    return settled(() => this.db.transaction((): InsertedWorkOrder => {
      if (order.key !== null) {
        const existing = this.#byKey.get(order.key);
        if (existing !== undefined) return { order: fromRow(existing), created: false };
      }
      const number = workOrderNumber(this.#draw('number'));
      const changeSeq = this.#draw('change');
      this.#insert.run({ ...newOrderParams(order), number, change_seq: changeSeq });
      this.#addEvent(order.id, { at: order.createdAt, by, event: 'created', detail: null });
      const stored = this.#get.get(order.id);
      if (stored === undefined) throw new Error(`work order ${order.id} not read back after its insert`);
      return { order: fromRow(stored), created: true };
    })());
  }

  get(id: string): Promise<WorkOrder | undefined> {
    return settled(() => {
      const row = this.#get.get(id);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  byKey(key: string): Promise<WorkOrder | undefined> {
    return settled(() => {
      const row = this.#byKey.get(key);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  detail(id: string): Promise<WorkOrderDetail | undefined> {
    return settled(() => this.db.transaction(() => {
      const row = this.#get.get(id);
      if (row === undefined) return undefined;
      return { ...fromRow(row), comments: this.#comments.all(id).map(commentOf), history: this.#events.all(id).map(eventOf) };
    })());
  }

  change(id: string, decide: ChangeDecision): Promise<WorkOrder | undefined> {
    return settled(() => this.db.transaction((): WorkOrder | undefined => {
      const row = this.#get.get(id);
      if (row === undefined) return undefined;
      const current = fromRow(row);
      const change = decide(current, this.#commentCount.get(id)?.n ?? 0, this.#events.all(id).map(eventOf));
      if (change === null) return current;
      const seq = this.#draw('change');
      const next = patched(current, change.patch, change.event.at, seq);
      this.#update.run({
        id, assignee: next.assignee, state: next.state, result: next.result === null ? null : JSON.stringify(next.result), result_text: next.resultText,
        escalations: next.escalations, closed_at: next.closedAt, updated_at: next.updatedAt, change_seq: seq,
      });
      this.#addEvent(id, change.event);
      if (change.comment !== undefined) this.#comment.run(id, id, change.event.at, change.event.by, change.comment.text);
      return next;
    })());
  }

  list(q: WorkOrderQuery): Promise<WorkOrderPage> {
    return settled(() => {
      const limit = pageLimit(q.limit);
      const { where, args } = filterClauses(q, () => '?');
      const rows = this.db.prepare(`SELECT ${ORDER_COLUMNS} FROM work_orders ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args, limit + 1) as Row[];
      return pageOf(rows.map(fromRow), limit);
    });
  }

  changesSince(seq: number, limit: number): Promise<WorkOrder[]> {
    return settled(() => (this.db.prepare(`SELECT ${ORDER_COLUMNS} FROM work_orders WHERE change_seq > ? ORDER BY change_seq LIMIT ?`)
      .all(seq, pageLimit(limit)) as Row[]).map(fromRow));
  }

  #draw(counter: 'number' | 'change'): number {
    const row = this.#next.get(counter);
    if (row === undefined) throw new Error(`work_order_counters has no ${counter} row (migration 23 adds it)`);
    return row.value;
  }

  #addEvent(id: string, e: WorkOrderEvent): void {
    this.#event.run(id, id, e.at, e.by, e.event, e.detail);
  }
}

function fromRow(row: Row): WorkOrder {
  return orderOf(row, row.result === null ? null : JSON.parse(row.result) as WorkOrderResult);
}
