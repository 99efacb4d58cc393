/**
 * The work order service over the real stores (both drivers): opening by key for a workflow
 * step, the state machine and its refusals, result forms, who may see and do what (a field crew
 * only its own orders), history, audit and change listeners, and the CSV export's batches.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/auth/roles.js';
import { WorkOrdersConfig } from '../../../src/config/workOrders.js';
import type { AuditLog } from '../../../src/control/audit.js';
import type { WorkOrder } from '../../../src/workOrders/model.js';
import type { WorkOrderOpenRequest } from '../../../src/workOrders/port.js';
import { WorkOrderService } from '../../../src/workOrders/service.js';
import { Value } from 'typebox/value';
import { STORE_DRIVERS, auditLogOf, connectEachTest, disposeStoreDrivers, workOrderStoreOf } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2026, 0, 5, 8);
const operator: Principal = { subject: 'user:li', role: 'operator', via: 'session' };
const viewer: Principal = { subject: 'user:chen', role: 'viewer', via: 'session' };
const zhang: Principal = { subject: 'user:zhang', role: 'field', via: 'session' };
const wang: Principal = { subject: 'user:wang', role: 'field', via: 'session' };
const ACTOR = 'workflow:suspected-theft/i-1';

function openRequest(o: Partial<WorkOrderOpenRequest> = {}): WorkOrderOpenRequest {
  return {
    key: 'i-1:e-1', type: 'field-check', title: 'Check meter m1: cover opened', meterId: 'm1', customer: null, areaId: 'tx1', role: 'field', assignee: null,
    dueAt: T0 + 4 * 3_600_000, alarmId: '17', source: { instanceId: 'i-1', processKey: 'suspected-theft', elementId: 'check' }, actor: ACTOR, ...o,
  };
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('work order service on $name', (driver) => {
  const db = connectEachTest(driver);
  let service: WorkOrderService;
  let audit: AuditLog;
  let clock: number;
  let told: WorkOrder[];
  beforeEach(() => {
    clock = T0;
    told = [];
    audit = auditLogOf(db().connection);
    const limits = { ...Value.Default(WorkOrdersConfig, {}) as WorkOrdersConfig, maxComments: 2, exportBatch: 3 };
    service = new WorkOrderService({ store: workOrderStoreOf(db().connection), audit, limits, now: () => ++clock });
    service.onChange((o) => { told.push(o); });
  });

  it('opens one order per workflow step key, however often the step runs', async () => {
    const first = await service.open(openRequest());
    expect(first).toMatchObject({ number: 'WO-000001', state: 'open', type: 'field-check', role: 'field', alarmId: '17' });
    expect(await service.open(openRequest())).toEqual(first);
    expect(await service.byKey('i-1:e-1')).toEqual(first);
    await expect(service.open(openRequest({ type: 'repair' }))).rejects.toMatchObject({ code: 'WORK_ORDER_KEY_CONFLICT', status: 409 });
    expect(told.map((o) => o.id)).toEqual([first.id]);
    const withAssignee = await service.open(openRequest({ key: 'i-1:e-2', assignee: 'zhang' }));
    expect(withAssignee).toMatchObject({ number: 'WO-000002', state: 'assigned', assignee: 'zhang' });
    await expect(service.open(openRequest({ key: 'i-1:e-3', type: 'photo' }))).rejects.toMatchObject({ code: 'UNKNOWN_WORK_ORDER_TYPE', field: 'type' });
    await expect(service.open(openRequest({ key: 'i-1:e-3', role: 'root' }))).rejects.toMatchObject({ code: 'VALIDATION', field: 'role' });
    await expect(service.create(operator, { type: 'general', title: 'x'.repeat(201) })).rejects.toMatchObject({ code: 'VALIDATION', field: 'title' });
    // A step's title made from a long alarm text is cut, not refused: the process goes on.
    const long = await service.open(openRequest({ key: 'i-1:e-4', title: 'y'.repeat(500) }));
    expect(long.title).toBe(`${'y'.repeat(199)}…`);
    const entries = await audit.query({ limit: 10, action: 'work-order.created' });
    expect(entries.items.map((e) => [e.actor, e.target])).toEqual([[ACTOR, `work-order:${long.id}`], [ACTOR, `work-order:${withAssignee.id}`], [ACTOR, `work-order:${first.id}`]]);
  });

  it('walks open → assigned → in-progress → done with a history line and an audit line per step', async () => {
    const order = await service.create(operator, { type: 'repair', title: 'Terminal t7 silent', meterId: 'm7', areaId: 'tx2' });
    await service.assign(operator, order.id, 'zhang');
    await service.start(zhang, order.id);
    const done = await service.completeAs(zhang, order.id, { outcome: 'repaired', cause: 'antenna cable' }, 'replaced the cable');
    expect(done).toMatchObject({ state: 'done', result: { outcome: 'repaired', cause: 'antenna cable' }, resultText: 'replaced the cable', assignee: 'zhang' });
    expect(done.closedAt).not.toBeNull();
    const detail = await service.detail(operator, order.id);
    expect(detail.history.map((h) => [h.event, h.by, h.detail])).toEqual([
      ['created', 'user:li', null], ['assigned', 'user:li', 'zhang'], ['started', 'user:zhang', null], ['completed', 'user:zhang', 'outcome=repaired; cause=antenna cable'],
    ]);
    const actions = (await audit.query({ limit: 10, target: `work-order:${order.id}` })).items.map((e) => [e.action, e.actor]);
    expect(actions).toEqual([['work-order.completed', 'user:zhang'], ['work-order.started', 'user:zhang'], ['work-order.assigned', 'user:li'], ['work-order.created', 'user:li']]);
    expect(told.map((o) => o.state)).toEqual(['open', 'assigned', 'in-progress', 'done']);
  });

  it('refuses transitions the state machine does not have with a 409 naming the state', async () => {
    const order = await service.create(operator, { type: 'general', title: 'Tidy the cabinet' });
    await expect(service.start(operator, order.id)).rejects.toMatchObject({ code: 'WORK_ORDER_STATE', status: 409, state: 'open' });
    await service.assign(operator, order.id, 'zhang');
    await expect(service.completeAs(zhang, order.id, {}, null)).rejects.toMatchObject({ code: 'WORK_ORDER_STATE', state: 'assigned' });
    await service.start(zhang, order.id);
    await expect(service.start(zhang, order.id)).rejects.toMatchObject({ code: 'WORK_ORDER_STATE', state: 'in-progress' });
    await service.cancelAs(operator, order.id, 'duplicate of WO-000009');
    for (const attempt of [
      () => service.assign(operator, order.id, 'wang'), () => service.cancelAs(operator, order.id, 'again'), () => service.completeAs(operator, order.id, {}, null),
    ]) await expect(attempt()).rejects.toMatchObject({ code: 'WORK_ORDER_STATE', status: 409, state: 'cancelled' });
    // A workflow step run again after a restart closes nothing twice.
    const cancelled = await service.get(order.id);
    expect(await service.cancel(order.id, 'instance cancelled', ACTOR)).toEqual(cancelled);
    expect(await service.complete(order.id, { note: 'x' }, null, ACTOR)).toEqual(cancelled);
    expect(await service.escalate(order.id, 'overdue', ACTOR)).toEqual(cancelled);
    await expect(service.start(operator, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('lets a workflow close an open order from any state, escalate it, and cancel it', async () => {
    const a = await service.open(openRequest());
    const escalated = await service.escalate(a.id, 'overdue by 2 h', ACTOR);
    expect(escalated).toMatchObject({ escalations: 1, state: 'open' });
    expect((await service.escalate(a.id, 'overdue by 4 h', ACTOR)).escalations).toBe(2);
    const done = await service.complete(a.id, { outcome: 'false-alarm', sealIntact: true }, 'nothing found', ACTOR);
    expect(done).toMatchObject({ state: 'done', result: { outcome: 'false-alarm', sealIntact: true } });
    const b = await service.open(openRequest({ key: 'i-1:e-2' }));
    expect(await service.cancel(b.id, 'alarm cleared', ACTOR)).toMatchObject({ state: 'cancelled' });
    expect((await service.detail(operator, a.id)).history.map((h) => h.event)).toEqual(['created', 'escalated', 'escalated', 'completed']);
  });

  it('counts an escalation made under a step key once, however often the step runs', async () => {
    const order = await service.open(openRequest());
    expect((await service.escalate(order.id, 'field check overdue', ACTOR, 'i-1:e-7')).escalations).toBe(1);
    const again = await service.escalate(order.id, 'field check overdue', ACTOR, 'i-1:e-7');
    expect(again).toMatchObject({ escalations: 1 });
    // The next run of the timer is another step: it counts.
    expect((await service.escalate(order.id, 'field check overdue', ACTOR, 'i-1:e-9')).escalations).toBe(2);
    const history = (await service.detail(operator, order.id)).history.filter((h) => h.event === 'escalated');
    expect(history.map((h) => h.detail)).toEqual(['field check overdue [step i-1:e-7]', 'field check overdue [step i-1:e-9]']);
    expect((await audit.query({ limit: 10, action: 'work-order.escalated' })).items).toHaveLength(2);
    expect(told.filter((o) => o.escalations > 0).map((o) => o.escalations)).toEqual([1, 2]);
  });

  it('checks a result against its form and names the field at fault', async () => {
    const order = await service.open(openRequest({ type: 'meter-replacement', assignee: 'zhang' }));
    await service.start(zhang, order.id);
    const refused = async (result: Record<string, string | number | boolean>, field: string): Promise<void> => {
      await expect(service.completeAs(zhang, order.id, result, null)).rejects.toMatchObject({ code: 'WORK_ORDER_RESULT_INVALID', status: 400, field });
    };
    const good = { oldMeterId: 'm1', newMeterId: 'm1-new', finalRead: 10234.5, initialRead: 0.2 };
    await refused({ ...good, newMeterId: '' }, 'result.newMeterId');
    const { finalRead: _f, ...withoutFinal } = good;
    await refused(withoutFinal, 'result.finalRead');
    await refused({ ...good, initialRead: Number.NaN }, 'result.initialRead');
    await refused({ ...good, initialRead: Number.POSITIVE_INFINITY }, 'result.initialRead');
    await refused({ ...good, finalRead: '10234' }, 'result.finalRead');
    await refused({ ...good, replacedAt: 'yesterday' }, 'result.replacedAt');
    await refused({ ...good, photo: 'x.jpg' }, 'result.photo');
    await refused({ ...good, oldMeterId: 'm'.repeat(65) }, 'result.oldMeterId');
    expect((await service.get(order.id))?.state).toBe('in-progress');
    const done = await service.completeAs(zhang, order.id, { ...good, replacedAt: '2026-01-05T09:30:00+08:00' }, null);
    expect(done.result).toEqual({ ...good, replacedAt: '2026-01-05T09:30:00+08:00' });

    const check = await service.open(openRequest({ key: 'k2', assignee: 'zhang' }));
    await service.start(zhang, check.id);
    await expect(service.completeAs(zhang, check.id, { outcome: 'maybe' }, null)).rejects.toMatchObject({ field: 'result.outcome' });
    await expect(service.completeAs(zhang, check.id, { findings: 'cover scratched' }, null)).rejects.toMatchObject({ field: 'result.outcome' });
    await expect(service.completeAs(zhang, check.id, { outcome: 'confirmed', sealIntact: 'no' }, null)).rejects.toMatchObject({ field: 'result.sealIntact' });
    await expect(service.complete(check.id, { outcome: 'confirmed', findings: 'x'.repeat(4001) }, null, ACTOR)).rejects.toMatchObject({ field: 'result.findings' });
  });

  it('shows a field crew only its own orders and hides the others as if they did not exist', async () => {
    const own = await service.open(openRequest({ key: 'k1', assignee: 'zhang' }));
    const others = await service.open(openRequest({ key: 'k2', assignee: 'wang' }));
    const unassigned = await service.open(openRequest({ key: 'k3' }));
    expect((await service.list(zhang, { limit: 10 })).items.map((o) => o.id)).toEqual([own.id]);
    expect((await service.list(zhang, { limit: 10, assignee: 'wang' })).items).toEqual([]);
    expect((await service.list(viewer, { limit: 10 })).items).toHaveLength(3);
    expect((await service.detail(zhang, own.id)).id).toBe(own.id);
    for (const id of [others.id, unassigned.id]) {
      await expect(service.detail(zhang, id)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
      await expect(service.start(zhang, id)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
      await expect(service.comment(zhang, id, 'mine?')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    }
    await expect(service.create(zhang, { type: 'general', title: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    await expect(service.assign(zhang, own.id, 'zhang')).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    await expect(service.cancelAs(zhang, own.id, 'no time')).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    await service.start(zhang, own.id);
    await expect(service.completeAs(wang, own.id, { outcome: 'confirmed' }, null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await service.completeAs(zhang, own.id, { outcome: 'confirmed' }, 'cover broken')).toMatchObject({ state: 'done' });
    // A viewer reads all but works on none that is not its own.
    await expect(service.comment(viewer, others.id, 'hello')).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    // A field token names no person: it sees nothing.
    expect((await service.list({ subject: 'token:zhang', role: 'field', via: 'token' }, { limit: 10 })).items).toEqual([]);
  });

  it('keeps comments from the assignee and operators, up to workOrders.maxComments', async () => {
    const order = await service.open(openRequest({ assignee: 'zhang' }));
    await service.comment(zhang, order.id, '  on my way  ');
    await service.comment(operator, order.id, 'customer calls back at 3');
    await expect(service.comment(operator, order.id, 'one more')).rejects.toMatchObject({ code: 'WORK_ORDER_COMMENTS_FULL', status: 409 });
    await expect(service.comment(zhang, order.id, ' ')).rejects.toMatchObject({ code: 'VALIDATION', field: 'text' });
    const detail = await service.detail(zhang, order.id);
    expect(detail.comments.map((c) => [c.by, c.text])).toEqual([['user:zhang', 'on my way'], ['user:li', 'customer calls back at 3']]);
  });

  it('exports every order the filter matches, batch by batch, newest first', async () => {
    const made: WorkOrder[] = [];
    for (let i = 0; i < 8; i++) made.push(await service.open(openRequest({ key: `k${i}`, assignee: i % 2 === 0 ? 'zhang' : 'wang', areaId: i < 6 ? 'tx1' : 'tx2' })));
    const batches: string[][] = [];
    for await (const batch of service.export(operator, { areaId: 'tx1' })) batches.push(batch.map((o) => o.number));
    expect(batches).toEqual([['WO-000006', 'WO-000005', 'WO-000004'], ['WO-000003', 'WO-000002', 'WO-000001']]);
    const own: string[] = [];
    for await (const batch of service.export(zhang, {})) own.push(...batch.map((o) => o.number));
    expect(own).toEqual(['WO-000007', 'WO-000005', 'WO-000003', 'WO-000001']);
  });
});
