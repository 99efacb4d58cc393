/**
 * The workflow runtime over each store driver: an instance runs start → service task → timer
 * → user task → end with every step written, and a runtime closed in the middle and built
 * again over the same database (as a restart or a failover does) resumes it: a pending timer
 * at its original due time, a service task cut off in its action run again with the same step
 * key (its effect made once), an open user task's order not opened twice.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { LogThrottle, createLogger } from '../../../../src/observe/logger.js';
import type { WorkflowInstance } from '../../../../src/workflows/model.js';
import { WorkflowRuntime, type WorkflowRuntimeLimits } from '../../../../src/workflows/runtime/runtime.js';
import type { WorkflowInstanceStore } from '../../../../src/workflows/runtime/store.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, type StoreConnection } from '../../../helpers/storeDrivers.js';
import { EffectLog, FixtureDefinitions, FixtureWorkOrders, fixtureActions, instanceStoreOf, stored } from '../../../helpers/workflowFixtures.js';
import { CHECK, FAILING, HOLD, JOB } from './processes.js';

const LIMITS: WorkflowRuntimeLimits = {
  pollMs: 60_000, changesPerPoll: 100, maxRunning: 100, maxHistoryPerInstance: 1_000, maxVariablesBytes: 65_536, variables: { wait: 'PT0.05S' },
};

/** The store with some of its methods replaced (the rest its own), to put a poll at a given moment. */
function storeWith(store: WorkflowInstanceStore, replaced: Partial<WorkflowInstanceStore>): WorkflowInstanceStore {
  return new Proxy(store, {
    get: (target, key: keyof WorkflowInstanceStore) => replaced[key] ?? (target[key] as (...a: unknown[]) => unknown).bind(target),
  });
}

const waitsAt = (elementId: string) => (i: WorkflowInstance): boolean => i.waiting.some((w) => w.elementId === elementId && w.detail !== null);

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('workflow runtime on $name', (driver) => {
  const database = connectEachTest(driver);
  const definitions = new FixtureDefinitions();
  definitions.deploy('job', JOB);
  definitions.deploy('hold', HOLD);
  definitions.deploy('check', CHECK);
  definitions.deploy('failing', FAILING);
  let runtimes: WorkflowRuntime[] = [];

  afterEach(async () => {
    for (const r of runtimes) await r.end();
    runtimes = [];
  });

  async function runtimeOn(
    c: StoreConnection, workOrders: FixtureWorkOrders, log: EffectLog, limits: Partial<WorkflowRuntimeLimits> = {}, now?: () => number,
    wrap: (store: WorkflowInstanceStore) => WorkflowInstanceStore = (s) => s,
  ): Promise<{ runtime: WorkflowRuntime; store: WorkflowInstanceStore }> {
    const store = wrap(instanceStoreOf(c));
    const runtime = new WorkflowRuntime({
      store, definitions, actions: fixtureActions(log), workOrders, config: { ...LIMITS, ...limits },
      logger: createLogger('silent'), throttle: new LogThrottle(60_000), ...(now === undefined ? {} : { now }),
    });
    runtimes.push(runtime);
    await runtime.begin();
    return { runtime, store };
  }

  /** Closes the runtime and the connection, then builds both again over the same database. */
  async function restart(runtime: WorkflowRuntime, workOrders: FixtureWorkOrders, log: EffectLog): Promise<{ runtime: WorkflowRuntime; store: WorkflowInstanceStore }> {
    await runtime.end();
    runtimes = runtimes.filter((r) => r !== runtime);
    return runtimeOn(await database().reconnect(), workOrders, log);
  }

  it('runs start → service task → timer → user task → end, every step written, the order result deciding the gateway', async () => {
    const orders = new FixtureWorkOrders();
    const log = new EffectLog();
    const T = Date.UTC(2026, 0, 5, 8);
    const { runtime, store } = await runtimeOn(database().connection, orders, log, {}, () => T);
    const started = await runtime.start('job', { meterId: 'm-1', areaId: 'a-1' }, { kind: 'api', ref: 'operator' }, 'm-1');
    expect(started?.version).toBe(1);
    const id = started?.id ?? '';
    const waiting = await stored(store, id, waitsAt('repair'));
    const order = [...orders.orders.values()][0];
    expect(waiting.waiting[0]?.detail).toBe(order?.number);
    expect(order).toMatchObject({ type: 'repair', role: 'field', meterId: 'm-1', areaId: 'a-1', dueAt: T + 4 * 3_600_000, source: { instanceId: id, processKey: 'job', elementId: 'repair' } });
    expect(waiting.variables).toMatchObject({ marked: true, meterId: 'm-1', note: 'checked m-1' });

    await orders.complete(order?.id ?? '', { outcome: 'fixed' }, 'fuse replaced', 'zhang');
    await runtime.followOrders();
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done).toMatchObject({ waiting: [], variables: { outcome: 'fixed', resultText: 'fuse replaced', completedBy: 'zhang' } });
    expect(done.endedAt).not.toBeNull();
    const history = await store.history(id);
    expect(history.map((h) => `${h.elementId}:${h.event}`)).toEqual(expect.arrayContaining(['mark:start', 'mark:end', 'pause:timer', 'repair:wait', 'done:end']));
    expect(history.map((h) => `${h.elementId}:${h.event}`)).not.toContain('other:end');
    expect([...log.effects.values()]).toEqual([{ action: 'mark', params: { meterId: 'm-1', note: 'checked m-1' } }]);
  });

  it('starts new instances on the newest version, and lets a running one finish on the version it started with', async () => {
    const orders = new FixtureWorkOrders();
    const { runtime, store } = await runtimeOn(database().connection, orders, new EffectLog());
    definitions.deploy('versioned', CHECK.replace('<process id="check"', '<process id="versioned"'));
    const old = (await runtime.start('versioned', { meterId: 'm-v1' }, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    await stored(store, old, waitsAt('visit'));
    // A dispatcher changes the process: the visit becomes a repair, with its own element id.
    definitions.deploy('versioned', CHECK.replace('<process id="check"', '<process id="versioned"')
      .replace('<userTask id="visit" gh:workOrderType="field-check"', '<userTask id="repairVisit" gh:workOrderType="repair"')
      .replaceAll('attachedToRef="visit"', 'attachedToRef="repairVisit"').replaceAll('sourceRef="visit"', 'sourceRef="repairVisit"')
      .replaceAll('targetRef="visit"', 'targetRef="repairVisit"'));
    const fresh = await runtime.start('versioned', { meterId: 'm-v2' }, { kind: 'api', ref: 'operator' }, null);
    expect([fresh?.version, (await store.get(old))?.version]).toEqual([2, 1]);
    await stored(store, fresh?.id ?? '', waitsAt('repairVisit'));
    const orderOf = (meterId: string) => [...orders.orders.values()].find((o) => o.meterId === meterId);
    expect([orderOf('m-v1')?.type, orderOf('m-v2')?.type]).toEqual(['field-check', 'repair']);
    // The old instance finishes on version 1: its order done, it ends at version 1's end event.
    await orders.complete(orderOf('m-v1')?.id ?? '', { outcome: 'false-alarm' }, null, 'zhang');
    await runtime.followOrders();
    const done = await stored(store, old, (i) => i.status === 'completed');
    expect(done.version).toBe(1);
    expect((await store.history(old)).map((h) => `${h.elementId}:${h.event}`)).toContain('checked:end');
  });

  it('resumes a pending timer after a restart at its original due time, without running the finished service task again', async () => {
    const orders = new FixtureWorkOrders();
    const log = new EffectLog();
    const first = await runtimeOn(database().connection, orders, log);
    const id = (await first.runtime.start('job', { meterId: 'm-2', wait: 'PT2S' }, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    const before = await stored(first.store, id, waitsAt('pause'));
    const due = before.waiting.find((w) => w.elementId === 'pause')?.detail;
    expect(due).toMatch(/^\d{4}-\d\d-\d\dT/);

    const { store } = await restart(first.runtime, orders, log);
    // The resumed engine announces its timer again: with the due time it had before the restart.
    const timers = await vi.waitFor(async () => {
      const lines = (await store.history(id)).map((h) => `${h.elementId}:${h.event}:${h.detail ?? ''}`);
      const resumed = lines.slice(lines.findIndex((l) => l.startsWith('job:resume'))).filter((l) => l.startsWith('pause:timer'));
      if (!lines.some((l) => l.startsWith('job:resume')) || resumed.length === 0) throw new Error(lines.join(', '));
      return resumed;
    }, { timeout: 15_000, interval: 10 });
    expect(timers).toEqual([`pause:timer:${due ?? ''}`]);
    await stored(store, id, waitsAt('repair'));
    expect(log.runs).toHaveLength(1);
  });

  it('runs a service task cut off in its action again after a restart with the same step key, the effect made once', async () => {
    const orders = new FixtureWorkOrders();
    const log = new EffectLog();
    log.gate = new Promise<void>(() => undefined);
    const first = await runtimeOn(database().connection, orders, log);
    const id = (await first.runtime.start('hold', {}, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    await vi.waitFor(() => { expect(log.runs).toHaveLength(1); }, { timeout: 15_000, interval: 10 });

    log.gate = undefined;
    const { store } = await restart(first.runtime, orders, log);
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done.variables).toMatchObject({ verified: true });
    expect(log.runs).toHaveLength(2);
    expect(new Set(log.runs).size).toBe(1);
    expect(log.runs[0]).toMatch(new RegExp(`^${id}:send_`));
    expect(log.effects.size).toBe(1);
  });

  it('keeps an open user task\'s order across a restart, and completing it afterwards finishes the instance', async () => {
    const orders = new FixtureWorkOrders();
    const log = new EffectLog();
    const first = await runtimeOn(database().connection, orders, log);
    const id = (await first.runtime.start('job', { meterId: 'm-3' }, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    await stored(first.store, id, waitsAt('repair'));

    const { runtime, store } = await restart(first.runtime, orders, log);
    await vi.waitFor(() => { expect(orders.opens).toBe(2); }, { timeout: 15_000, interval: 10 });
    expect(orders.orders.size).toBe(1);
    const order = [...orders.orders.values()][0];
    await orders.complete(order?.id ?? '', { outcome: 'not-found' }, null, 'li');
    await runtime.followOrders();
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done.variables).toMatchObject({ outcome: 'not-found' });
    expect((await store.history(id)).map((h) => `${h.elementId}:${h.event}`)).toContain('other:end');
    expect(log.runs).toHaveLength(1);
  });

  it('runs an instance once when a poll lists it between its start\'s write and its launch', async () => {
    const log = new EffectLog();
    const poll: { runtime?: WorkflowRuntime; done: Promise<void> } = { done: Promise.resolve() };
    // The poll comes in right after the row is written, before the start has launched it.
    const after = await runtimeOn(database().connection, new FixtureWorkOrders(), log, {}, undefined, (s) => storeWith(s, {
      create: async (i) => { const created = await s.create(i); poll.done = poll.runtime?.adopt() ?? poll.done; return created; },
    }));
    const runtime = after.runtime;
    poll.runtime = runtime;
    const id = (await runtime.start('hold', {}, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    await poll.done;
    await stored(after.store, id, (i) => i.status === 'completed');
    await runtime.end();
    expect(log.runs).toHaveLength(1);
    expect((await after.store.history(id)).filter((h) => h.elementId === 'start' && h.event === 'start')).toHaveLength(1);
  });

  it('leaves alone an instance a poll listed as never run once it has run and ended meanwhile', async () => {
    const log = new EffectLog();
    let stale: WorkflowInstance[] = [];
    const { runtime, store } = await runtimeOn(database().connection, new FixtureWorkOrders(), log, {}, undefined, (s) => storeWith(s, {
      unstarted: (limit) => Promise.resolve(stale.slice(0, limit)),
    }));
    const started = await runtime.start('hold', {}, { kind: 'api', ref: 'operator' }, null);
    await stored(store, started?.id ?? '', (i) => i.status === 'completed');
    // The duty given up and taken again (a failover back): this node holds nothing of it any more.
    await runtime.end();
    await runtime.begin();
    // What the poll read while the row was new: running, never run.
    stale = started === undefined ? [] : [started];
    await runtime.adopt();
    expect(() => runtime.held(started?.id ?? '')).toThrow(/not running/);
    await runtime.end();
    expect((await store.history(started?.id ?? '')).filter((h) => h.elementId === 'start' && h.event === 'start')).toHaveLength(1);
    expect(log.runs).toHaveLength(1);
  });

  it('ends a user task by a message to its boundary event, cancelling the order', async () => {
    const orders = new FixtureWorkOrders();
    const { runtime, store } = await runtimeOn(database().connection, orders, new EffectLog());
    const id = (await runtime.start('check', { alarmId: 'al-1' }, { kind: 'alarm', ref: 'al-1' }, null))?.id ?? '';
    await stored(store, id, waitsAt('visit'));
    expect(runtime.message(id, 'alarm-cleared', { clearedBy: 'rule' })).toBe(true);
    const done = await stored(store, id, (i) => i.status === 'completed');
    expect(done.variables).toMatchObject({ clearedBy: 'rule' });
    await vi.waitFor(() => { expect([...orders.orders.values()][0]?.state).toBe('cancelled'); }, { timeout: 15_000, interval: 10 });
    expect((await store.history(id)).map((h) => `${h.elementId}:${h.event}`)).toContain('closed:end');
  });

  it('cancels an instance and the work order it waits on', async () => {
    const orders = new FixtureWorkOrders();
    const { runtime, store } = await runtimeOn(database().connection, orders, new EffectLog());
    const id = (await runtime.start('check', {}, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    await stored(store, id, waitsAt('visit'));
    const cancelled = await runtime.cancel(id, 'sent by mistake', 'user:ops');
    expect(cancelled).toMatchObject({ status: 'cancelled', waiting: [] });
    expect([...orders.orders.values()][0]?.state).toBe('cancelled');
    expect(() => runtime.message(id, 'alarm-cleared')).toThrow(/not running/);
  });

  it('starts at most one instance per alarm and process', async () => {
    const { runtime, store } = await runtimeOn(database().connection, new FixtureWorkOrders(), new EffectLog());
    const first = await runtime.start('check', {}, { kind: 'alarm', ref: 'al-9' }, null);
    expect(first).toBeDefined();
    expect(await runtime.start('check', {}, { kind: 'alarm', ref: 'al-9' }, null)).toBeUndefined();
    expect(await runtime.start('job', { meterId: 'm' }, { kind: 'alarm', ref: 'al-9' }, null)).toBeDefined();
    expect((await store.list({ processKey: 'check' })).items).toHaveLength(1);
  });

  it('refuses a start beyond workflows.maxRunning and pages the list newest first', async () => {
    const { runtime } = await runtimeOn(database().connection, new FixtureWorkOrders(), new EffectLog(), { maxRunning: 3 });
    for (let n = 0; n < 3; n += 1) await runtime.start('check', {}, { kind: 'api', ref: 'operator' }, `b-${n}`);
    await expect(runtime.start('check', {}, { kind: 'api', ref: 'operator' }, null)).rejects.toMatchObject({ code: 'WORKFLOW_RUNNING_LIMIT' });
    const first = await runtime.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    const second = await runtime.list({ limit: 2, after: first.next ?? '' });
    expect(second).toMatchObject({ next: null });
    expect(new Set([...first.items, ...second.items].map((i) => i.businessKey))).toEqual(new Set(['b-0', 'b-1', 'b-2']));
    expect((await runtime.list({ businessKey: 'b-1' })).items).toHaveLength(1);
  });

  it('writes an instance whose action throws as failed with the error, and keeps running the others', async () => {
    const { runtime, store } = await runtimeOn(database().connection, new FixtureWorkOrders(), new EffectLog());
    const other = (await runtime.start('check', {}, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    const id = (await runtime.start('failing', { meterId: 'm-9' }, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    const failed = await stored(store, id, (i) => i.status === 'failed');
    expect(failed.error).toContain('device refused for m-9');
    expect(failed.endedAt).not.toBeNull();
    expect((await store.history(id)).map((h) => h.event)).toContain('error');
    await stored(store, other, waitsAt('visit'));
    expect(runtime.message(other, 'alarm-cleared')).toBe(true);
    await stored(store, other, (i) => i.status === 'completed');
  });

  it('keeps the newest history lines of an instance, at most the bound', async () => {
    const store = instanceStoreOf(database().connection);
    await store.create({ id: 'i-1', processKey: 'job', version: 1, trigger: { kind: 'api', ref: null }, businessKey: null, variables: {}, startedAt: 1 });
    const line = (n: number) => ({ at: n, elementId: `e${n}`, elementType: 'bpmn:Task', event: 'start' as const, detail: null });
    const step = { status: 'running' as const, variables: { a: 1 }, waiting: [], state: '{}', updatedAt: 2, endedAt: null, error: null };
    await store.step('i-1', step, [line(1), line(2), line(3)], 4);
    await store.step('i-1', step, [line(4), line(5)], 4);
    expect((await store.history('i-1')).map((h) => [h.seq, h.elementId])).toEqual([[2, 'e2'], [3, 'e3'], [4, 'e4'], [5, 'e5']]);
    const running = await store.running();
    expect(running.map((r) => [r.instance.id, r.instance.variables, r.state])).toEqual([['i-1', { a: 1 }, '{}']]);
  });

  it('runs on the leader an instance another node\'s API started', async () => {
    const orders = new FixtureWorkOrders();
    const log = new EffectLog();
    const leader = await runtimeOn(database().connection, orders, log);
    // A second node: the same database, its runtime not on duty.
    const follower = new WorkflowRuntime({
      store: instanceStoreOf(await database().connect()), definitions, actions: fixtureActions(log), workOrders: orders, config: LIMITS,
      logger: createLogger('silent'), throttle: new LogThrottle(60_000),
    });
    const id = (await follower.start('job', { meterId: 'm-5' }, { kind: 'api', ref: 'operator' }, null))?.id ?? '';
    expect(() => follower.message(id, 'x')).toThrow(/not run by this node/);
    expect((await leader.store.get(id))?.waiting).toEqual([]);
    await leader.runtime.tick();
    await stored(leader.store, id, waitsAt('repair'));
    expect(log.runs).toHaveLength(1);
  });
});
