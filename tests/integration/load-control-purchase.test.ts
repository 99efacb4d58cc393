/**
 * Purchase-energy control (购电控) end to end over real sockets: a simulated Modbus terminal
 * whose meters' energy registers advance with the shared manual clock (and stop while a relay
 * is open), polled and switched through the collector's lanes (the station's real command
 * path), the program counting its purchased kWh down from those registers, and the top-up
 * posted to the load-control API over HTTP. The simulator's own relay is checked after every
 * step; time never waits for the wall clock.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusAdapter } from '../../protocols/modbus/adapter.js';
import { installAuditHook } from '../../src/api/auditRoutes.js';
import { loadControlRoutes } from '../../src/api/loadControlRoutes.js';
import { installProblemHandlers, Problem } from '../../src/api/problem.js';
import { CollectionScheduler, CollectionStats, SqliteCollectionStatsStore, type Clock } from '../../src/collect/index.js';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../src/config/schema.js';
import { SqliteAuditLog } from '../../src/control/audit.js';
import { commandRoute } from '../../src/control/route.js';
import { isQuantity, meterId, terminalId, type AlarmSignal, type Meter, type Terminal } from '../../src/domain/index.js';
import { LatestValues } from '../../src/live/latest.js';
import { LoadControlEvaluator } from '../../src/rules/loadControl/evaluator.js';
import { SqliteProgramStateStore } from '../../src/rules/loadControl/stateStore.js';
import { openDatabase } from '../../src/storage/db.js';
import { testCommandService } from '../helpers/commandService.js';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';

const T0 = Date.UTC(2024, 5, 12, 10, 0, 0);
const MIN = 60_000;
/** Modbus seed whose unit 1 is an industrial load (as in load-control.test.ts). */
const MODBUS_SEED = 5;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('purchase-energy control against the simulators', () => {
  it('counts the purchased kWh down from the registers, warns, trips when none remain, and restores after a top-up posted to the API', async () => {
    const clock = { t: T0 };
    const now = () => clock.t;
    const sim = new ModbusTerminalSimulator({ meters: 2, seed: MODBUS_SEED, clock: now, startTs: T0 - 3_600_000 });
    const { port: simPort } = await sim.start();
    cleanups.push(() => sim.stop());
    const terminals: Terminal[] = [
      { id: terminalId('mb-1'), name: 'modbus', protocol: 'modbus', enabled: true, profiles: [], modbus: { host: '127.0.0.1', port: simPort, framing: 'tcp', registerMap: THREE_PHASE_METER_MAP_NAME } },
    ];
    const meter = (id: string, address: string, isProtected: boolean): Meter => ({
      id: meterId(id), name: id, terminalId: terminalId('mb-1'), address, ctRatio: 1, ptRatio: 1, areaId: null, protected: isProtected, customerRef: null, accountRef: null,
    });
    const meters = [meter('mb-shop', '1', false), meter('mb-hospital', '2', true)];

    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const schedulerClock: Clock = { now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => { clearTimeout(t); } };
    const live = new LatestValues();
    const modbus = new ModbusAdapter({ requestTimeoutMs: 2_000, reconnectMinMs: 100, reconnectMaxMs: 1_000, registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP }, now });
    const scheduler = new CollectionScheduler({
      config: { concurrency: 4, offlineAfterFailures: 2, pushSilenceMs: 60_000, profiles: {} },
      topology: { terminals: () => terminals, terminal: (id) => terminals.find((t) => t.id === id), metersOf: (id) => meters.filter((m) => m.terminalId === id) },
      adapters: { modbus },
      stats: new CollectionStats({ store: new SqliteCollectionStatsStore(db), utcOffsetMinutes: 0, clock: schedulerClock }),
      clock: schedulerClock,
      sink: (batch) => {
        live.write(batch.map((r) => {
          const m = meters.find((x) => x.address === r.address);
          if (m === undefined || !isQuantity(r.quantity)) throw new Error(`unexpected reading ${r.address} ${r.quantity}`);
          return { meterId: m.id, quantity: r.quantity, value: r.value, unit: 'kWh', ts: r.ts ?? now(), quality: 'good' as const, source: { protocol: 'modbus' as const, terminalId: terminalId('mb-1'), mode: 'poll' as const } };
        }));
      },
    });
    scheduler.start();
    cleanups.push(async () => { await scheduler.stop(); await modbus.close(); });
    const run = commandRoute({ lanes: scheduler, protocolOf: (id) => terminals.find((t) => t.id === id)?.protocol });
    const { service: port, actions } = testCommandService({ db, meters, run, now });
    cleanups.push(() => port.close());

    const register = () => live.value(meterId('mb-shop'), 'energy.active.import')?.value ?? Number.NaN;
    const poll = async (minute: number) => {
      clock.t = T0 + minute * MIN;
      const r = await scheduler.pollNow('mb-1', { quantities: ['energy.active.import'] });
      expect(r.failures).toEqual([]);
    };
    // The shop's consumption rate, from its own register, sets the purchase: 15 minutes' worth, a warning at 10 minutes' worth left.
    await poll(0);
    const e0 = register();
    await poll(10);
    const perMinute = (register() - e0) / 10;
    expect(perMinute).toBeGreaterThan(0.1);
    const kwh = (minutes: number) => Math.round(perMinute * minutes * 1000) / 1000;

    const signals: AlarmSignal[] = [];
    const errors: Error[] = [];
    const evaluator = new LoadControlEvaluator({
      programs: [Value.Default(LoadControlProgram, {
        id: 'shop-prepaid', kind: 'purchase-energy', meters: ['mb-shop'], purchasedKwh: kwh(15), warnKwh: [kwh(10)], restoreAfterMs: 0,
        rounds: [{ afterMs: MIN, action: 'disconnect', meters: ['mb-shop', 'mb-hospital'] }],
      }) as LoadControlProgramConfig],
      port, live, store: new SqliteProgramStateStore(db), utcOffsetMinutes: 0, now,
      meters: { meter: (id) => meters.find((m) => m.id === id), metersOfArea: () => meters },
      onSignal: (s) => { signals.push(s); }, onError: (_p, e) => { errors.push(e); },
      history: (id, limit) => actions.list({ programId: id, limit }),
    });
    await evaluator.ready();
    const app = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
    app.addSchema(Problem);
    installProblemHandlers(app);
    const audit = new SqliteAuditLog(db);
    await app.register(async (v1) => {
      installAuditHook(v1, { audit, onError: (err) => { errors.push(err as Error); } });
      await v1.register(loadControlRoutes, { programs: evaluator });
    }, { prefix: '/api/v1' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/load-control/programs/shop-prepaid`;
    const program = async () => (await (await fetch(base)).json()) as { state: string; purchase: { purchasedKwh: number; consumedKwh: number; remainingKwh: number; warned: number[] } };
    const at = async (minute: number) => {
      await poll(minute);
      await evaluator.tick();
    };
    const relay = () => sim.controlsOf(1).connected;

    // The program starts counting at the register it first sees.
    await at(10);
    expect(await program()).toMatchObject({ state: 'armed', purchase: { purchasedKwh: kwh(15), consumedKwh: 0, remainingKwh: kwh(15) } });
    const start = register();

    // 7 minutes on, under 10 minutes' worth is left: warned once.
    await at(17);
    expect((await program()).purchase.warned).toEqual([kwh(10)]);
    expect(signals.map((s) => `${s.ruleId}:${s.kind}`)).toEqual(['load-control:shop-prepaid:low-energy:raise']);

    // 20 minutes on, the 15 minutes bought are used up: the program alarms, and round 1 comes a minute later.
    await at(30);
    const exhausted = await program();
    expect(exhausted.state).toBe('alarming');
    expect(exhausted.purchase.consumedKwh).toBeCloseTo(register() - start, 6);
    expect(exhausted.purchase.remainingKwh).toBeLessThanOrEqual(0);
    await at(31);
    expect(relay()).toBe(false);
    expect(sim.controlsOf(2).connected).toBe(true);
    expect(await actions.list({ meterId: 'mb-shop' })).toMatchObject([{ command: 'disconnect', status: 'verified', state: { connected: false } }]);
    expect(await actions.list({ meterId: 'mb-hospital' })).toMatchObject([{ status: 'refused', error: { code: 'PROTECTED_METER' } }]);

    // With the relay open the register stands still: nothing more is counted.
    const tripped = register();
    await at(40);
    expect(register()).toBe(tripped);
    expect((await program()).state).toBe('round');

    // The customer buys 30 minutes' worth; the counter's retry of the same request loads nothing more.
    const purchase = { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'counter-7/0001' }, body: JSON.stringify({ purchaseId: 'receipt-0001', kwh: kwh(30) }) };
    const bought = await fetch(`${base}/purchases`, purchase);
    expect(bought.status).toBe(201);
    expect((await fetch(`${base}/purchases`, purchase)).status).toBe(200);
    await at(41);
    expect(relay()).toBe(true);
    const restored = await program();
    expect(restored.state).toBe('armed');
    expect(restored.purchase.purchasedKwh).toBeCloseTo(kwh(45), 9);
    expect(restored.purchase.remainingKwh).toBeGreaterThan(0);
    expect((await actions.list({ meterId: 'mb-shop' })).map((a) => `${a.command}:${a.status}`)).toEqual(['reconnect:verified', 'disconnect:verified']);
    expect(signals.filter((s) => s.ruleId === 'load-control:shop-prepaid').map((s) => s.kind)).toEqual(['raise', 'raise', 'clear']);
    // Both requests are in the audit log beside the commands, the retry marked as one.
    expect((await audit.query({ limit: 20 })).items.filter((e) => e.action === 'load-control.purchase').map((e) => [e.outcome, e.detail])).toEqual([
      ['ok', { status: 200, purchaseId: 'receipt-0001', kwh: kwh(30), replay: true }],
      ['ok', { status: 201, purchaseId: 'receipt-0001', kwh: kwh(30), replay: false }],
    ]);
    // Polls and commands shared the terminal's one connection (the collector's lane).
    expect(sim.connectionsAccepted).toBe(1);
    expect(errors).toEqual([]);
  });
});
