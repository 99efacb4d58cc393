/**
 * The work-order actions on the real work order service over the SQLite store, as the station
 * assembles it: an order opened once per step key, closed with a result its type's form checks,
 * escalated once per step however often the step runs, audited under the workflow's actor; bad
 * parameters refused with their name, and an aborted step acting on nothing.
 */
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkOrdersConfig } from '../../../../src/config/workOrders.js';
import { SqliteAuditLog } from '../../../../src/control/audit.js';
import { createLogger, LogThrottle } from '../../../../src/observe/logger.js';
import { openDatabase } from '../../../../src/storage/db.js';
import { WorkOrderResultInvalid } from '../../../../src/workOrders/errors.js';
import { createWorkOrders } from '../../../../src/workOrders/index.js';
import { SqliteWorkOrderStore } from '../../../../src/workOrders/sqliteStore.js';
import { ActionAbortedError, ActionParamError } from '../../../../src/workflows/actions/index.js';
import { workOrderCloseAction, workOrderCreateAction, workOrderEscalateAction } from '../../../../src/workflows/actions/workOrders.js';
import { stepContext, type StepOptions } from './context.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const T0 = Date.UTC(2026, 0, 5, 8);
const ACTOR = 'workflow:suspected-theft/i-1';
const operator = { subject: 'user:li', role: 'operator', via: 'session' } as const;

function station() {
  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  const audit = new SqliteAuditLog(db);
  let clock = T0;
  const service = createWorkOrders({
    config: { workOrders: Value.Default(WorkOrdersConfig, {}) as WorkOrdersConfig }, store: new SqliteWorkOrderStore(db), audit,
    logger: createLogger('silent'), throttle: new LogThrottle(60_000), now: () => ++clock,
  });
  const actions = { create: workOrderCreateAction(service), close: workOrderCloseAction(service), escalate: workOrderEscalateAction(service) };
  const run = (action: keyof typeof actions, params: Record<string, string>, o?: StepOptions) => actions[action].run(stepContext(params, o));
  const orders = async () => (await service.list(operator, { limit: 100 })).items;
  /** A field check opened by a step of its own. */
  const fieldCheck = async (stepKey: string) => (await run('create', { type: 'field-check', title: 'Check m-1' }, { stepKey })).workOrderId as string;
  return { service, audit, run, orders, fieldCheck };
}

describe('work-order actions on the work order service', () => {
  it('opens one order per step key, with the step as its source, however often the step runs', async () => {
    const s = station();
    const params = {
      type: 'field-check', title: 'Check meter m-1: cover opened', meterId: 'm-1', customer: 'acc-7', areaId: 'tx1', role: 'field',
      dueAt: '2026-01-05T12:00:00+08:00', alarmId: '17',
    };
    const first = await s.run('create', params, { stepKey: 'i-1:open-1' });
    expect(first).toEqual({ workOrderId: expect.any(String) as unknown, workOrderNumber: 'WO-000001' });
    // Run again (a restart before its output was recorded): the same order, nothing new.
    expect(await s.run('create', params, { stepKey: 'i-1:open-1' })).toEqual(first);
    const [order, ...others] = await s.orders();
    expect(others).toEqual([]);
    expect(order).toMatchObject({
      id: first.workOrderId, type: 'field-check', state: 'open', meterId: 'm-1', customer: 'acc-7', areaId: 'tx1', role: 'field', assignee: null,
      dueAt: Date.parse('2026-01-05T04:00:00Z'), alarmId: '17', source: { instanceId: 'i-1', processKey: 'suspected-theft', elementId: 'step' },
    });
    expect(await s.service.byKey('i-1:open-1')).toEqual(order);
    // Another step is another order, assigned at once when it names a person.
    expect(await s.run('create', { type: 'repair', title: 'Terminal t7 silent', assignee: 'zhang' }, { stepKey: 'i-1:open-2' })).toMatchObject({ workOrderNumber: 'WO-000002' });
    expect((await s.orders()).map((o) => [o.number, o.state])).toEqual([['WO-000002', 'assigned'], ['WO-000001', 'open']]);
    const audit = (await s.audit.query({ limit: 10, action: 'work-order.created' })).items;
    expect(audit.map((e) => e.actor)).toEqual([ACTOR, ACTOR]);
  });

  it('refuses a bad parameter naming it, and a type the station has not with the service\'s error', async () => {
    const s = station();
    for (const [params, param] of [
      [{ title: 'Check' }, 'type'],
      [{ type: 'field-check' }, 'title'],
      [{ type: 'field-check', title: 't'.repeat(201) }, 'title'],
      [{ type: 'field-check', title: 'Check', dueAt: 'tomorrow' }, 'dueAt'],
      [{ type: 'field-check', title: 'Check', dueAt: '2026-01-05T12:00:00' }, 'dueAt'],
    ] as const) {
      const err = await s.run('create', params).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ActionParamError);
      expect(err).toMatchObject({ code: 'WORKFLOW_ACTION_PARAM', action: 'work-order-create', param });
    }
    await expect(s.run('create', { type: 'photo', title: 'Check' })).rejects.toMatchObject({ code: 'UNKNOWN_WORK_ORDER_TYPE', field: 'type' });
    await expect(s.run('create', { type: 'field-check', title: 'Check', role: 'root' })).rejects.toMatchObject({ code: 'VALIDATION', field: 'role' });
    expect(await s.orders()).toEqual([]);
  });

  it('closes an order with an outcome its form takes, once, and refuses an outcome the form does not have', async () => {
    const s = station();
    const id = await s.fieldCheck('i-1:open-1');
    const closed = await s.run('close', { workOrderId: id, outcome: 'confirmed', resultText: 'cover broken, seal missing' }, { stepKey: 'i-1:close-1' });
    expect(closed).toEqual({ workOrderId: id, workOrderState: 'done' });
    expect(await s.service.get(id)).toMatchObject({ state: 'done', result: { outcome: 'confirmed' }, resultText: 'cover broken, seal missing' });
    // Run again: the closed order stays as it is, one completion in its history.
    expect(await s.run('close', { workOrderId: id, outcome: 'confirmed' }, { stepKey: 'i-1:close-1' })).toEqual(closed);
    const detail = await s.service.detail(operator, id);
    expect(detail.history.map((h) => [h.event, h.by])).toEqual([['created', ACTOR], ['completed', ACTOR]]);

    const other = await s.fieldCheck('i-1:open-2');
    const err = await s.run('close', { workOrderId: other, outcome: 'maybe' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkOrderResultInvalid);
    expect(err).toMatchObject({ code: 'WORK_ORDER_RESULT_INVALID', field: 'result.outcome' });
    expect(await s.service.get(other)).toMatchObject({ state: 'open', result: null });
    // A field-check's form requires its outcome: the service refuses the result and names the field.
    await expect(s.run('close', { workOrderId: other })).rejects.toMatchObject({ code: 'WORK_ORDER_RESULT_INVALID', field: 'result.outcome' });
    await expect(s.run('close', { workOrderId: 'no-such-order', outcome: 'confirmed' })).rejects.toMatchObject({ code: 'WORKFLOW_ACTION_PARAM', param: 'workOrderId' });
  });

  it('closes an order whose form has no outcome with the form\'s own fields, typed as the form says', async () => {
    const s = station();
    const id = (await s.run('create', { type: 'meter-replacement', title: 'Replace m-1' }, { stepKey: 'i-2:open-1' })).workOrderId as string;
    await s.run('close', { workOrderId: id, oldMeterId: 'm-1', newMeterId: 'm-1b', finalRead: '1234.5', initialRead: '0.2', resultText: 'swapped' }, { stepKey: 'i-2:close-1' });
    expect(await s.service.get(id)).toMatchObject({ state: 'done', result: { oldMeterId: 'm-1', newMeterId: 'm-1b', finalRead: 1234.5, initialRead: 0.2 }, resultText: 'swapped' });
    const other = (await s.run('create', { type: 'meter-replacement', title: 'Replace m-2' }, { stepKey: 'i-2:open-2' })).workOrderId as string;
    await expect(s.run('close', { workOrderId: other, newMeterId: 'm-2b', finalRead: 'lots', initialRead: '0' })).rejects.toMatchObject({ code: 'WORK_ORDER_RESULT_INVALID', field: 'result.finalRead' });
  });

  it('counts one escalation per step however often the step runs, and none on a closed order', async () => {
    const s = station();
    const id = await s.fieldCheck('i-1:open-1');
    const params = { workOrderId: id, reason: 'field check overdue' };
    expect(await s.run('escalate', params, { stepKey: 'i-1:escalate-1' })).toEqual({ workOrderId: id, escalations: 1 });
    // Run again (a restart before its output was recorded): still one.
    expect(await s.run('escalate', params, { stepKey: 'i-1:escalate-1' })).toEqual({ workOrderId: id, escalations: 1 });
    // The timer fired again: another step, another escalation.
    expect(await s.run('escalate', { workOrderId: id }, { stepKey: 'i-1:escalate-2' })).toEqual({ workOrderId: id, escalations: 2 });
    const detail = await s.service.detail(operator, id);
    expect(detail.history.filter((h) => h.event === 'escalated').map((h) => [h.by, h.detail])).toEqual([
      [ACTOR, 'field check overdue [step i-1:escalate-1]'], [ACTOR, 'overdue [step i-1:escalate-2]'],
    ]);
    expect((await s.audit.query({ limit: 10, action: 'work-order.escalated' })).items.map((e) => e.actor)).toEqual([ACTOR, ACTOR]);
    await s.run('close', { workOrderId: id, outcome: 'false-alarm' });
    expect(await s.run('escalate', params, { stepKey: 'i-1:escalate-3' })).toEqual({ workOrderId: id, escalations: 2 });
    await expect(s.run('escalate', { workOrderId: 'no-such-order' })).rejects.toMatchObject({ code: 'WORKFLOW_ACTION_PARAM', param: 'workOrderId' });
    await expect(s.run('escalate', {})).rejects.toMatchObject({ param: 'workOrderId' });
  });

  it('acts on nothing for a step already given up', async () => {
    const s = station();
    const aborted = { stepKey: 'i-1:open-1', signal: AbortSignal.abort() };
    const err = await s.run('create', { type: 'field-check', title: 'Check m-1' }, aborted).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionAbortedError);
    expect(err).toMatchObject({ code: 'WORKFLOW_ACTION_ABORTED', action: 'work-order-create' });
    expect(await s.orders()).toEqual([]);
    expect(await s.service.byKey('i-1:open-1')).toBeUndefined();
    const id = await s.fieldCheck('i-1:open-2');
    await expect(s.run('escalate', { workOrderId: id }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ActionAbortedError);
    await expect(s.run('close', { workOrderId: id, outcome: 'confirmed' }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ActionAbortedError);
    expect(await s.service.get(id)).toMatchObject({ state: 'open', escalations: 0 });
    expect((await s.audit.query({ limit: 10 })).items.map((e) => e.action)).toEqual(['work-order.created']);
  });
});
