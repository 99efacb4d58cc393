/**
 * The station actions against the real services over a simulated Modbus terminal (two meters,
 * the second protected), reached through the collector's lanes as the API reaches it: read-meter
 * through the on-demand reader, the commands through the command service (its guard rail, its
 * idempotency by the step's key, its audit under the workflow's actor), the replacement through
 * the billing service, the comment through the alarm service, bad parameters refused with the
 * parameter's name, and a step given up before it acted sending nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusAdapter } from '../../../../protocols/modbus/adapter.js';
import { MeterReader } from '../../../../src/live/meterRead.js';
import { AlarmService } from '../../../../src/alarms/service.js';
import { SqliteAlarmStore } from '../../../../src/alarms/store.js';
import { billingOptions } from '../../../../src/billing/index.js';
import { SqliteReplacementStore } from '../../../../src/billing/replacements.js';
import { BillingService } from '../../../../src/billing/service.js';
import { SqliteBillingStore } from '../../../../src/billing/store.js';
import { CollectionScheduler, CollectionStats, SqliteCollectionStatsStore, type Clock } from '../../../../src/collect/index.js';
import { buildConfig } from '../../../../src/config/load.js';
import { commandRoute } from '../../../../src/control/route.js';
import { meterId, terminalId, type Meter, type Terminal } from '../../../../src/domain/index.js';
import { Registry } from '../../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../../src/registry/store.js';
import { openDatabase } from '../../../../src/storage/db.js';
import type { ActionContext } from '../../../../src/workflows/model.js';
import { workflowActor } from '../../../../src/workflows/model.js';
import { ActionAbortedError, ActionParamError, createActions } from '../../../../src/workflows/actions/index.js';
import { ModbusTerminalSimulator } from '../../../../simulators/modbus/terminal.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../../../simulators/modbus/threePhaseMeterMap.js';
import { testCommandService } from '../../../helpers/commandService.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station() {
  const sim = new ModbusTerminalSimulator({ meters: 2, seed: 5 });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  const terminal: Terminal = { id: terminalId('mb-1'), name: 'modbus', protocol: 'modbus', enabled: true, profiles: [], modbus: { host: '127.0.0.1', port, framing: 'tcp', registerMap: THREE_PHASE_METER_MAP_NAME } };
  const meter = (id: string, address: string, isProtected: boolean): Meter => ({
    id: meterId(id), name: id, terminalId: terminalId('mb-1'), address, ctRatio: 1, ptRatio: 1, areaId: null, protected: isProtected, customerRef: null, accountRef: null,
  });
  const meters = [meter('m-1', '1', false), meter('m-hospital', '2', true)];
  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({ areas: [], terminals: [{ id: 'mb-1', name: 'modbus', protocol: 'mqtt', enabled: true, profiles: [] }], meters: meters.map((m) => ({ id: m.id, name: m.name, terminalId: 'mb-1', address: m.address, ctRatio: 1, ptRatio: 1, protected: m.protected })) });
  const clock: Clock = { now: Date.now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => { clearTimeout(t); } };
  const modbus = new ModbusAdapter({ requestTimeoutMs: 2_000, reconnectMinMs: 100, reconnectMaxMs: 1_000, registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP } });
  const scheduler = new CollectionScheduler({
    config: { concurrency: 2, offlineAfterFailures: 2, pushSilenceMs: 60_000, profiles: {} },
    topology: { terminals: () => [terminal], terminal: (id) => (id === terminal.id ? terminal : undefined), metersOf: () => meters },
    adapters: { modbus }, stats: new CollectionStats({ store: new SqliteCollectionStatsStore(db), utcOffsetMinutes: 0, clock }), clock, sink: () => undefined,
  });
  scheduler.start();
  cleanups.push(async () => { await scheduler.stop(); await modbus.close(); });
  const commands = testCommandService({ db, meters, run: commandRoute({ lanes: scheduler, protocolOf: () => 'modbus' }) });
  await commands.service.start();
  cleanups.push(() => commands.service.close());
  const replacements = new SqliteReplacementStore(db);
  const billing = new BillingService(new SqliteBillingStore(db), billingOptions(buildConfig({}, 'test').billing, 0, () => new Set()), replacements);
  const alarms = await AlarmService.open(new SqliteAlarmStore(db), { areaSubtree: () => new Set() });
  cleanups.push(async () => { await alarms.close(); });
  const actions = createActions({
    meterReader: new MeterReader({ meter: (id) => meters.find((m) => m.id === id), terminal: (id) => (id === terminal.id ? terminal : undefined), scheduler }),
    control: commands.service, notices: { post: () => 0 }, billing, alarms,
    workOrders: { open: () => Promise.reject(new Error('no work orders here')), get: () => Promise.resolve(undefined), complete: () => Promise.reject(new Error('none')), escalate: () => Promise.reject(new Error('none')) },
  });
  const run = (name: string, params: Record<string, string>, step = 'i-1:step-1', signal = new AbortController().signal) => {
    const action = actions.get(name);
    if (action === undefined) throw new Error(`no action ${name}`);
    const context: ActionContext = {
      instanceId: 'i-1', processKey: 'fee-recovery', elementId: 'step', stepKey: step, actor: workflowActor('fee-recovery', 'i-1'),
      variables: {}, params, signal,
    };
    return action.run(context);
  };
  return { sim, commands, billing, alarms, run };
}

describe('station actions over the simulated fleet', () => {
  it('reads a meter on demand and answers the value with its unit and time', async () => {
    const s = await station();
    const out = await s.run('read-meter', { meterId: 'm-1', quantity: 'voltage.l1' });
    expect(out).toMatchObject({ readOk: true, reading: { quantity: 'voltage.l1', unit: 'V' } });
    expect((out.reading as { value: number }).value).toBeGreaterThan(100);
    await expect(s.run('read-meter', { meterId: 'nope' })).rejects.toMatchObject({ code: 'WORKFLOW_ACTION_PARAM', param: 'meterId' });
    await expect(s.run('read-meter', { meterId: 'm-1', quantity: 'volts' })).rejects.toBeInstanceOf(ActionParamError);
  });

  it('disconnects and reconnects the simulated relay, verified, once per step key, audited under the workflow', async () => {
    const s = await station();
    const off = await s.run('disconnect', { meterId: 'm-1' }, 'i-1:exec-1');
    expect(off).toMatchObject({ commandStatus: 'verified' });
    expect(s.sim.controlsOf(1).connected).toBe(false);
    // Run again (a restart before its output was recorded): the same command, no second send.
    expect(await s.run('disconnect', { meterId: 'm-1' }, 'i-1:exec-1')).toEqual(off);
    expect((await s.commands.service.list({ limit: 10 })).items).toHaveLength(1);
    expect(await s.run('reconnect', { meterId: 'm-1' }, 'i-1:exec-2')).toMatchObject({ commandStatus: 'verified' });
    expect(s.sim.controlsOf(1).connected).toBe(true);
    const audit = (await s.commands.audit.query({ limit: 10 })).items.map((e) => [e.action, e.actor]);
    expect(audit).toEqual([['command.reconnect', 'workflow:fee-recovery/i-1'], ['command.disconnect', 'workflow:fee-recovery/i-1']]);
  });

  it('sends no command for a step already given up, and the step run live sends it once', async () => {
    const s = await station();
    const err: unknown = await s.run('disconnect', { meterId: 'm-1' }, 'i-1:exec-9', AbortSignal.abort()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionAbortedError);
    expect(err).toMatchObject({ code: 'WORKFLOW_ACTION_ABORTED', action: 'disconnect' });
    expect((await s.commands.service.list({ limit: 10 })).items).toEqual([]);
    expect((await s.commands.audit.query({ limit: 10 })).items).toEqual([]);
    expect(s.sim.controlsOf(1).connected).toBe(true);
    expect(await s.run('disconnect', { meterId: 'm-1' }, 'i-1:exec-9')).toMatchObject({ commandStatus: 'verified' });
    expect((await s.commands.service.list({ limit: 10 })).items).toHaveLength(1);
  });

  it('is refused a protected meter as a program is, and needs a limit for set-limit', async () => {
    const s = await station();
    expect(await s.run('disconnect', { meterId: 'm-hospital' })).toMatchObject({ commandStatus: 'refused', commandError: 'PROTECTED_METER' });
    expect(s.sim.controlsOf(2).connected).toBe(true);
    await expect(s.run('set-limit', { meterId: 'm-1' })).rejects.toMatchObject({ param: 'limitKw' });
    await expect(s.run('set-limit', { meterId: 'm-1', limitKw: '-3' })).rejects.toMatchObject({ param: 'limitKw' });
    expect(await s.run('set-limit', { meterId: 'm-1', limitKw: '7.5' }, 'i-1:exec-3')).toMatchObject({ commandStatus: 'verified' });
    expect(s.sim.controlsOf(1).limitW).toBe(7_500);
  });

  it('records a replacement billing then accounts for, once for a step run twice', async () => {
    const s = await station();
    const params = { oldMeterId: 'm-1', newMeterId: 'm-1-new', finalRead: '1234.5', initialRead: '0.5' };
    const first = await s.run('record-replacement', params);
    expect(await s.run('record-replacement', params)).toEqual(first);
    expect(s.billing.replacementsOf('m-1')).toEqual([{ meterId: 'm-1', at: expect.any(Number) as unknown, oldFinal: 1234.5, newInitial: 0.5 }]);
    await expect(s.run('record-replacement', { meterId: 'm-1', finalRead: 'x', initialRead: '1' })).rejects.toMatchObject({ param: 'finalRead' });
    await expect(s.run('record-replacement', { finalRead: '1', initialRead: '1' })).rejects.toMatchObject({ param: 'meterId' });
  });

  it('comments on and acknowledges an alarm once, however often the step runs', async () => {
    const s = await station();
    const at = Date.now();
    s.alarms.onSignal({ kind: 'raise', ruleId: 'theft', detector: 'meter-cover-open', subject: { kind: 'meter', id: meterId('m-1') }, severity: 'major', at, since: at, explanation: 'cover opened', value: 1, areaId: null });
    const alarm = s.alarms.openAlarms()[0];
    if (alarm === undefined) throw new Error('no alarm raised');
    const params = { alarmId: alarm.id, text: 'Field check: false alarm', acknowledge: 'true' };
    expect(await s.run('alarm-comment', params)).toEqual({ alarmId: alarm.id, alarmState: 'acknowledged' });
    await s.run('alarm-comment', params);
    const after = await s.alarms.get(alarm.id);
    expect(after).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'workflow:fee-recovery/i-1' });
    expect(after.comments.map((c) => [c.by, c.text])).toEqual([['workflow:fee-recovery/i-1', 'Field check: false alarm']]);
    await expect(s.run('alarm-comment', { alarmId: 'no-such', text: 'x' })).rejects.toMatchObject({ param: 'alarmId' });
  });
});
