/**
 * Load control end to end over real sockets: a simulated DLMS meter and a simulated Modbus
 * terminal, polled and controlled through the collector's lanes (the station's real path),
 * a shedding program evaluating live values, and the simulators' own state checked after
 * every step. Time is one manual clock shared by the simulators, the adapters, the collector
 * and the program, so the test never waits for wall time.
 */
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import { ModbusAdapter } from '../../protocols/modbus/adapter.js';
import { CollectionScheduler, CollectionStats, SqliteCollectionStatsStore, type Clock } from '../../src/collect/index.js';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../src/config/schema.js';
import { commandRoute } from '../../src/control/route.js';
import { meterId, QUANTITIES, terminalId, type AlarmSignal, type Meter, type Terminal } from '../../src/domain/index.js';
import { LatestValues } from '../../src/live/latest.js';
import { LoadControlEvaluator } from '../../src/rules/loadControl/evaluator.js';
import { MemoryProgramStateStore } from '../../src/rules/loadControl/stateStore.js';
import { openDatabase } from '../../src/storage/db.js';
import { testCommandService } from '../helpers/commandService.js';
import { THRESHOLD_MAX } from '../../simulators/dlms/limiter.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { MeterModel } from '../../simulators/loadShape.js';
import { meterSeed, ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';

const T0 = Date.UTC(2024, 5, 12, 10, 0, 0);
const S = 1_000;
/** Modbus seed whose unit 1 is an industrial load and unit 2 a residential one (checked below). */
const MODBUS_SEED = 5;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(program: (limitKw: number) => Partial<LoadControlProgramConfig>) {
  const clock = { t: T0 };
  const now = () => clock.t;
  const dlmsSim = new DlmsMeterSimulator({ framing: 'wrapper', seed: 9, serialNumber: '00000009', password: 'secret01', historyDays: 0, customerType: 'commercial', clock: now, startTs: T0 });
  await dlmsSim.start();
  cleanups.push(() => dlmsSim.stop());
  const mbSim = new ModbusTerminalSimulator({ meters: 2, seed: MODBUS_SEED, clock: now, startTs: T0 - 3_600_000 });
  const { port: mbPort } = await mbSim.start();
  cleanups.push(() => mbSim.stop());

  const terminals: Terminal[] = [
    { id: terminalId('dlms-1'), name: 'dlms', protocol: 'dlms', enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: dlmsSim.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low' } },
    { id: terminalId('mb-1'), name: 'modbus', protocol: 'modbus', enabled: true, profiles: [], modbus: { host: '127.0.0.1', port: mbPort, framing: 'tcp', registerMap: THREE_PHASE_METER_MAP_NAME } },
  ];
  const meter = (id: string, terminal: string, address: string, isProtected = false): Meter => ({
    id: meterId(id), name: id, terminalId: terminalId(terminal), address, ctRatio: 1, ptRatio: 1, areaId: null, protected: isProtected, customerRef: null, accountRef: null,
  });
  const meters = [meter('dlms-m', 'dlms-1', '1'), meter('mb-big', 'mb-1', '1'), meter('mb-hospital', 'mb-1', '2', true)];
  const byId = new Map(meters.map((m) => [m.id as string, m]));

  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  const schedulerClock: Clock = { now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => { clearTimeout(t); } };
  const live = new LatestValues();
  const dlms = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 3_000, now, passwordFor: () => 'secret01' });
  const modbus = new ModbusAdapter({ requestTimeoutMs: 2_000, reconnectMinMs: 100, reconnectMaxMs: 1_000, registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP }, now });
  const scheduler = new CollectionScheduler({
    config: { concurrency: 4, offlineAfterFailures: 2, pushSilenceMs: 60_000, profiles: {} },
    topology: { terminals: () => terminals, terminal: (id) => terminals.find((t) => t.id === id), metersOf: (id) => meters.filter((m) => m.terminalId === id) },
    adapters: { dlms, modbus },
    stats: new CollectionStats({ store: new SqliteCollectionStatsStore(db), utcOffsetMinutes: 0, clock: schedulerClock }),
    clock: schedulerClock,
    sink: (batch, t) => {
      live.write(batch.map((r) => {
        const m = meters.find((x) => x.terminalId === t.id && x.address === r.address);
        if (m === undefined) throw new Error(`no meter at ${r.address}`);
        return { meterId: m.id, quantity: 'power.active' as const, value: r.value, unit: 'kW', ts: r.ts ?? now(), quality: 'good' as const, source: { protocol: t.protocol, terminalId: t.id, mode: 'poll' as const } };
      }));
    },
  });
  scheduler.start();
  cleanups.push(async () => { await scheduler.stop(); await dlms.close(); await modbus.close(); });

  const run = commandRoute({ lanes: scheduler, protocolOf: (id) => terminals.find((t) => t.id === id)?.protocol });
  const { service: port, actions } = testCommandService({ db, meters, run, now });
  cleanups.push(() => port.close());
  const signals: AlarmSignal[] = [];
  const errors: Error[] = [];

  /** Polls every meter's power through the lanes, at the present instant. */
  const poll = async () => {
    for (const t of terminals) {
      const r = await scheduler.pollNow(t.id, { quantities: ['power.active'] });
      expect(r.failures).toEqual([]);
    }
  };
  const load = () => meters.reduce((sum, m) => sum + (live.value(m.id, 'power.active')?.value ?? 0), 0);

  // The premise: unit 1 is a big load, unit 2 a small one; measure everything connected, then
  // put the limit between "all on" and "the big one off" with room for the hysteresis.
  expect(new MeterModel({ seed: meterSeed(MODBUS_SEED, 1), startTs: T0 }).customerType).toBe('industrial');
  await poll();
  const all = load();
  const big = live.value(meterId('mb-big'), 'power.active')?.value ?? 0;
  expect(big).toBeGreaterThan((all - big) * 0.5);
  const limitKw = all - big / 2;

  const evaluator = new LoadControlEvaluator({
    programs: [Value.Default(LoadControlProgram, {
      id: 'feeder-peak', kind: 'period', periods: [{ from: '00:00', to: '00:00', limitKw }], meters: ['dlms-m', 'mb-big', 'mb-hospital'],
      hysteresisPercent: 5, restoreAfterMs: 30 * S,
      rounds: [
        { afterMs: 10 * S, action: 'disconnect', meters: ['mb-big', 'mb-hospital'] },
        { afterMs: 10 * S + 1, action: 'set-limit', limitKw: 1000, meters: ['dlms-m'] },
      ],
      ...program(limitKw),
    }) as LoadControlProgramConfig],
    port, live, store: new MemoryProgramStateStore(), utcOffsetMinutes: 0, now,
    meters: { meter: (id) => byId.get(id), metersOfArea: () => meters },
    onSignal: (s) => { signals.push(s); }, onError: (_p, e) => { errors.push(e); },
    history: (id, limit) => actions.list({ programId: id, limit }),
  });
  await evaluator.ready();
  const at = async (seconds: number) => {
    clock.t = T0 + seconds * S;
    await poll();
    await evaluator.tick();
  };
  return { clock, dlmsSim, mbSim, evaluator, actions, signals, errors, at, poll, load, limitKw };
}

describe('load control against the simulators', () => {
  it('alarms when the load rises, sheds in rounds on the real devices, leaves the protected meter alone and restores when the load falls', async () => {
    const r = await rig(() => ({}));
    const relay = (unit: number) => r.mbSim.controlsOf(unit).connected;
    const dlmsLimiter = () => r.dlmsSim.meter.simulation.limiter.thresholdActive;

    // The big customer is off: the load is under the limit.
    r.mbSim.controlsOf(1).setRelay(false);
    await r.at(1);
    expect((await r.evaluator.get('feeder-peak'))?.state).toBe('armed');

    // It switches on: the load rises over the limit, the program alarms first.
    r.mbSim.controlsOf(1).setRelay(true);
    await r.at(2);
    expect(r.load()).toBeGreaterThan(r.limitKw);
    expect((await r.evaluator.get('feeder-peak'))?.state).toBe('alarming');
    expect(r.signals.map((s) => s.kind)).toEqual(['raise']);
    expect(r.signals[0]?.explanation).toMatch(/over its limit .*round 1 will disconnect mb-big, mb-hospital/);

    // 10 s over the limit: round 1 disconnects the big customer; the hospital is protected.
    await r.at(12);
    expect(relay(1)).toBe(false);
    expect(relay(2)).toBe(true);
    const detail = (await r.evaluator.get('feeder-peak'));
    expect(detail?.round).toBe(1);
    expect((await r.actions.list({ meterId: 'mb-hospital' }))).toMatchObject([{ status: 'refused', command: 'disconnect', error: { code: 'PROTECTED_METER' } }]);
    expect((await r.actions.list({ meterId: 'mb-big' }))).toMatchObject([{ status: 'verified', state: { connected: false } }]);

    // The next poll sees the trip: the load falls under the limit, so round 2 (the DLMS limiter) never comes.
    await r.at(13);
    expect(r.load()).toBeLessThan(r.limitKw * 0.95);
    expect(dlmsLimiter()).toBe(THRESHOLD_MAX);

    // The load stays under the limit for 30 s: restore reconnects the big customer.
    await r.at(42);
    expect((await r.evaluator.get('feeder-peak'))?.state).toBe('round');
    await r.at(43);
    expect((await r.evaluator.get('feeder-peak'))?.state).toBe('armed');
    expect(relay(1)).toBe(true);
    expect(r.signals.at(-1)).toMatchObject({ kind: 'clear' });
    expect(r.signals.at(-1)?.explanation).toMatch(/restored: reconnect mb-big/);
    // Polls and commands shared the terminal's one connection (the collector's lane).
    expect(r.mbSim.connectionsAccepted).toBe(1);
    expect(r.errors).toEqual([]);
  });

  it('sets and clears a DLMS limiter threshold in a round', async () => {
    const r = await rig(() => ({ rounds: [{ afterMs: 5 * S, action: 'set-limit', limitKw: 1000, meters: ['dlms-m'] }, { afterMs: 6 * S, action: 'disconnect', meters: ['mb-big'] }] }));
    await r.at(1); // all on: over the limit
    expect((await r.evaluator.get('feeder-peak'))?.state).toBe('alarming');
    await r.at(6);
    expect(r.dlmsSim.meter.simulation.limiter.thresholdActive).toBe(1_000_000);
    expect((await r.evaluator.get('feeder-peak'))?.tripped).toMatchObject([{ meterId: 'dlms-m', command: 'set-limit', status: 'verified' }]);
    await r.at(7);
    expect(r.mbSim.controlsOf(1).connected).toBe(false);
    await r.at(8);
    await r.at(38);
    expect((await r.evaluator.get('feeder-peak'))?.state).toBe('armed');
    expect(r.mbSim.controlsOf(1).connected).toBe(true);
    expect(r.dlmsSim.meter.simulation.limiter.thresholdActive).toBe(THRESHOLD_MAX);
    expect((await r.actions.list({ meterId: 'dlms-m' })).map((a) => `${a.command}:${a.status}`)).toEqual(['clear-limit:verified', 'set-limit:verified']);
  });

  it('in dry run changes nothing on the devices and sends no command', async () => {
    const r = await rig(() => ({ dryRun: true }));
    const preview = r.evaluator.preview('feeder-peak');
    expect(preview?.over).toBe(true);
    expect(preview?.rounds[0]?.meters).toEqual([{ meterId: 'mb-big', outcome: 'would-act' }, { meterId: 'mb-hospital', outcome: 'skipped-protected' }]);
    await r.at(1);
    await r.at(11);
    await r.at(12);
    expect((await r.evaluator.get('feeder-peak'))?.round).toBe(2);
    expect(r.mbSim.controlsOf(1).connected).toBe(true);
    expect(r.mbSim.controlsOf(2).connected).toBe(true);
    expect(r.dlmsSim.meter.simulation.limiter.thresholdActive).toBe(THRESHOLD_MAX);
    expect(r.dlmsSim.meter.simulation.outputState).toBe(true);
    expect((await r.actions.list())).toEqual([]);
    expect((await r.evaluator.get('feeder-peak'))?.tripped.map((a) => `${a.meterId}:${a.status}`).sort()).toEqual(['dlms-m:dry-run', 'mb-big:dry-run', 'mb-hospital:refused']);
  });
});
