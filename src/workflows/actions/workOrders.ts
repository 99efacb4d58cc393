/**
 * The work-order actions: open one (`work-order-create`, keyed by the step, so the step run
 * again finds the order it opened), close one with a result (`work-order-close`; closing a
 * closed order changes nothing) and mark one escalated (`work-order-escalate`, keyed by the
 * step too, so the step run again counts one escalation). Through the work-order port the
 * runtime also uses, so orders a process opens here are the same orders its user tasks open.
 */
import type { WorkOrder, WorkOrderResult } from '../../workOrders/model.js';
import type { WorkOrderPort } from '../../workOrders/port.js';
import { workOrderType } from '../../workOrders/types.js';
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
    description: 'Closes a work order as done with its result: every other parameter is a field of the order type\'s result form (outcome, note, finalRead…); a closed order stays as it is.',
    params: [
      { name: 'workOrderId', required: true, description: 'The work order.' },
      { name: 'outcome', required: false, description: 'The form\'s `outcome` field, where the type has one (field-check, repair, arrears); any other form field is given by its name the same way.' },
      { name: 'resultText', required: false, description: 'Words kept with the result.' },
    ],
    async run(context) {
      const p = new Params(name, context);
      const id = p.text('workOrderId', 64);
      const resultText = p.optionalText('resultText') ?? null;
      checkNotAborted(name, context.signal);
      const order = await known(orders, name, id);
      const result = resultOf(order.type, context.params);
      const closed = await orders.complete(id, result, resultText, context.actor);
      return { workOrderId: closed.id, workOrderState: closed.state };
    },
  };
}

/**
 * The result fields among a close step's parameters, typed by the order type's form: parameters
 * arrive as text, so a number field's text becomes a number and a boolean's `true`/`false` a
 * boolean; anything else stays text, and the service checks the whole result against the form.
 */
function resultOf(type: string, params: Readonly<Record<string, string>>): WorkOrderResult {
  const fields = workOrderType(type)?.fields ?? [];
  const result: Record<string, string | number | boolean> = {};
  for (const [key, raw] of Object.entries(params)) {
    const value = raw.trim();
    if (key === 'workOrderId' || key === 'resultText' || value === '') continue;
    const kind = fields.find((f) => f.name === key)?.kind;
    result[key] = kind === 'number' ? Number(value) : kind === 'boolean' && (value === 'true' || value === 'false') ? value === 'true' : value;
  }
  return result;
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

async function known(orders: WorkOrderActionsPort, action: string, id: string): Promise<WorkOrder> {
  const order = await orders.get(id);
  if (order === undefined) throw new ActionParamError(action, 'workOrderId', `names no work order: ${JSON.stringify(id)}`);
  return order;
}
