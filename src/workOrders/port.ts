/**
 * What the workflow runtime and the workflow actions ask of work orders. The work order
 * service implements it; every call that makes something is idempotent by its key, so a step
 * run again after a restart or a failover finds the order it made the first time.
 */
import type { WorkOrder, WorkOrderResult, WorkOrderSpec } from './model.js';

export interface WorkOrderOpenRequest extends WorkOrderSpec {
  /** Idempotency: the step's key (`<instanceId>:<executionId>`). A second call with it answers the first order. */
  readonly key: string;
  /** `workflow:<process>/<instance>`, for the order's history and the audit trail. */
  readonly actor: string;
}

export interface WorkOrderPort {
  open(request: WorkOrderOpenRequest): Promise<WorkOrder>;
  byKey(key: string): Promise<WorkOrder | undefined>;
  get(id: string): Promise<WorkOrder | undefined>;
  /** Closes an order as done with a result, as a workflow step does (the work-order-close action). Closing a closed order changes nothing. */
  complete(id: string, result: WorkOrderResult, resultText: string | null, actor: string): Promise<WorkOrder>;
  /** Cancels an order unless already closed (a user task interrupted, an instance cancelled). */
  cancel(id: string, reason: string, actor: string): Promise<WorkOrder>;
  /**
   * Marks an overdue order escalated (count + history line); the process decides who is told.
   * With `key` (the step's key) an escalation the order's history already holds under that key
   * changes nothing, so a step run again after a restart counts once.
   */
  escalate(id: string, reason: string, actor: string, key?: string): Promise<WorkOrder>;
  /** Orders changed after `seq`, by changeSeq ascending: how the leader's runtime learns of orders done on any node. */
  changesSince(seq: number, limit: number): Promise<readonly WorkOrder[]>;
}
