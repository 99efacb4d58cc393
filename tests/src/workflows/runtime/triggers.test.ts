/**
 * Workflow triggers: an alarm raised by rule starts its process once, however often the same
 * alarm is raised or updated; an alarm clearing wakes the instance it started; a fee decision
 * starts fee recovery once per account; a payment wakes the instances of its account.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Alarm } from '../../../../src/domain/alarm.js';
import { areaId, meterId } from '../../../../src/domain/ids.js';
import { LogThrottle, createLogger } from '../../../../src/observe/logger.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { WorkflowRuntime } from '../../../../src/workflows/runtime/runtime.js';
import { SqliteWorkflowInstanceStore } from '../../../../src/workflows/runtime/sqliteStore.js';
import { WorkflowTriggers } from '../../../../src/workflows/runtime/triggers.js';
import type { WorkflowTrigger } from '../../../../src/config/workflows.js';
import { EffectLog, FixtureDefinitions, FixtureWorkOrders, fixtureActions, stored } from '../../../helpers/workflowFixtures.js';
import { CHECK, PAY } from './processes.js';

const logger = createLogger('silent');

function alarm(id: string, o: Partial<Alarm> = {}): Alarm {
  return {
    id, ruleId: 'cover', detector: 'meter-cover-open', subject: { kind: 'meter', id: meterId('m-1') },
    areaId: areaId('a-north'), severity: 'major', state: 'raised', raisedAt: 1, since: 1, acknowledgedAt: null, acknowledgedBy: null,
    clearedAt: null, explanation: 'cover opened', clearExplanation: null, explanationData: null, clearExplanationData: null, value: 1, comments: [], ...o,
  };
}

describe('workflow triggers', () => {
  let db: Db | undefined;
  let runtime: WorkflowRuntime | undefined;
  afterEach(async () => {
    await runtime?.end();
    db?.close();
  });

  async function setUp(triggers: WorkflowTrigger[], feeAccountMeters?: (accountId: string) => Promise<readonly string[]>) {
    db = openDatabase(':memory:');
    const store = new SqliteWorkflowInstanceStore(db);
    const definitions = new FixtureDefinitions();
    definitions.deploy('check', CHECK);
    definitions.deploy('pay', PAY);
    const orders = new FixtureWorkOrders();
    runtime = new WorkflowRuntime({
      store, definitions, actions: fixtureActions(new EffectLog()), workOrders: orders, logger, throttle: new LogThrottle(60_000),
      config: { pollMs: 60_000, changesPerPoll: 100, maxRunning: 100, maxHistoryPerInstance: 100, maxVariablesBytes: 65_536, variables: { commLossWait: 'PT4H' } },
    });
    await runtime.begin();
    const t = new WorkflowTriggers({ runtime, triggers, logger, throttle: new LogThrottle(60_000), inArea: (area, root) => area === root || area === `${root}-sub`, ...(feeAccountMeters === undefined ? {} : { feeAccountMeters }) });
    return { store, orders, t };
  }

  it('starts a process once per alarm, with the alarm as variables, and wakes it when the alarm clears', async () => {
    const { store, orders, t } = await setUp([{ process: 'check', on: 'alarm', rules: [], detectors: ['meter-cover-open'], severities: ['major', 'critical'], areas: ['a-north'] }]);
    await t.alarmChanged({ kind: 'raised', alarm: alarm('al-1') });
    await t.alarmChanged({ kind: 'raised', alarm: alarm('al-1') });
    await t.alarmChanged({ kind: 'updated', alarm: alarm('al-1', { value: 2 }) });
    await t.alarmChanged({ kind: 'raised', alarm: alarm('al-2', { severity: 'minor' }) });
    await t.alarmChanged({ kind: 'raised', alarm: alarm('al-3', { areaId: areaId('a-south') }) });
    const { items } = await store.list({});
    expect(items).toHaveLength(1);
    const [instance] = items;
    expect(instance).toMatchObject({
      trigger: { kind: 'alarm', ref: 'al-1' }, businessKey: 'm-1',
      variables: { alarmId: 'al-1', meterId: 'm-1', areaId: 'a-north', detector: 'meter-cover-open', severity: 'major', value: 1, explanation: 'cover opened', commLossWait: 'PT4H' },
    });
    const id = instance?.id ?? '';
    await stored(store, id, (i) => i.waiting.some((w) => w.elementId === 'visit' && w.detail !== null));
    expect([...orders.orders.values()][0]?.alarmId).toBe('al-1');

    await t.alarmChanged({ kind: 'cleared', alarm: alarm('al-1', { state: 'cleared', clearedAt: 5 }) });
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done.variables).toMatchObject({ alarmCleared: true, alarmClearedAt: 5 });
    expect([...orders.orders.values()][0]?.state).toBe('cancelled');
  });

  it('starts a process only for the rules named, when rules are given (one detector serves several rules)', async () => {
    const { store, t } = await setUp([{ process: 'check', on: 'alarm', rules: ['cover'], detectors: [], severities: [], areas: [] }]);
    await t.alarmChanged({ kind: 'raised', alarm: alarm('al-power-down', { ruleId: 'power-down' }) });
    await t.alarmChanged({ kind: 'raised', alarm: alarm('al-cover') });
    expect((await store.list({})).items.map((i) => i.trigger.ref)).toEqual(['al-cover']);
  });

  it('starts fee recovery from the configured decisions, one running per account, and wakes it on a payment', async () => {
    const { store, t } = await setUp([{ process: 'pay', on: 'fee', actions: ['warn-second'] }]);
    const decision = { seq: 1, accountId: 'acc-1', at: 1, action: 'warn-second', reason: 'below-second-warning', message: '', balanceMinor: -10 } as const;
    await t.feeDecided(decision);
    await t.feeDecided({ ...decision, seq: 2 });
    await t.feeDecided({ ...decision, seq: 3, accountId: 'acc-2', action: 'warn-first' });
    const { items } = await store.list({});
    expect(items.map((i) => i.variables)).toMatchObject([{ accountId: 'acc-1', feeAction: 'warn-second', balanceMinor: -10 }]);
    const id = items[0]?.id ?? '';
    await stored(store, id, (i) => i.waiting.some((w) => w.elementId === 'notice' && w.detail !== null));
    const entry = { seq: 9, accountId: 'acc-1', kind: 'payment', amountMinor: 500, currency: 'CNY', key: 'payment:p1', at: 2, actor: 'x', paymentId: 'p1' } as const;
    t.booked({ ...entry, accountId: 'acc-9' });
    t.booked({ ...entry, kind: 'adjustment' });
    expect((await store.get(id))?.status).toBe('running');
    t.booked(entry);
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done.variables).toMatchObject({ paidMinor: 500 });
    expect((await store.history(id)).map((h) => `${h.elementId}:${h.event}`)).toContain('paid:end');
    // A later arrears episode of the same account starts fee recovery again.
    await t.feeDecided({ ...decision, seq: 20 });
    expect((await store.list({ businessKey: 'acc-1' })).items.map((i) => i.status).sort()).toEqual(['completed', 'running']);
  });

  it('gives a fee decision\'s process the account\'s meter, and only the list when the account has several', async () => {
    const meters: Record<string, string[]> = { 'acc-1': ['m-1'], 'acc-2': ['m-2', 'm-3'] };
    const { store, t } = await setUp([{ process: 'pay', on: 'fee', actions: ['warn-second'] }], (id) => Promise.resolve(meters[id] ?? []));
    const decision = { seq: 1, accountId: 'acc-1', at: 1, action: 'warn-second', reason: 'below-second-warning', message: '', balanceMinor: -10 } as const;
    await t.feeDecided(decision);
    await t.feeDecided({ ...decision, seq: 2, accountId: 'acc-2' });
    const variables = (await store.list({})).items.map((i) => i.variables);
    expect(variables.find((v) => v.accountId === 'acc-1')).toMatchObject({ meterId: 'm-1', meterIds: ['m-1'] });
    const several = variables.find((v) => v.accountId === 'acc-2');
    expect(several).toMatchObject({ meterIds: ['m-2', 'm-3'] });
    expect(several).not.toHaveProperty('meterId');
  });
});
