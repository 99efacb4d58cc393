/**
 * Work orders as both stores hold them (snake_case columns) and back; the result is JSON text
 * on SQLite and jsonb on PostgreSQL, so each store hands `orderOf` the parsed value.
 */
import type { WorkOrder, WorkOrderComment, WorkOrderEvent, WorkOrderResult, WorkOrderState } from './model.js';
import type { NewWorkOrder, WorkOrderPatch } from './store.js';

export interface OrderRow {
  id: string;
  number: string;
  key: string | null;
  type: string;
  title: string;
  meter_id: string | null;
  customer: string | null;
  area_id: string | null;
  role: string | null;
  assignee: string | null;
  due_at: number | null;
  state: WorkOrderState;
  result_text: string | null;
  escalations: number;
  alarm_id: string | null;
  source_instance_id: string | null;
  source_process_key: string | null;
  source_element_id: string | null;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  change_seq: number;
}

export interface CommentRow { at: number; by: string; text: string }
export interface EventRow { at: number; by: string; event: WorkOrderEvent['event']; detail: string | null }

export const ORDER_COLUMNS = 'id, number, key, type, title, meter_id, customer, area_id, role, assignee, due_at, state, result, result_text, escalations, alarm_id, source_instance_id, source_process_key, source_element_id, created_at, updated_at, closed_at, change_seq';

export function orderOf(row: OrderRow, result: WorkOrderResult | null): WorkOrder {
  return {
    id: row.id, number: row.number, type: row.type, title: row.title, meterId: row.meter_id, customer: row.customer, areaId: row.area_id,
    role: row.role, assignee: row.assignee, dueAt: row.due_at, state: row.state, result, resultText: row.result_text, escalations: row.escalations,
    alarmId: row.alarm_id,
    source: row.source_instance_id === null || row.source_process_key === null || row.source_element_id === null
      ? null : { instanceId: row.source_instance_id, processKey: row.source_process_key, elementId: row.source_element_id },
    createdAt: row.created_at, updatedAt: row.updated_at, closedAt: row.closed_at, changeSeq: row.change_seq,
  };
}

/** The columns of a new order, without its number, result and change number (the store draws those). */
export function newOrderParams(o: NewWorkOrder): Record<string, string | number | null> {
  return {
    id: o.id, key: o.key, type: o.type, title: o.title, meter_id: o.meterId, customer: o.customer, area_id: o.areaId, role: o.role,
    assignee: o.assignee, due_at: o.dueAt, state: o.state, result_text: null, escalations: 0, alarm_id: o.alarmId,
    source_instance_id: o.source?.instanceId ?? null, source_process_key: o.source?.processKey ?? null, source_element_id: o.source?.elementId ?? null,
    created_at: o.createdAt, updated_at: o.createdAt, closed_at: null,
  };
}

/** The order after `patch`, at `at` with change number `seq`. */
export function patched(order: WorkOrder, patch: WorkOrderPatch, at: number, seq: number): WorkOrder {
  return { ...order, ...patch, updatedAt: at, changeSeq: seq };
}

export const commentOf = (r: CommentRow): WorkOrderComment => ({ at: r.at, by: r.by, text: r.text });
export const eventOf = (r: EventRow): WorkOrderEvent => ({ at: r.at, by: r.by, event: r.event, detail: r.detail });
