/**
 * The Modbus adapter against the simulated terminal, over real sockets on free ports.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, TimeoutError, type ReadItem, type ReadOutcome, type TerminalSession } from '../../protocols/adapter.js';
import { ModbusAdapter, type ModbusAdapterOptions } from '../../protocols/modbus/adapter.js';
import type { ModbusEndpoint, ModbusFraming } from '../../protocols/modbus/config.js';
import {
  ModbusAddressError,
  ModbusExceptionError,
  ReconnectBackoffError,
  UnmappedQuantityError,
} from '../../protocols/modbus/errors.js';
import { RegisterMapError } from '../../protocols/modbus/registerMap.js';
import { MeterModel, type MeterState } from '../../simulators/loadShape.js';
import { meterSeed, ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP_NAME } from '../../simulators/modbus/threePhaseMeterMap.js';

const T = Date.UTC(2024, 5, 12, 10, 30, 0);
const START = T - 3_600_000;
const SEED = 7;
const TIMEOUT_MS = 1_000;
const ALL = THREE_PHASE_METER_MAP.points.map((p) => p.quantity);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function simulator(options: { meters?: number; framing?: ModbusFraming; port?: number } = {}) {
  const sim = new ModbusTerminalSimulator({ meters: options.meters ?? 1, seed: SEED, startTs: START, clock: () => T, framing: options.framing, port: options.port });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  return { sim, port };
}

function adapter(over: Partial<ModbusAdapterOptions> = {}) {
  const a = new ModbusAdapter({
    requestTimeoutMs: TIMEOUT_MS,
    reconnectMinMs: 1_000,
    reconnectMaxMs: 8_000,
    registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP },
    now: () => T,
    ...over,
  });
  cleanups.push(() => a.close());
  return a;
}

function endpoint(port: number, framing: ModbusFraming = 'tcp', registerMap = THREE_PHASE_METER_MAP_NAME): ModbusEndpoint {
  return { host: '127.0.0.1', port, framing, registerMap };
}

const items = (unit: string, quantities: readonly string[]): ReadItem[] => quantities.map((quantity) => ({ address: unit, quantity }));
const signal = () => new AbortController().signal;

function values(outcomes: ReadOutcome[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of outcomes) {
    if (!o.ok) throw new Error(`${o.item.address}/${o.item.quantity} failed: ${o.error.message}`);
    out.set(`${o.item.address}/${o.item.quantity}`, o.reading.value);
  }
  return out;
}

function expectedState(unit: number): MeterState {
  return new MeterModel({ seed: meterSeed(SEED, unit), startTs: START }).advance(T);
}

function errorOf(o: ReadOutcome | undefined): Error {
  if (o === undefined || o.ok) throw new Error('expected a failed outcome');
  return o.error;
}

describe.each(['tcp', 'rtu-over-tcp'] as const)('Modbus adapter ↔ simulated terminal (%s framing)', (framing) => {
  it('reads every quantity the meter offers, as the meter model says, with the reply time', async () => {
    const { port } = await simulator({ framing });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    const outcomes = await session.read(items('1', ALL), signal());
    const v = values(outcomes);
    const s = expectedState(1);
    const expected: Record<string, number> = {
      'voltage.l1': s.voltage[0], 'voltage.l2': s.voltage[1], 'voltage.l3': s.voltage[2],
      'current.l1': s.current[0], 'current.l2': s.current[1], 'current.l3': s.current[2],
      'power.active.l1': s.powerActiveL[0], 'power.active.l2': s.powerActiveL[1], 'power.active.l3': s.powerActiveL[2],
      'power.active': s.powerActive, 'power.reactive': s.powerReactive, 'power.factor': s.powerFactor,
      'frequency': s.frequency, 'demand.active.max': s.maxDemand,
      'energy.active.import': s.energyActiveImport, 'energy.active.export': s.energyActiveExport,
      'energy.reactive.import': s.energyReactiveImport, 'energy.reactive.export': s.energyReactiveExport,
      'energy.active.import.t1': s.energyActiveImportTariff[0], 'energy.active.import.t2': s.energyActiveImportTariff[1],
      'energy.active.import.t3': s.energyActiveImportTariff[2], 'energy.active.import.t4': s.energyActiveImportTariff[3],
    };
    expect(Object.keys(expected).sort()).toEqual([...ALL].sort());
    for (const [q, want] of Object.entries(expected)) expect(v.get(`1/${q}`), q).toBe(Math.fround(want));
    for (const o of outcomes) {
      expect(o.ok && o.reading).toMatchObject({ terminalId: 't1', address: '1', ts: T });
      expect(o.ok && 'unit' in o.reading).toBe(false);
    }
  });

  it('serves values that are physically consistent', async () => {
    const { port } = await simulator({ framing, meters: 2 });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    for (const unit of ['1', '2']) {
      const v = values(await session.read(items(unit, ALL), signal()));
      const get = (q: string) => v.get(`${unit}/${q}`) ?? Number.NaN;
      const phases = [1, 2, 3].map((l) => get(`power.active.l${l}`));
      expect(get('power.active')).toBeCloseTo(phases.reduce((a, b) => a + b, 0), 3);
      for (const l of [1, 2, 3]) {
        const i = (get(`power.active.l${l}`) * 1000) / (get(`voltage.l${l}`) * get('power.factor'));
        expect(get(`current.l${l}`)).toBeCloseTo(i, 3);
        expect(get(`voltage.l${l}`)).toBeGreaterThan(220);
        expect(get(`voltage.l${l}`)).toBeLessThan(240);
      }
      expect(get('power.reactive')).toBeCloseTo(get('power.active') * Math.tan(Math.acos(get('power.factor'))), 2);
      const tariffs = [1, 2, 3, 4].map((t) => get(`energy.active.import.t${t}`)).reduce((a, b) => a + b, 0);
      expect(tariffs / get('energy.active.import')).toBeCloseTo(1, 5);
      expect(get('frequency')).toBeCloseTo(50, 1);
      expect(get('demand.active.max')).toBeGreaterThanOrEqual(get('power.active') - 1e-3);
    }
  });

  it('reads meters at several unit ids over the one connection', async () => {
    const { sim, port } = await simulator({ framing, meters: 3 });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    const v = values(await session.read(['1', '2', '3'].flatMap((u) => items(u, ['voltage.l1', 'energy.active.import'])), signal()));
    for (const unit of [1, 2, 3]) {
      expect(v.get(`${unit}/voltage.l1`)).toBe(Math.fround(expectedState(unit).voltage[0]));
      expect(v.get(`${unit}/energy.active.import`)).toBe(Math.fround(expectedState(unit).energyActiveImport));
    }
    expect(new Set([1, 2, 3].map((u) => v.get(`${u}/energy.active.import`))).size).toBe(3);
    expect(sim.connectionsAccepted).toBe(1);
  });

  it('fails only the items of a unit that answers with an exception', async () => {
    const { sim, port } = await simulator({ framing, meters: 2 });
    sim.setFault(2, { kind: 'exception', code: 6 });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    const outcomes = await session.read([...items('2', ['voltage.l1', 'energy.active.import']), ...items('1', ['voltage.l1'])], signal());
    for (const o of outcomes.slice(0, 2)) {
      const e = errorOf(o);
      expect(e).toBeInstanceOf(ModbusExceptionError);
      expect(e).toMatchObject({ code: 'MODBUS_EXCEPTION', exceptionCode: 6, exceptionName: 'server device busy', unitId: 2, terminalId: 't1' });
    }
    expect(outcomes[2]?.ok).toBe(true);
    sim.setFault(2, { kind: 'none' });
    expect((await session.read(items('2', ['voltage.l1']), signal()))[0]?.ok).toBe(true);
  });

  it('turns a silent device into TimeoutError and reads again once it answers', async () => {
    const { sim, port } = await simulator({ framing, meters: 2 });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    sim.setFault(1, { kind: 'timeout' });
    const outcomes = await session.read([...items('1', ['voltage.l1']), ...items('2', ['voltage.l1'])], signal());
    const e = errorOf(outcomes[0]);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e).toMatchObject({ code: 'TIMEOUT', timeoutMs: TIMEOUT_MS });
    // the dropped connection is re-opened at once for the next block
    expect(outcomes[1]?.ok).toBe(true);
    sim.setFault(1, { kind: 'none' });
    expect(values(await session.read(items('1', ['voltage.l1']), signal())).get('1/voltage.l1')).toBe(Math.fround(expectedState(1).voltage[0]));
    expect(sim.connectionsAccepted).toBe(2);
  });

  it('never takes a late reply for the answer to the next request', async () => {
    const { sim, port } = await simulator({ framing });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    sim.setFault(1, { kind: 'delay', ms: TIMEOUT_MS + 100 });
    expect(errorOf((await session.read(items('1', ['energy.active.import']), signal()))[0])).toBeInstanceOf(TimeoutError);
    sim.setFault(1, { kind: 'none' });
    // same register count as the late reply: only dropping the connection tells them apart
    const v = values(await session.read(items('1', ['voltage.l1']), signal()));
    expect(v.get('1/voltage.l1')).toBe(Math.fround(expectedState(1).voltage[0]));
  });

  it('reports unknown units, illegal addresses, bad addresses and unmapped quantities per item', async () => {
    const { port } = await simulator({ framing });
    const beyondBanks = { function: 4 as const, maxGap: 0, points: [{ ...THREE_PHASE_METER_MAP.points[0]!, address: 1000 }] };
    const a = adapter({ registerMaps: { [THREE_PHASE_METER_MAP_NAME]: THREE_PHASE_METER_MAP, beyond: beyondBanks } });
    const session = await a.open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    const outcomes = await session.read([
      { address: '9', quantity: 'voltage.l1' },
      { address: '0', quantity: 'voltage.l1' },
      { address: '248', quantity: 'voltage.l1' },
      { address: 'x1', quantity: 'voltage.l1' },
      { address: '1', quantity: 'clock' },
      { address: '1', quantity: 'voltage.l1' },
    ], signal());
    expect(errorOf(outcomes[0])).toMatchObject({ exceptionCode: 11, exceptionName: 'gateway target device failed to respond' });
    for (const o of outcomes.slice(1, 4)) expect(errorOf(o)).toBeInstanceOf(ModbusAddressError);
    expect(errorOf(outcomes[4])).toBeInstanceOf(UnmappedQuantityError);
    expect(outcomes[5]?.ok).toBe(true);
    const beyond = await a.open({ id: 't2', endpoint: endpoint(port, framing, 'beyond') }, signal());
    expect(errorOf((await beyond.read(items('1', ['voltage.l1']), signal()))[0])).toMatchObject({ exceptionCode: 2, exceptionName: 'illegal data address' });
  });

  it('keeps one request in flight even when reads overlap', async () => {
    const { sim, port } = await simulator({ framing, meters: 2 });
    sim.setFault(1, { kind: 'delay', ms: 30 });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, framing) }, signal());
    const reads = await Promise.all([1, 2, 1, 2].map((u) => session.read(items(String(u), ['voltage.l1', 'energy.active.import']), signal())));
    for (const r of reads) values(r);
    expect(sim.maxRequestsInFlight).toBe(1);
    expect(sim.connectionsAccepted).toBe(1);
  });
});

describe('Modbus adapter connection handling', () => {
  it('fails fast during backoff and reconnects to a restarted terminal once backoff has passed', async () => {
    const { sim, port } = await simulator();
    let now = T;
    const session = await adapter({ now: () => now }).open({ id: 't1', endpoint: endpoint(port) }, signal());
    expect((await session.read(items('1', ['voltage.l1']), signal()))[0]?.ok).toBe(true);
    await sim.stop();

    // the loss may surface on the read itself or on the reconnect; either way a ConnectionError,
    // and within two reads the session is backing off
    let backoff: ReconnectBackoffError | undefined;
    for (let i = 0; i < 3 && backoff === undefined; i++) {
      const e = errorOf((await session.read(items('1', ['voltage.l1']), signal()))[0]);
      expect(e).toBeInstanceOf(ConnectionError);
      if (e instanceof ReconnectBackoffError) backoff = e;
    }
    expect(backoff?.retryAt).toBe(now + 1_000);

    now += 1_000; // first backoff over: one more refused attempt doubles the delay
    expect(errorOf((await session.read(items('1', ['voltage.l1']), signal()))[0])).not.toBeInstanceOf(ReconnectBackoffError);
    const second = errorOf((await session.read(items('1', ['voltage.l1']), signal()))[0]);
    expect(second).toBeInstanceOf(ReconnectBackoffError);
    expect(second).toMatchObject({ code: 'CONNECTION', retryAt: now + 2_000 });

    const restarted = await simulator({ port });
    expect(errorOf((await session.read(items('1', ['voltage.l1']), signal()))[0])).toBeInstanceOf(ReconnectBackoffError);
    expect(restarted.sim.connectionsAccepted).toBe(0);

    now += 2_000;
    expect((await session.read(items('1', ['voltage.l1']), signal()))[0]?.ok).toBe(true);
    expect(restarted.sim.connectionsAccepted).toBe(1);
  });

  it('rejects open() for an unreachable terminal, an aborted signal and an unknown register map', async () => {
    const a = adapter();
    const closedPort = await freePort();
    await expect(a.open({ id: 't1', endpoint: endpoint(closedPort) }, signal())).rejects.toBeInstanceOf(ConnectionError);
    const { port } = await simulator();
    const aborted = new AbortController();
    aborted.abort(new Error('shutting down'));
    await expect(a.open({ id: 't1', endpoint: endpoint(port) }, aborted.signal)).rejects.toThrow('shutting down');
    await expect(a.open({ id: 't1', endpoint: endpoint(port, 'tcp', 'nope') }, signal())).rejects.toBeInstanceOf(RegisterMapError);
  });

  it('fails an aborted read with the abort reason and reads again afterwards', async () => {
    const { sim, port } = await simulator();
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port) }, signal());
    sim.setFault(1, { kind: 'timeout' });
    const ac = new AbortController();
    const pending = session.read(items('1', ['voltage.l1']), ac.signal);
    setImmediate(() => { ac.abort(new Error('operator cancelled')); });
    expect(errorOf((await pending)[0]).message).toBe('operator cancelled');
    sim.setFault(1, { kind: 'none' });
    expect((await session.read(items('1', ['voltage.l1']), signal()))[0]?.ok).toBe(true);
  });

  it('gets a ConnectionError, not garbage, when the framing does not match the terminal', async () => {
    const { port } = await simulator({ framing: 'rtu-over-tcp' });
    const session = await adapter().open({ id: 't1', endpoint: endpoint(port, 'tcp') }, signal());
    expect(errorOf((await session.read(items('1', ['voltage.l1']), signal()))[0])).toBeInstanceOf(ConnectionError);
  });

  it('closes sessions idempotently, and with the adapter', async () => {
    const { port } = await simulator();
    const a = adapter();
    const s1: TerminalSession = await a.open({ id: 't1', endpoint: endpoint(port) }, signal());
    const s2 = await a.open({ id: 't2', endpoint: endpoint(port) }, signal());
    await s1.close();
    await s1.close();
    expect(errorOf((await s1.read(items('1', ['voltage.l1']), signal()))[0])).toBeInstanceOf(ConnectionError);
    await a.close();
    await a.close();
    expect(errorOf((await s2.read(items('1', ['voltage.l1']), signal()))[0])).toBeInstanceOf(ConnectionError);
    await expect(a.open({ id: 't3', endpoint: endpoint(port) }, signal())).rejects.toBeInstanceOf(ConnectionError);
  });
});

/** A port nothing listens on: bind to 0, note the port, close. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return typeof address === 'object' && address !== null ? address.port : 0;
}
