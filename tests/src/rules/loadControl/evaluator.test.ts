/**
 * The shedding rounds end to end inside the station: live values in, the state machine, the
 * control port (the command service, with its protected-meter rule and action log) over a
 * stand-in device, alarm signals out. Time is a manual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState } from '../../../../protocols/adapter.js';
import type { StationCommand } from '../../../../src/control/commandModel.js';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../../src/config/schema.js';
import type { CommandService } from '../../../../src/control/commands.js';
import { meterId, terminalId, type AlarmSignal, type Meter } from '../../../../src/domain/index.js';
import { LatestValues } from '../../../../src/live/latest.js';
import { renderExplanation } from '../../../../src/rules/explanation.js';
import { LoadControlEvaluator } from '../../../../src/rules/loadControl/evaluator.js';
import type { ProgramState } from '../../../../src/rules/loadControl/machine.js';
import { MemoryProgramStateStore, SqliteProgramStateStore, type ProgramStateStore } from '../../../../src/rules/loadControl/stateStore.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { testCommandService } from '../../../helpers/commandService.js';

const T0 = Date.UTC(2024, 5, 12, 2, 0, 0);
const S = 1_000;

const METERS: Meter[] = ['m1', 'm2', 'm3'].map((id) => ({
  id: meterId(id), name: id, terminalId: terminalId('t1'), address: id.slice(1), ctRatio: 1, ptRatio: 1, areaId: null,
  protected: id === 'm3', customerRef: null, accountRef: null,
}));

function program(over: Partial<LoadControlProgramConfig> = {}): LoadControlProgramConfig {
  return Value.Default(LoadControlProgram, {
    id: 'peak', kind: 'period', periods: [{ from: '00:00', to: '00:00', limitKw: 200 }], meters: ['m1', 'm2', 'm3'],
    hysteresisPercent: 10, restoreAfterMs: 300 * S,
    rounds: [
      { afterMs: 60 * S, action: 'disconnect', meters: ['m1', 'm3'] },
      { afterMs: 120 * S, action: 'set-limit', limitKw: 10, meters: ['m2'] },
    ],
    ...over,
  }) as LoadControlProgramConfig;
}

/** A stand-in device per meter that does what it is told and reports its state. */
class Devices {
  readonly state = new Map<string, { connected: boolean; limitKw: number | null }>();
  readonly log: string[] = [];
  /** Commands to hold (never answer) until released, by `meter:command`. */
  readonly hold = new Set<string>();
  run = (_terminal: string, c: StationCommand, { signal }: { readonly signal: AbortSignal }): Promise<DeviceControlState> => {
    const key = `m${c.address}:${c.type}`;
    this.log.push(key);
    // Never answers: the station "crashes" meanwhile (its service stopping only lets go of the wait).
    if (this.hold.has(key)) return new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('stopped')); }); });
    const s = this.state.get(c.address) ?? { connected: true, limitKw: null };
    if (c.type === 'read-state') return Promise.resolve(c.of === 'relay' ? { connected: s.connected } : { limitKw: s.limitKw });
    if (c.type === 'disconnect') s.connected = false;
    if (c.type === 'reconnect') s.connected = true;
    if (c.type === 'set-limit') s.limitKw = c.limitKw;
    if (c.type === 'clear-limit') s.limitKw = null;
    this.state.set(c.address, s);
    return Promise.resolve(c.type === 'disconnect' || c.type === 'reconnect' ? { connected: s.connected } : { limitKw: s.limitKw });
  };
}

const dirs: string[] = [];
const dbs: Db[] = [];
const services: CommandService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const db of dbs.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function station(options: { db?: Db; devices?: Devices; programs?: LoadControlProgramConfig[]; store?: ProgramStateStore } = {}) {
  const db = options.db ?? openDatabase(':memory:');
  if (options.db === undefined) dbs.push(db);
  const clock = { t: T0 };
  const devices = options.devices ?? new Devices();
  const byId = new Map(METERS.map((m) => [m.id as string, m]));
  const { service: port, actions } = testCommandService({ db, meters: METERS, run: devices.run, now: () => clock.t });
  services.push(port);
  // As the station does: commands a previous run left open are taken up (pending: sent; sent: read back).
  const started = port.start();
  const live = new LatestValues();
  const signals: AlarmSignal[] = [];
  const errors: Error[] = [];
  const evaluator = new LoadControlEvaluator({
    programs: options.programs ?? [program()], port, live, store: options.store ?? new SqliteProgramStateStore(db), utcOffsetMinutes: 0,
    meters: { meter: (id) => byId.get(id), metersOfArea: () => METERS },
    // The station's area-load freshness (station.areaLoadFreshMs), which load control shares with the overload rule.
    areaLoad: { freshMs: 180 * S, powerFactor: 0.9, excluded: new Set() },
    onSignal: (s) => { signals.push(s); }, onError: (_p, e) => { errors.push(e); }, now: () => clock.t,
    history: (id, limit) => actions.list({ programId: id, limit }),
  });
  /** Sets each meter's power (kW) at the present instant and ticks. */
  const at = async (seconds: number, kw?: readonly [number, number, number]) => {
    await started;
    clock.t = T0 + seconds * S;
    if (kw !== undefined) {
      live.write(METERS.map((m, i) => ({
        meterId: m.id, quantity: 'power.active', value: kw[i] ?? 0, unit: 'kW', ts: clock.t, quality: 'good',
        source: { protocol: 'modbus', terminalId: terminalId('t1'), mode: 'poll' },
      })));
    }
    await evaluator.tick();
  };
  return { db, clock, devices, actions, evaluator, signals, errors, at, live, state: () => evaluator.get('peak') };
}

describe('load-control state in the store', () => {
  it('stores states in the order they were reached, even when an earlier write is the slower one', async () => {
    const memory = new MemoryProgramStateStore();
    let writes = 0;
    /** How many tripped meters each stored state held, in the order the writes completed. */
    const landed: number[] = [];
    // Every other write takes a few event-loop turns, as a network round trip may: without an
    // order, the older of two writes in flight would land last, and a crash then would forget
    // a meter already tripped (and trip it again after the restart).
    const uneven: ProgramStateStore = {
      load: (id) => memory.load(id),
      save: async (id, state: ProgramState) => {
        if (writes++ % 2 === 0) await new Promise((r) => setTimeout(r, 15));
        await memory.save(id, state);
        landed.push(state.tripped.length);
      },
      addPurchase: (id, purchase) => memory.addPurchase(id, purchase),
      purchases: (id, limit) => memory.purchases(id, limit),
      purchaseTotals: () => memory.purchaseTotals(),
    };
    const s = station({ store: uneven });
    await s.at(0, [150, 60, 10]);
    await s.at(60, [150, 60, 10]);
    await s.at(120, [150, 60, 10]);
    const shown = await s.state();
    expect(shown?.state).toBe('round');
    expect(landed).toEqual([...landed].sort((x, y) => x - y));
    expect(await memory.load('peak')).toMatchObject({ phase: 'round', round: shown?.round, executingRound: null, tripped: shown?.tripped });
  });
});

describe('load-control shedding rounds', () => {
  it('alarms, trips round 1 then round 2, and restores in reverse order once the load stays under the limit', async () => {
    const s = station();
    await s.at(0, [150, 60, 10]); // 220 kW over 200
    expect((await s.state())?.state).toBe('alarming');
    expect(s.signals).toHaveLength(1);
    expect(s.signals[0]).toMatchObject({ kind: 'raise', ruleId: 'load-control:peak', severity: 'major', value: 220 });
    expect(s.signals[0]?.explanation).toMatch(/220\.0 kW .*"peak".*over its limit 200\.0 kW; round 1 will disconnect m1, m3/);
    // The same explanation as data reads in Chinese, the period included.
    const data = s.signals[0]?.explanationData;
    expect(data === undefined ? '' : renderExplanation(data, 'zh')).toMatch(/^方案 "peak"：.* 220\.0 kW（时段 .*），超过限值 200\.0 kW；第 1 轮将于 \d\d:\d\d:\d\dZ（若持续超限）拉闸 m1、m3。$/);
    await s.at(59, [150, 60, 10]);
    expect(s.devices.log).toEqual([]);
    await s.at(60, [150, 60, 10]);
    expect((await s.state())).toMatchObject({ state: 'round', round: 1 });
    // The protected meter is never sent anything; its refusal is recorded.
    expect(s.devices.log).toEqual(['m1:disconnect']);
    expect(s.devices.state.get('1')?.connected).toBe(false);
    expect((await s.state())?.tripped.map((a) => [a.meterId, a.status, a.error?.code]).sort()).toEqual([['m1', 'verified', undefined], ['m3', 'refused', 'PROTECTED_METER']]);
    const refused = (await s.actions.list({ meterId: 'm3' }));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: 'refused', command: 'disconnect', origin: { kind: 'program', id: 'peak', round: 1 }, error: { code: 'PROTECTED_METER' } });
    expect(s.signals.at(-1)?.explanation).toMatch(/ran round 1: disconnect m1 verified, disconnect m3 refused \(PROTECTED_METER\).*round 2 will limit to 10 kW m2/);

    await s.at(120, [0, 205, 10]); // still over: the next round comes at 120 s from the onset
    expect((await s.state())).toMatchObject({ state: 'round', round: 2 });
    expect(s.devices.state.get('2')?.limitKw).toBe(10);

    await s.at(130, [0, 9, 10]); // 19 kW ≤ 180: under
    await s.at(429, [0, 9, 10]);
    expect((await s.state())?.state).toBe('round');
    await s.at(430, [0, 9, 10]);
    expect((await s.state())).toMatchObject({ state: 'armed', round: 0, tripped: [] });
    expect(s.devices.log.slice(2)).toEqual(['m2:clear-limit', 'm1:reconnect']);
    expect(s.devices.state.get('1')?.connected).toBe(true);
    expect(s.signals.at(-1)).toMatchObject({ kind: 'clear' });
    expect(s.signals.at(-1)?.explanation).toMatch(/restored: clear-limit m2, reconnect m1/);
    expect((await s.state())?.actions.map((a) => `${a.meterId}:${a.command}:${a.status}`)).toEqual([
      'm1:reconnect:verified', 'm2:clear-limit:verified', 'm2:set-limit:verified', 'm3:disconnect:refused', 'm1:disconnect:verified',
    ]);
    expect(s.errors).toEqual([]);
  });

  it('clears the alarm without any action when the load falls before round 1', async () => {
    const s = station();
    await s.at(0, [150, 60, 10]);
    await s.at(30, [100, 50, 10]); // 160 ≤ 180
    await s.at(329, [100, 50, 10]);
    expect((await s.state())?.state).toBe('alarming');
    await s.at(330, [100, 50, 10]);
    expect((await s.state())?.state).toBe('armed');
    expect(s.signals.map((x) => x.kind)).toEqual(['raise', 'clear']);
    expect(s.devices.log).toEqual([]);
  });

  it('neither trips nor restores while the load flaps around the limit inside the hysteresis band', async () => {
    const s = station();
    for (let sec = 0; sec <= 900; sec += 30) await s.at(sec, sec % 60 === 0 ? [150, 60, 0] : [130, 60, 0]); // 210 / 190
    expect((await s.state())?.state).toBe('alarming');
    expect(s.devices.log).toEqual([]);
    expect(s.signals.map((x) => x.kind)).toEqual(['raise']);
  });

  it('holds where it is when no fresh value arrives (no trip on missing data)', async () => {
    const s = station();
    await s.at(0, [150, 60, 10]);
    await s.at(400); // the values are 400 s old: past freshMs (180 s)
    expect((await s.state())?.state).toBe('alarming');
    expect(s.devices.log).toEqual([]);
  });

  it('resumes an interrupted round after a restart without re-tripping what it already tripped, and reads back the send whose answer was lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-lc-'));
    dirs.push(dir);
    const file = join(dir, 'gridhead.db');
    const programs = [program({ rounds: [{ afterMs: 60 * S, action: 'disconnect', meters: ['m1', 'm2'] }, { afterMs: 600 * S, action: 'disconnect', meters: ['m2'] }] })];
    const first = new Devices();
    first.hold.add('m2:disconnect');
    const before = station({ db: openDatabase(file), devices: first, programs });
    await before.at(0, [150, 60, 10]);
    void before.at(60, [150, 60, 10]); // round 1: m1 done, m2 never answers
    await new Promise((r) => setImmediate(r));
    expect(first.log).toEqual(['m1:disconnect', 'm2:disconnect']);
    before.db.close(); // the station dies here

    const db = openDatabase(file);
    dbs.push(db);
    const devices = new Devices();
    // m2 had opened its relay; the answer was lost with the station.
    devices.state.set('2', { connected: false, limitKw: null });
    const after = station({ db, devices, programs });
    expect(await after.actions.closeInterrupted(T0)).toBe(1);
    expect((await after.state())).toMatchObject({ state: 'round', round: 1 });
    await after.at(61, [150, 60, 10]);
    expect(devices.log).toEqual(['m2:read-state']); // m1 is not sent twice, m2 is read back, not resent
    expect((await after.state())?.tripped.map((a) => `${a.meterId}:${a.status}`)).toEqual(['m1:verified', 'm2:verified']);
    await after.at(62, [0, 0, 10]);
    await after.at(362, [0, 0, 10]);
    expect(devices.log).toEqual(['m2:read-state', 'm2:reconnect', 'm1:reconnect']);
    expect((await after.state())?.state).toBe('armed');
  });

  it('does not re-run a finished round after a restart, and times the next round from the persisted onset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-lc-'));
    dirs.push(dir);
    const file = join(dir, 'gridhead.db');
    const first = station({ db: openDatabase(file) });
    await first.at(0, [150, 60, 10]);
    await first.at(60, [150, 60, 10]);
    first.db.close();
    const db = openDatabase(file);
    dbs.push(db);
    const devices = new Devices();
    const after = station({ db, devices });
    await after.at(90, [150, 60, 10]);
    expect(devices.log).toEqual([]);
    await after.at(120, [150, 60, 10]);
    expect(devices.log).toEqual(['m2:set-limit']);
  });

  it('in dry run goes through the rounds, records what it would do and sends nothing', async () => {
    const s = station({ programs: [program({ dryRun: true })] });
    await s.evaluator.ready();
    const preview = s.evaluator.preview('peak');
    expect(preview?.rounds[0]?.meters).toEqual([{ meterId: 'm1', outcome: 'would-act' }, { meterId: 'm3', outcome: 'skipped-protected' }]);
    await s.at(0, [150, 60, 10]);
    await s.at(60, [150, 60, 10]);
    await s.at(120, [150, 60, 10]);
    expect((await s.state())?.tripped.map((a) => `${a.meterId}:${a.status}`).sort()).toEqual(['m1:dry-run', 'm2:dry-run', 'm3:refused']);
    expect(s.signals.at(-1)?.explanation).toMatch(/dry run, nothing sent/);
    await s.at(130, [10, 10, 10]);
    await s.at(430, [10, 10, 10]);
    expect((await s.state())?.state).toBe('armed');
    expect(s.devices.log).toEqual([]);
    expect((await s.actions.list())).toEqual([]);
  });

  it('disabling restores what the program tripped and stops it; enabling arms it again', async () => {
    const s = station();
    await s.at(0, [150, 60, 10]);
    await s.at(60, [150, 60, 10]);
    const detail = await s.evaluator.disable('peak');
    expect(detail?.state).toBe('disabled');
    expect(s.devices.log).toEqual(['m1:disconnect', 'm1:reconnect']);
    await s.at(600, [150, 60, 10]);
    expect(s.devices.log).toHaveLength(2);
    expect((await s.evaluator.enable('peak'))?.state).toBe('armed');
    await s.at(601, [150, 60, 10]);
    expect((await s.state())?.state).toBe('alarming');
  });
});

describe('floating-down program', () => {
  it('fixes its limit from the mean load of the window before it was enabled, lowered by k %, for its span', async () => {
    const s = station({ programs: [program({ kind: 'floating-down', periods: undefined, enabled: false, windowMs: 60 * S, percent: 20, durationMs: 600 * S })] });
    for (let sec = 0; sec <= 60; sec += 10) await s.at(sec, [60, 40, 0]); // 100 kW while disabled
    expect((await s.state())?.state).toBe('disabled');
    await s.evaluator.enable('peak');
    await s.at(61, [50, 35, 0]); // 85 kW > 80 kW
    expect((await s.state())).toMatchObject({ state: 'alarming', limit: 80 });
    expect((await s.state())?.basis).toMatch(/floating-down 20 % under the 1-min average/);
    await s.at(661, [50, 35, 0]); // the span is over: no limit
    expect((await s.state())?.limit).toBeNull();
  });
});

describe('monthly energy program', () => {
  it('alarms at the warning share and trips once the budget is exceeded', async () => {
    const s = station({ programs: [program({ kind: 'monthly-energy', periods: undefined, budgetKwh: 100, warnShare: 0.8, rounds: [{ afterMs: 0, action: 'disconnect', meters: ['m1'] }] })] });
    const write = (sec: number, kwh: number) => {
      s.clock.t = T0 + sec * S;
      return { meterId: meterId('m1'), quantity: 'energy.active.import' as const, value: kwh, unit: 'kWh', ts: s.clock.t, quality: 'good' as const, source: { protocol: 'modbus' as const, terminalId: terminalId('t1'), mode: 'poll' as const } };
    };
    for (const [sec, kwh] of [[0, 5000], [10, 5070], [20, 5081], [30, 5101]] as const) {
      s.live.write([write(sec, kwh)]);
      await s.at(sec);
    }
    expect(s.signals.map((x) => x.kind)).toEqual(['raise', 'raise']);
    expect(s.signals[0]?.explanation).toMatch(/81\.0 kWh used this month .* has reached 81 % of its budget 100\.0 kWh/);
    expect(s.devices.log).toEqual(['m1:disconnect']);
  });
});

describe('purchase energy program', () => {
  const purchaseProgram = (over: Partial<LoadControlProgramConfig> = {}) => program({
    kind: 'purchase-energy', periods: undefined, purchasedKwh: 100, warnKwh: [50, 20], meters: ['m1', 'm2'], restoreAfterMs: 0,
    rounds: [{ afterMs: 0, action: 'disconnect', meters: ['m1', 'm3'] }],
    ...over,
  });
  /** Sets the meters' energy registers (kWh) at `sec` and ticks. */
  const registers = async (s: ReturnType<typeof station>, sec: number, kwh: Readonly<Record<string, number>>) => {
    s.live.write(Object.entries(kwh).map(([id, value]) => ({
      meterId: meterId(id), quantity: 'energy.active.import' as const, value, unit: 'kWh', ts: T0 + sec * S, quality: 'good' as const,
      source: { protocol: 'modbus' as const, terminalId: terminalId('t1'), mode: 'poll' as const },
    })));
    await s.at(sec);
  };
  const low = (s: ReturnType<typeof station>) => s.signals.filter((x) => x.ruleId === 'load-control:peak:low-energy');
  const program_ = (s: ReturnType<typeof station>) => s.signals.filter((x) => x.ruleId === 'load-control:peak');

  it('warns at each remaining threshold once per crossing, trips when nothing remains and restores on a top-up', async () => {
    const s = station({ programs: [purchaseProgram()] });
    await registers(s, 0, { m1: 1000, m2: 500 });
    await registers(s, 10, { m1: 1040, m2: 505 });
    expect(low(s)).toEqual([]);
    expect((await s.state())?.purchase).toMatchObject({ purchasedKwh: 100, consumedKwh: 45, remainingKwh: 55, warned: [] });

    await registers(s, 20, { m1: 1050 }); // 45 kWh left: under 50
    await registers(s, 30, { m1: 1050 }); // the same read again
    await registers(s, 35, { m1: 1051 }); // still under 50, no new crossing
    expect(low(s).map((x) => x.kind)).toEqual(['raise']);
    expect(low(s)[0]?.explanation).toMatch(/has 45\.0 kWh left of the 100\.0 kWh purchased \(warning at 50\.0 kWh\)/);

    await registers(s, 40, { m1: 1075 }); // exactly 20 left
    expect(low(s).map((x) => x.kind)).toEqual(['raise', 'raise']);
    expect(s.devices.log).toEqual([]);

    await registers(s, 50, { m1: 1095 }); // nothing left: exhausted at 0, not only below it
    expect((await s.state())).toMatchObject({ state: 'alarming', load: 100, limit: 100, unit: 'kWh' });
    expect(program_(s)[0]?.explanation).toMatch(/has used 100\.0 kWh of the 100\.0 kWh purchased: nothing remains; round 1 will disconnect m1, m3/);
    await s.at(51);
    expect(s.devices.log).toEqual(['m1:disconnect']);
    expect(await s.actions.list({ meterId: 'm3' })).toMatchObject([{ status: 'refused', error: { code: 'PROTECTED_METER' } }]);
    expect((await s.state())).toMatchObject({ state: 'round', round: 1 });

    const topUp = await s.evaluator.purchase('peak', { purchaseId: 'receipt-1', kwh: 30.25 }, 'key-1', 'token:counter');
    expect(topUp).toMatchObject({ kind: 'created', purchase: { purchaseId: 'receipt-1', wh: 30_250 } });
    expect(topUp?.program.purchase).toMatchObject({ purchasedKwh: 130.25, remainingKwh: 30.25, purchaseCount: 1, purchases: [{ purchaseId: 'receipt-1', kwh: 30.25, actor: 'token:counter' }] });
    await s.at(52);
    expect(s.devices.log).toEqual(['m1:disconnect', 'm1:reconnect']);
    expect((await s.state())?.state).toBe('armed');
    expect(program_(s).at(-1)).toMatchObject({ kind: 'clear' });
    expect(program_(s).at(-1)?.explanation).toMatch(/has 30\.3 kWh left after a purchase; restored: reconnect m1/);
    // 30.25 left: over the 20 threshold again, still under 50 (not crossed again, not warned again).
    expect((await s.state())?.purchase?.warned).toEqual([50]);
    expect(low(s)).toHaveLength(2);

    await registers(s, 60, { m1: 1111 }); // 14.25 left: 20 crossed a second time
    expect(low(s).map((x) => x.kind)).toEqual(['raise', 'raise', 'raise']);
    await s.evaluator.purchase('peak', { purchaseId: 'receipt-2', kwh: 100 }, 'key-2', 'token:counter');
    await s.at(61);
    expect(low(s).map((x) => x.kind)).toEqual(['raise', 'raise', 'raise', 'clear']);
    expect(s.errors).toEqual([]);
  });

  it('trips a program with nothing purchased yet and nothing used, and counts nothing used before it started', async () => {
    const s = station({ programs: [purchaseProgram({ purchasedKwh: undefined, warnKwh: undefined })] });
    await registers(s, 0, { m1: 123_456 });
    expect((await s.state())?.purchase).toMatchObject({ purchasedKwh: 0, consumedKwh: 0, remainingKwh: 0 });
    await s.at(1);
    expect(s.devices.log).toEqual(['m1:disconnect']);
  });

  it('loads a purchase once: the same key or purchase id again adds nothing, another purchase under either is refused', async () => {
    const s = station({ programs: [purchaseProgram(), program({ id: 'other' })] });
    await s.at(0);
    const first = await s.evaluator.purchase('peak', { purchaseId: 'r1', kwh: 10 }, 'k1', 'token:a');
    expect(first?.kind).toBe('created');
    expect((await s.evaluator.purchase('peak', { purchaseId: 'r1', kwh: 10 }, 'k1', 'token:a'))?.kind).toBe('existing');
    expect((await s.evaluator.purchase('peak', { purchaseId: 'r1', kwh: 10 }, 'k-retyped', 'token:a'))?.kind).toBe('existing');
    await expect(s.evaluator.purchase('peak', { purchaseId: 'r2', kwh: 10 }, 'k1', 'token:a')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', status: 409 });
    await expect(s.evaluator.purchase('peak', { purchaseId: 'r1', kwh: 11 }, 'k3', 'token:a')).rejects.toMatchObject({ code: 'PURCHASE_CONFLICT', status: 409 });
    await expect(s.evaluator.purchase('peak', { purchaseId: 'r4', kwh: 1.0005 }, 'k4', 'token:a')).rejects.toMatchObject({ code: 'VALIDATION', field: 'body.kwh' });
    await expect(s.evaluator.purchase('peak', { purchaseId: 'r4', kwh: 100_001 }, 'k4', 'token:a')).rejects.toMatchObject({ code: 'VALIDATION', field: 'body.kwh' });
    await expect(s.evaluator.purchase('other', { purchaseId: 'r5', kwh: 1 }, 'k5', 'token:a')).rejects.toMatchObject({ code: 'NOT_PURCHASE_PROGRAM', status: 409 });
    expect(await s.evaluator.purchase('nope', { purchaseId: 'r6', kwh: 1 }, 'k6', 'token:a')).toBeUndefined();
    expect((await s.state())?.purchase).toMatchObject({ purchasedKwh: 110, purchaseCount: 1 });
  });

  it('after a restart goes on counting from where it stood, with every purchase, and warns of no crossing twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-lc-'));
    dirs.push(dir);
    const file = join(dir, 'gridhead.db');
    const programs = [purchaseProgram()];
    const before = station({ db: openDatabase(file), programs });
    await registers(before, 0, { m1: 1000, m2: 500 });
    await registers(before, 10, { m1: 1060 }); // 40 left: warned at 50
    await before.evaluator.purchase('peak', { purchaseId: 'r1', kwh: 5 }, 'k1', 'token:a');
    expect(low(before)).toHaveLength(1);
    before.db.close();

    const db = openDatabase(file);
    dbs.push(db);
    const after = station({ db, programs });
    // The live values the restarted station has again: the last reads, not counted a second time.
    await registers(after, 20, { m1: 1060, m2: 500 });
    expect((await after.state())?.purchase).toMatchObject({ purchasedKwh: 105, consumedKwh: 60, remainingKwh: 45, warned: [50] });
    await registers(after, 30, { m1: 1070 });
    expect((await after.state())?.purchase).toMatchObject({ consumedKwh: 70, remainingKwh: 35 });
    expect(low(after)).toEqual([]);
  });
});
