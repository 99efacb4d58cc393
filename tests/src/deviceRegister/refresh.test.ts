/**
 * The nameplate refresh duty against fake terminal sessions (the collection lanes are the
 * scheduler's business, tested with it): reads bounded by `concurrency` and one per terminal,
 * a meter read again only after `refreshHours`, a failing meter deferred by `retryMinutes` and
 * logged once without a stack, protocols without nameplates not asked again.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceNameplate, TerminalSession } from '../../../protocols/adapter.js';
import { createDeviceRegister } from '../../../src/deviceRegister/index.js';
import { NameplateRefresh, type BackgroundLanes, type MeterWhereabouts } from '../../../src/deviceRegister/refresh.js';
import { DeviceRegisterService } from '../../../src/deviceRegister/service.js';
import type { DeviceRegisterStore } from '../../../src/deviceRegister/store.js';
import { PlacedElsewhereError } from '../../../src/collect/errors.js';
import type { RegistryChange } from '../../../src/registry/registry.js';
import type { Duty } from '../../../src/observe/duties.js';
import { LogThrottle, createLogger } from '../../../src/observe/logger.js';
import { connectEachTest, deviceRegisterStoreOf, disposeStoreDrivers, embeddedDriver } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2026, 2, 1, 8);
const HOUR = 3_600_000;
const REFRESH = 24 * HOUR;
const RETRY = HOUR;

/** Lanes over fake sessions: each read takes a turn of the event loop; counts reads in flight and per terminal. */
class FakeLanes implements BackgroundLanes {
  inFlight = 0;
  maxInFlight = 0;
  readonly perTerminal = new Map<string, number>();
  maxPerTerminal = 0;
  readonly reads: string[] = [];
  constructor(private readonly nameplateOf: (terminalId: string, address: string) => DeviceNameplate | Error, private readonly withNameplate = true) {}

  async sessionInBackground<T>(terminalId: string, _what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const onTerminal = (this.perTerminal.get(terminalId) ?? 0) + 1;
    this.perTerminal.set(terminalId, onTerminal);
    this.maxPerTerminal = Math.max(this.maxPerTerminal, onTerminal);
    const session: TerminalSession = {
      read: () => Promise.resolve([]),
      close: () => Promise.resolve(),
      ...(this.withNameplate ? {
        readNameplate: async (address: string) => {
          await new Promise((resolve) => { setImmediate(resolve); });
          this.reads.push(`${terminalId}/${address}`);
          const answer = this.nameplateOf(terminalId, address);
          if (answer instanceof Error) throw answer;
          return answer;
        },
      } : {}),
    };
    try {
      return await work(session, new AbortController().signal);
    } finally {
      this.inFlight--;
      this.perTerminal.set(terminalId, onTerminal - 1);
    }
  }
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe('nameplate refresh', () => {
  const db = connectEachTest(embeddedDriver);
  let store: DeviceRegisterStore;
  let now: number;
  beforeEach(() => {
    store = deviceRegisterStoreOf(db().connection);
    now = T0;
  });

  function refreshWith(lanes: BackgroundLanes, meters: Record<string, MeterWhereabouts>, o: { concurrency?: number; owns?: (t: string) => boolean; failures?: string[] } = {}): NameplateRefresh {
    const register = new DeviceRegisterService({ store, replacementsOf: () => [], areaSubtree: () => new Set(), refreshMs: REFRESH, exportBatch: 100 });
    return new NameplateRefresh({
      store, register, lanes, meter: (id) => meters[id], owns: o.owns ?? (() => true), concurrency: o.concurrency ?? 3,
      refreshMs: REFRESH, retryMs: RETRY, now: () => now, onFailure: (meter) => { o.failures?.push(meter); },
    });
  }

  const dlms = (terminalId: string, address = '1'): MeterWhereabouts => ({ terminalId, address, protocol: 'dlms' });

  it('reads every due meter with at most `concurrency` reads in flight and never two on one terminal', async () => {
    const meters: Record<string, MeterWhereabouts> = {};
    for (let i = 0; i < 10; i++) meters[`m${i}`] = dlms(`t${i % 5}`, String(i));
    await store.installed('meter', Object.keys(meters), T0);
    const lanes = new FakeLanes((t, a) => ({ manufacturer: 'GRD', model: 'GX', serial: `${t}-${a}`, firmwareVersion: 'GRD-FW-1.0.0' }));
    await refreshWith(lanes, meters).sweep();
    expect(lanes.reads.length).toBe(10);
    expect(lanes.maxInFlight).toBe(3);
    expect(lanes.maxPerTerminal).toBe(1);
    expect(await store.get('meter', 'm7')).toMatchObject({ serial: 't2-7', firmwareVersion: 'GRD-FW-1.0.0', nameplateReadAt: T0 });
  });

  it('reads a meter again only once refreshHours have passed, and records its firmware change then', async () => {
    await store.installed('meter', ['m1'], T0);
    let version = '1.0';
    const lanes = new FakeLanes(() => ({ firmwareVersion: version }));
    const refresh = refreshWith(lanes, { m1: dlms('t1') });
    await refresh.sweep();
    version = '1.1';
    now = T0 + REFRESH - 1;
    await refresh.sweep();
    expect(lanes.reads.length).toBe(1);
    now = T0 + REFRESH;
    await refresh.sweep();
    expect(lanes.reads.length).toBe(2);
    expect(await store.history('meter', 'm1')).toEqual([{ at: T0 + REFRESH, from: '1.0', to: '1.1', source: 'read', campaignId: null, actor: null }]);
  });

  it('defers a failing meter by retryMinutes and reports it once per attempt', async () => {
    await store.installed('meter', ['bad', 'good'], T0);
    const failures: string[] = [];
    const lanes = new FakeLanes((t) => (t === 'tb' ? new Error('no answer within 5000 ms') : { firmwareVersion: '1' }));
    const refresh = refreshWith(lanes, { bad: dlms('tb'), good: dlms('tg') }, { failures });
    await refresh.sweep();
    await refresh.sweep();
    expect(failures).toEqual(['bad']);
    now = T0 + RETRY;
    await refresh.sweep();
    expect(failures).toEqual(['bad', 'bad']);
    expect(lanes.reads.filter((r) => r.startsWith('tg/')).length).toBe(1);
  });

  it('asks a protocol whose sessions have no nameplate once, and leaves meters of terminals polled elsewhere to their node', async () => {
    await store.installed('meter', ['a', 'b', 'c'], T0);
    const lanes = new FakeLanes(() => ({}), false);
    let opened = 0;
    const counting: BackgroundLanes = {
      sessionInBackground: (t, what, work) => {
        opened++;
        if (t === 'elsewhere') return Promise.reject(new PlacedElsewhereError(t));
        return lanes.sessionInBackground(t, what, work);
      },
    };
    const meters = { a: { terminalId: 't1', address: '1', protocol: 'modbus' }, b: { terminalId: 't2', address: '1', protocol: 'modbus' }, c: dlms('elsewhere') };
    await refreshWith(counting, meters, { concurrency: 1, owns: (t) => t !== 'elsewhere' }).sweep();
    expect(opened).toBe(1);
    expect((await store.due('meter', T0 + REFRESH - 1, undefined, 10)).map((d) => d.id)).toEqual(['c']);
  });
});

describe('device register assembly', () => {
  const db = connectEachTest(embeddedDriver);

  it('adopts the registry\'s meters when its duty starts, reads them, and logs a failing meter in one debug line without a stack (the collector reports the terminal at info)', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (s: string) => { lines.push(s); } });
    const duties: Duty[] = [];
    const store = deviceRegisterStoreOf(db().connection);
    // The registry's table as reconcile reads it: one terminal, two meters.
    const sqlite = db().connection.sqlite;
    if (sqlite === undefined) throw new Error('embedded driver expected');
    sqlite.exec(`INSERT INTO terminals (id, name, protocol, enabled, profiles, endpoint, created_at, updated_at) VALUES ('t1', 't1', 'dlms', 1, '[]', '{}', ${T0}, ${T0});
      INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at) VALUES
        ('ok', 'ok', 't1', '1', 1, 1, 0, ${T0}, ${T0}), ('broken', 'broken', 't1', '2', 1, 1, 0, ${T0}, ${T0});`);
    const lanes = new FakeLanes((_t, address) => (address === '2' ? Object.assign(new Error('the meter refused the association'), { code: 'DLMS_REFUSED' }) : { model: 'GX' }));
    const listeners: ((c: RegistryChange) => void)[] = [];
    const service = createDeviceRegister({
      config: { deviceRegister: { enabled: true, refreshHours: 24, concurrency: 2, retryMinutes: 60, scanSeconds: 3600, historyPerDevice: 50, exportBatch: 100 } },
      store,
      registry: {
        findMeter: (id) => ({ ok: { terminalId: 't1', address: '1' }, broken: { terminalId: 't1', address: '2' } })[id],
        findTerminal: () => ({ protocol: 'dlms' }), areaSubtree: () => new Set(), onChange: (l) => { listeners.push(l); return () => undefined; },
      },
      lanes, placement: { owns: () => true }, replacementsOf: () => [],
      duties: { add: (_name, duty) => { duties.push(duty); } }, closers: { add: () => undefined },
      logger, throttle: new LogThrottle(60_000, () => T0), now: () => T0,
    });
    await duties[0]?.start();
    await expect.poll(async () => (await service.get('meter', 'ok'))?.model).toBe('GX');
    await expect.poll(() => lanes.reads.length).toBe(2);
    await duties[0]?.stop();
    const failed = lines.filter((l) => l.includes('nameplate read failed'));
    expect(failed.length).toBe(1);
    expect(JSON.parse(failed[0] ?? '{}')).toMatchObject({ meter: 'broken', terminal: 't1', code: 'DLMS_REFUSED', reason: 'the meter refused the association' });
    expect(failed[0]).not.toContain('stack');
    expect(listeners.length).toBe(1);
  });
});
