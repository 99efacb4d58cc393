/**
 * Where work orders are kept: the orders, their comments and their history. `WorkOrderStore` is
 * the port the service uses; src/workOrders/sqliteStore.ts is the embedded implementation
 * (migration 23), src/workOrders/postgresStore.ts the PostgreSQL one (migration 30).
 *
 * Every write is one transaction that draws the next station-wide `change_seq` and appends a
 * history line. Writes are serialised (one writer on SQLite, a transaction-scoped advisory lock
 * on PostgreSQL), so change numbers become visible in order: a follower reading
 * `changesSince(seq)` never skips an order committed late under a lower number.
 */
import type { WorkOrder, WorkOrderDetail, WorkOrderEvent, WorkOrderResult, WorkOrderSpec, WorkOrderState } from './model.js';

/** Cap of one page of orders (a list, an export batch, a follower's read of changes). */
export const MAX_WORK_ORDER_PAGE = 1000;

/** An order to store: the store gives it its number, its change number and its first history line. */
export interface NewWorkOrder extends WorkOrderSpec {
  readonly id: string;
  /** Idempotency key of a workflow step; null for orders made by hand. */
  readonly key: string | null;
  readonly state: WorkOrderState;
  readonly createdAt: number;
}

/** An order `insert` was given: the one it stored, or the one the key had already (`created` false). */
export interface InsertedWorkOrder {
  readonly order: WorkOrder;
  readonly created: boolean;
}

/** The fields a change may set. */
export interface WorkOrderPatch {
  readonly assignee?: string | null;
  readonly state?: WorkOrderState;
  readonly result?: WorkOrderResult | null;
  readonly resultText?: string | null;
  readonly escalations?: number;
  readonly closedAt?: number | null;
}

/** What a change does to an order: its fields, its history line, and perhaps a comment. */
export interface WorkOrderChange {
  readonly patch: WorkOrderPatch;
  readonly event: WorkOrderEvent;
  readonly comment?: { readonly text: string };
}

/**
 * Decides the change from the order as it is inside the write's transaction (with its comment
 * count and its history, oldest first): a change, null for none (the order is answered
 * unchanged), or a thrown refusal (a DomainError) that rolls the write back. Pure: it may run
 * on a node where the order changed a moment ago.
 */
export type ChangeDecision = (current: WorkOrder, comments: number, history: readonly WorkOrderEvent[]) => WorkOrderChange | null;

export interface WorkOrderFilter {
  readonly areaId?: string;
  readonly state?: WorkOrderState;
  readonly assignee?: string;
  readonly role?: string;
  readonly type?: string;
  readonly meterId?: string;
}

export interface WorkOrderQuery extends WorkOrderFilter {
  /** The `next` of the previous page. */
  readonly after?: WorkOrderCursor;
  readonly limit: number;
}

/** Where a page ended: orders come newest first by (createdAt, id). */
export interface WorkOrderCursor {
  readonly createdAt: number;
  readonly id: string;
}

export interface WorkOrderPage {
  readonly items: WorkOrder[];
  readonly next: WorkOrderCursor | null;
}

export interface WorkOrderStore {
  /** Stores a new order with its `created` history line; with a key already used, answers the order it made. */
  insert(order: NewWorkOrder, by: string): Promise<InsertedWorkOrder>;
  get(id: string): Promise<WorkOrder | undefined>;
  byKey(key: string): Promise<WorkOrder | undefined>;
  /** The order with its comments and history, oldest first. */
  detail(id: string): Promise<WorkOrderDetail | undefined>;
  /** Applies what `decide` makes of the current order; undefined when there is no such order. */
  change(id: string, decide: ChangeDecision): Promise<WorkOrder | undefined>;
  /** Newest first, filtered, one page. */
  list(query: WorkOrderQuery): Promise<WorkOrderPage>;
  /** Orders with changeSeq > `seq`, by changeSeq ascending. */
  changesSince(seq: number, limit: number): Promise<WorkOrder[]>;
}

/** The number shown to people: `WO-000123`, from the station-wide sequence. */
export function workOrderNumber(n: number): string {
  return `WO-${String(n).padStart(6, '0')}`;
}

/** `limit` within 1 … MAX_WORK_ORDER_PAGE. */
export function pageLimit(limit: number): number {
  return Math.max(1, Math.min(MAX_WORK_ORDER_PAGE, Math.floor(limit)));
}

/** The page of `limit` orders out of `rows` (read one longer, which tells whether another page exists). */
export function pageOf(rows: readonly WorkOrder[], limit: number): WorkOrderPage {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? { createdAt: last.createdAt, id: last.id } : null };
}
