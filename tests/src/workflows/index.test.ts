/**
 * The workflows assembly: the runtime and its triggers on the leader's duty roster, fed by the
 * station's real alarm service on the embedded store. Nothing runs before the duty starts; an
 * alarm raised by a rule starts its process once, its clearing ends the instance's field
 * check.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Value } from 'typebox/value';
import { AlarmService } from '../../../src/alarms/service.js';
import { SqliteAlarmStore } from '../../../src/alarms/store.js';
import { WorkflowsConfig } from '../../../src/config/workflows.js';
import type { AlarmSignal } from '../../../src/domain/alarm.js';
import { areaId, meterId } from '../../../src/domain/ids.js';
import { ShutdownOrder } from '../../../src/observe/closers.js';
import type { Duty } from '../../../src/observe/duties.js';
import { LogThrottle, createLogger } from '../../../src/observe/logger.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { createWorkflows } from '../../../src/workflows/index.js';
import { SqliteWorkflowInstanceStore } from '../../../src/workflows/runtime/sqliteStore.js';
import { EffectLog, FixtureDefinitions, FixtureWorkOrders, fixtureActions, stored } from '../../helpers/workflowFixtures.js';
import { CHECK } from './runtime/processes.js';

const logger = createLogger('silent');
let db: Db | undefined;
let closers: ShutdownOrder | undefined;
afterEach(async () => {
  await closers?.closeAll();
  db?.close();
});

function signal(kind: 'raise' | 'clear', at: number, meter = 'm-1'): AlarmSignal {
  return {
    ruleId: 'cover', detector: 'meter-cover-open', subject: { kind: 'meter', id: meterId(meter) }, kind, severity: 'critical', at, since: at,
    explanation: kind === 'raise' ? 'meter cover opened' : 'meter cover closed', value: 1, areaId: areaId('a-1'),
  };
}

describe('createWorkflows', () => {
  it('runs triggered instances only while on duty: an alarm starts its process once and its clearing ends it', async () => {
    db = openDatabase(':memory:');
    closers = new ShutdownOrder(logger);
    const alarms = await AlarmService.open(new SqliteAlarmStore(db), { areaSubtree: (id) => new Set([areaId(id)]) });
    const definitions = new FixtureDefinitions();
    definitions.deploy('check', CHECK);
    const orders = new FixtureWorkOrders();
    const store = new SqliteWorkflowInstanceStore(db);
    const duties: Duty[] = [];
    const config = Value.Default(WorkflowsConfig, { triggers: [{ process: 'check', on: 'alarm', detectors: ['meter-cover-open'] }] }) as WorkflowsConfig;
    createWorkflows({
      config: { workflows: config }, store, definitions, actions: fixtureActions(new EffectLog()), workOrders: orders, alarms,
      registry: { areaSubtree: (id) => new Set([id]) }, duties: { add: (_name, duty) => { duties.push(duty); } }, closers, logger, throttle: new LogThrottle(60_000),
    });

    // Raised before this node runs workflows (at start, or before a failover): caught up when the duty starts.
    const early = alarms.onSignal(signal('raise', 1, 'm-0'));
    expect((await store.list({})).items).toEqual([]);
    for (const d of duties) await d.start();
    expect((await store.list({})).items.map((i) => i.trigger.ref)).toEqual([early?.id]);

    const alarm = alarms.onSignal(signal('raise', 2));
    // Raised again while open: an update, which starts nothing.
    alarms.onSignal(signal('raise', 3));
    alarms.onSignal(signal('raise', 4, 'm-0'));
    const instance = await vi.waitFor(async () => {
      const found = (await store.list({})).items.find((i) => i.trigger.ref === alarm?.id);
      if (found === undefined) throw new Error('no instance yet');
      return found;
    }, { timeout: 15_000, interval: 10 });
    expect((await store.list({})).items).toHaveLength(2);
    // A second duty start (a failover back to this node) starts nothing again.
    for (const d of [...duties].reverse()) await d.stop();
    for (const d of duties) await d.start();
    expect((await store.list({})).items).toHaveLength(2);
    expect(instance).toMatchObject({ trigger: { kind: 'alarm', ref: alarm?.id }, variables: { meterId: 'm-1', severity: 'critical' } });
    const { id } = instance;
    await stored(store, id, (i) => i.waiting.some((w) => w.elementId === 'visit' && w.detail !== null));

    alarms.onSignal(signal('clear', 5));
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done.variables).toMatchObject({ alarmCleared: true });
    expect([...orders.orders.values()].filter((o) => o.alarmId === alarm?.id).map((o) => o.state)).toEqual(['cancelled']);

    for (const d of duties.reverse()) await d.stop();
  });
});
