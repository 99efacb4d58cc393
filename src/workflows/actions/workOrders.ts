/**
 * The work-order actions: open one (`work-order-create`, keyed by the step, so the step run
 * again finds the order it opened), close one with a result (`work-order-close`; closing a
 * closed order changes nothing) and mark one escalated (`work-order-escalate`, keyed by the
 * step too, so the step run again counts one escalation). Through the work-order port the
 * runtime also uses, so orders a process opens here are the same orders its user tasks open.
 */
import type { WorkOrderPort } from '../../workOrders/port.js';
import type { WorkflowAction } from '../model.js';
import { ActionParamError, checkNotAborted, Params } from './params.js';

export type WorkOrderActionsPort = Pick<WorkOrderPort, 'open' | 'get' | 'complete' | 'escalate'>;

export function workOrderCreateAction(orders: WorkOrderActionsPort): WorkflowAction {
  const name = 'work-order-create';
  return {
    name,
    description: 'Opens a work order (no user task waits on it); the step\'s key makes it once.',
    params: [
      { name: 'type', required: true, description: 'A work order type: field-check, repair, meter-replacement, arrears, general.' },
      { name: 'title', required: true, description: 'What is to be done, in a line.' },
      { name: 'meterId', required: false, description: 'The meter it is about.' },
      { name: 'customer', required: false, description: 'The customer (fee account id or free text).' },
      { name: 'areaId', required: false, description: 'The area it is in.' },
      { name: 'role', required: false, description: 'The role whose members may take it.' },
      { name: 'assignee', required: false, description: 'The user it is for.' },
      { name: 'dueAt', required: false, description: 'When it is due, an ISO 8601 date-time.' },
      { name: 'alarmId', required: false, description: 'The alarm it answers.' },
    ],
    async run(context) {
      const p = new Params(name, context);
      const request = {
        key: context.stepKey, type: p.text('type', 64), title: p.text('title', 200),
        meterId: p.optionalText('meterId', 64) ?? null, customer: p.optionalText('customer', 200) ?? null, areaId: p.optionalText('areaId', 64) ?? null,
        role: p.optionalText('role', 64) ?? null, assignee: p.optionalText('assignee', 64) ?? null, dueAt: p.optionalTime('dueAt') ?? null,
        alarmId: p.optionalText('alarmId', 64) ?? null,
        source: { instanceId: context.instanceId, processKey: context.processKey, elementId: context.elementId }, actor: context.actor,
      };
      checkNotAborted(name, context.signal);
      const order = await orders.open(request);
      return { workOrderId: order.id, workOrderNumber: order.number };
    },
  };
}

export function workOrderCloseAction(orders: WorkOrderActionsPort): WorkflowAction {
  const name = 'work-order-close';
  return {
    name,
    description: 'Closes a work order as done with an outcome; a closed order stays as it is.',
    params: [
      { name: 'workOrderId', required: true, description: 'The work order.' },
      { name: 'outcome', required: true, description: 'The result recorded as its `outcome` field.' },
      { name: 'resultText', required: false, description: 'Words kept with the result.' },
    ],
    async run(context) {
      const p = new Params(name, context);
      const id = p.text('workOrderId', 64);
      const outcome = p.text('outcome', 200);
      const resultText = p.optionalText('resultText') ?? null;
      checkNotAborted(name, context.signal);
      await known(orders, name, id);
      const order = await orders.complete(id, { outcome }, resultText, context.actor);
      return { workOrderId: order.id, workOrderState: order.state };
    },
  };
}

export function workOrderEscalateAction(orders: WorkOrderActionsPort): WorkflowAction {
  const name = 'work-order-escalate';
  return {
    name,
    description: 'Marks a work order escalated (overdue); who is told is the process\'s next step.',
    params: [
      { name: 'workOrderId', required: true, description: 'The work order.' },
      { name: 'reason', required: false, description: 'Why (default: overdue).' },
    ],
    async run(context) {
      const p = new Params(name, context);
      const id = p.text('workOrderId', 64);
      const reason = p.optionalText('reason') ?? 'overdue';
      checkNotAborted(name, context.signal);
      await known(orders, name, id);
      const order = await orders.escalate(id, reason, context.actor, context.stepKey);
      return { workOrderId: order.id, escalations: order.escalations };
    },
  };
}

async function known(orders: WorkOrderActionsPort, action: string, id: string): Promise<void> {
  if (await orders.get(id) === undefined) throw new ActionParamError(action, 'workOrderId', `names no work order: ${JSON.stringify(id)}`);
}
