/**
 * Work orders (工单): the jobs a person does in the field or at a desk, the business face of a
 * workflow's user tasks. Shared shapes of src/workOrders; the store, the service, the API and
 * the workflow runtime all speak these.
 */

/** open: nobody has it yet; assigned: a person has it; in-progress: started; done: closed with a result; cancelled: closed without one. */
export type WorkOrderState = 'open' | 'assigned' | 'in-progress' | 'done' | 'cancelled';
export const WORK_ORDER_STATES: readonly WorkOrderState[] = ['open', 'assigned', 'in-progress', 'done', 'cancelled'];

/** A structured result: the fields of the work order type's form (src/workOrders/types.ts). */
export type WorkOrderResult = Readonly<Record<string, string | number | boolean>>;

/** Where a work order came from when a workflow opened it (null when made by hand). */
export interface WorkOrderSource {
  readonly instanceId: string;
  readonly processKey: string;
  /** The user task's element id in the process. */
  readonly elementId: string;
}

export interface WorkOrderComment {
  readonly at: number;
  readonly by: string;
  readonly text: string;
}

/** One line of a work order's history: created, assigned, started, escalated, completed, cancelled, commented, reopened. */
export interface WorkOrderEvent {
  readonly at: number;
  readonly by: string;
  readonly event: 'created' | 'assigned' | 'started' | 'escalated' | 'completed' | 'cancelled' | 'commented';
  readonly detail: string | null;
}

export interface WorkOrder {
  readonly id: string;
  /** Human number, unique and increasing per station: `WO-000123`. */
  readonly number: string;
  /** A work order type of src/workOrders/types.ts: field-check, repair, meter-replacement, arrears, general. */
  readonly type: string;
  readonly title: string;
  readonly meterId: string | null;
  /** The customer (fee account id where the meter has one, else free text), null when unknown. */
  readonly customer: string | null;
  readonly areaId: string | null;
  /** The role whose members may take it (viewer, operator, admin, billing, field); null when only `assignee` may. */
  readonly role: string | null;
  /** A user name; null while unassigned. */
  readonly assignee: string | null;
  readonly dueAt: number | null;
  readonly state: WorkOrderState;
  readonly result: WorkOrderResult | null;
  /** Free text the crew wrote with the result. */
  readonly resultText: string | null;
  /** How many times the order was escalated for being overdue. */
  readonly escalations: number;
  readonly alarmId: string | null;
  readonly source: WorkOrderSource | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly closedAt: number | null;
  /** Increases on every change, station-wide: followers (the workflow runtime on the leader) read changes after a seq. */
  readonly changeSeq: number;
}

/** What describes a job before anyone works on it: the fields an order is opened with, by hand or by a workflow. */
export type WorkOrderSpec = Pick<WorkOrder, 'type' | 'title' | 'meterId' | 'customer' | 'areaId' | 'role' | 'assignee' | 'dueAt' | 'alarmId' | 'source'>;

export interface WorkOrderDetail extends WorkOrder {
  readonly comments: readonly WorkOrderComment[];
  readonly history: readonly WorkOrderEvent[];
}
