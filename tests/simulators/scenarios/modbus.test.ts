/**
 * Scenarios on simulated Modbus terminals, read over TCP with our Modbus connection: each
 * changes what is read during its window and nothing outside it; an outage makes the terminal
 * unreachable and then reachable again on the same port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../../protocols/adapter.js';
import { ModbusConnection } from '../../../protocols/modbus/connection.js';
import { MeterModel } from '../../../simulators/loadShape.js';
import { meterSeed } from '../../../simulators/modbus/terminal.js';
import type { ScenarioConfig } from '../../../simulators/config.js';
import { HOUR, T0, scenario, simulatorConfig, startScenarioFleet, type ScenarioFleet } from './fleetFixture.js';

const never = new AbortController().signal;
const WINDOW = { startAfterMs: 60_000, durationMs: 3 * HOUR, repeatEveryMs: 6 * HOUR };
const BEFORE = T0 + 30_000;
const DURING = T0 + HOUR;
const AFTER = T0 + 4 * HOUR;
const REPEATED = T0 + 7 * HOUR;

interface Values {
  voltage: number[]; current: number[]; powerL: number[]; power: number; importKwh: number; exportKwh: number;
}

let s: ScenarioFleet;
const connections: ModbusConnection[] = [];

/** A fresh fleet of four two-meter terminals per test, so each test's clock only moves forward. */
async function fleetWith(...scenarios: ScenarioConfig[]): Promise<void> {
  s = await startScenarioFleet(simulatorConfig({ modbus: 4, modbusMeters: 2, scenarios }));
}

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await s.fleet.stop();
});

function portOf(terminalId: string): number {
  const t = s.fleet.seed.terminals.find((x) => x.id === terminalId);
  if (t?.modbus === undefined) throw new Error(`no Modbus terminal ${terminalId}`);
  return t.modbus.port;
}

async function connect(terminalId: string): Promise<ModbusConnection> {
  const c = await ModbusConnection.connect({ terminalId, host: '127.0.0.1', port: portOf(terminalId), framing: 'tcp', timeoutMs: 2_000 }, never);
  connections.push(c);
  return c;
}

/** Reads both banks of a meter over a fresh connection at the fake clock's now. */
async function read(terminal: number, unit: number): Promise<Values> {
  const c = await connect(`sim-mb-0${terminal}`);
  try {
    const words = [...await c.readRegisters(4, unit, 0, 40), ...await c.readRegisters(4, unit, 256, 4)];
    const buf = Buffer.alloc(words.length * 2);
    words.forEach((w, i) => buf.writeUInt16BE(w, i * 2));
    const f = (register: number) => buf.readFloatBE((register < 256 ? register : register - 256 + 40) * 2);
    return {
      voltage: [f(0), f(2), f(4)], current: [f(6), f(8), f(10)], powerL: [f(12), f(14), f(16)], power: f(24),
      importKwh: f(256), exportKwh: f(258),
    };
  } finally {
    c.destroy();
  }
}

/** The load shape's own values for a meter of the fleet (seed 7), without scenario effects. */
function base(terminal: number, unit: number, ts: number) {
  return new MeterModel({ seed: meterSeed(7 * 10_000 + terminal, unit), startTs: T0 }).baseInstant(ts);
}

const close = (a: number, b: number, rel = 1e-4) => { expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.abs(b) * rel + 1e-3); };

describe('scenarios on simulated Modbus terminals', () => {
  it('overload multiplies power and currents by the factor in its window and its repetition, and nothing outside', async () => {
    await fleetWith(scenario({ kind: 'overload', meters: ['sim-mb-01-1'], factor: 3, ...WINDOW }));
    for (const [ts, factor] of [[BEFORE, 1], [DURING, 3], [AFTER, 1], [REPEATED, 3]] as const) {
      await s.at(ts);
      const v = await read(1, 1);
      const b = base(1, 1, ts);
      close(v.power, b.powerActive * factor);
      close(v.current[0] ?? 0, b.current[0] * factor);
      close(v.voltage[0] ?? 0, b.voltage[0]);
      // The other meter of the terminal is not named: untouched.
      close((await read(1, 2)).power, base(1, 2, ts).powerActive);
    }
  });

  it('overload energy integrates the multiplied power', async () => {
    await fleetWith(scenario({ kind: 'overload', meters: ['sim-mb-01-1'], factor: 3, ...WINDOW }));
    await s.at(DURING);
    const e1 = (await read(1, 1)).importKwh;
    const ts = DURING + HOUR;
    await s.at(ts);
    const e2 = (await read(1, 1)).importKwh;
    // The register integrates the power of the read instant over the span since the last read.
    close(e2 - e1, base(1, 1, ts).powerActive * 3, 1e-3);
  });

  it('voltage sag puts the chosen phase at the percentage and leaves the others', async () => {
    await fleetWith(scenario({ kind: 'voltage-sag', meters: ['sim-mb-01-2'], phase: 'l2', percentOfNominal: 80, ...WINDOW }));
    await s.at(BEFORE);
    close((await read(1, 2)).voltage[1] ?? 0, base(1, 2, BEFORE).voltage[1]);
    await s.at(DURING);
    const v = await read(1, 2);
    const b = base(1, 2, DURING);
    close(v.voltage[1] ?? 0, b.voltage[1] * 0.8);
    close(v.voltage[0] ?? 0, b.voltage[0]);
    close(v.voltage[2] ?? 0, b.voltage[2]);
    await s.at(AFTER);
    close((await read(1, 2)).voltage[1] ?? 0, base(1, 2, AFTER).voltage[1]);
  });

  it('voltage loss takes a phase to 0 V and 0 A, its power out of the total', async () => {
    await fleetWith(scenario({ kind: 'voltage-loss', meters: ['sim-mb-02-1'], phase: 'l3', ...WINDOW }));
    await s.at(BEFORE);
    expect((await read(2, 1)).voltage[2]).toBeGreaterThan(200);
    await s.at(DURING);
    const v = await read(2, 1);
    const b = base(2, 1, DURING);
    expect([v.voltage[2], v.current[2], v.powerL[2]]).toEqual([0, 0, 0]);
    close(v.power, b.powerActiveL[0] + b.powerActiveL[1]);
    await s.at(AFTER);
    expect((await read(2, 1)).voltage[2]).toBeGreaterThan(200);
  });

  it('reverse power reads negative and counts on the export register instead of import', async () => {
    await fleetWith(scenario({ kind: 'reverse-power', meters: ['sim-mb-02-2'], ...WINDOW }));
    await s.at(BEFORE);
    const v0 = await read(2, 2);
    expect(v0.power).toBeGreaterThan(0);
    expect(v0.exportKwh).toBe(0);
    await s.at(DURING);
    const v1 = await read(2, 2);
    close(v1.power, -base(2, 2, DURING).powerActive);
    await s.at(DURING + HOUR);
    const v2 = await read(2, 2);
    expect(v2.importKwh).toBe(v1.importKwh);
    close(v2.exportKwh - v1.exportKwh, base(2, 2, DURING + HOUR).powerActive, 1e-3);
    await s.at(AFTER);
    expect((await read(2, 2)).power).toBeGreaterThan(0);
  });

  it('register-stuck on a terminal freezes the energy of each of its meters while power stays', async () => {
    await fleetWith(scenario({ kind: 'register-stuck', terminals: ['sim-mb-03'], ...WINDOW }));
    await s.at(DURING);
    const during = [await read(3, 1), await read(3, 2)];
    await s.at(DURING + HOUR);
    const later = [await read(3, 1), await read(3, 2)];
    expect(later.map((v) => v.importKwh)).toEqual(during.map((v) => v.importKwh));
    expect(later.every((v) => v.power > 0)).toBe(true);
    await s.at(AFTER);
    const a1 = await read(3, 1);
    await s.at(AFTER + HOUR);
    expect((await read(3, 1)).importKwh).toBeGreaterThan(a1.importKwh);
  });

  it('outage drops the open connection, refuses new ones, and the terminal answers again after', async () => {
    await fleetWith(scenario({ name: 'cut', kind: 'outage', terminals: ['sim-mb-04'], ...WINDOW }));
    await s.at(BEFORE);
    const open = await connect('sim-mb-04');
    expect(await open.readRegisters(4, 1, 0, 2)).toHaveLength(2);
    await s.at(DURING);
    await expect(open.readRegisters(4, 1, 0, 2)).rejects.toBeInstanceOf(ConnectionError);
    await expect(read(4, 1)).rejects.toBeInstanceOf(ConnectionError);
    // The other terminals are not affected.
    expect((await read(3, 1)).voltage[0]).toBeGreaterThan(200);
    await s.at(AFTER);
    expect((await read(4, 1)).voltage[0]).toBeGreaterThan(200);
    await s.at(REPEATED);
    await expect(read(4, 1)).rejects.toBeInstanceOf(ConnectionError);
  });

  it('reports each start and end once, at the scheduled edges, with the window number', async () => {
    await fleetWith(scenario({ name: 'cut', kind: 'outage', terminals: ['sim-mb-04'], ...WINDOW }));
    for (const ts of [BEFORE, DURING, DURING + 1, AFTER, REPEATED]) await s.at(ts);
    expect(s.events.map((e) => [e.type, e.scenario, e.at - T0, e.window])).toEqual([
      ['start', 'cut', 60_000, 0], ['end', 'cut', 60_000 + 3 * HOUR, 0], ['start', 'cut', 60_000 + 6 * HOUR, 1],
    ]);
    expect(s.fleet.scenarios.active()).toEqual(['cut']);
  });
});
