/**
 * One energy register reaches the head-end five ways: a register read, the load profile, the
 * daily profile, the monthly billing profile and a push. All carry the register's raw
 * attribute 2; each must be scaled with that meter's own scaler_unit (attribute 3, IEC
 * 62056-6-2 Register), so in kWh they agree with each other and with the simulation's energy
 * integrator. Two simulated meters share one meter type but not one scaler: residential in
 * Wh (scaler 0), industrial in 10 Wh (scaler 1), as in the demo fleet, where pushes were once
 * scaled with the first pushing meter's scaler and came out 10× low.
 *
 * Real sockets throughout: the meters' DLMS listeners (wrapper and HDLC), the head-end's push
 * listener, the adapter's associations. Time is fixed, so a push and a poll see one instant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawReading, TerminalSession } from '../../protocols/adapter.js';
import { DlmsAdapter } from '../../protocols/dlms/adapter.js';
import { DlmsClient } from '../../protocols/dlms/client/client.js';
import { readColumnScalers, readProfile, scaleRow } from '../../protocols/dlms/client/profile.js';
import { openDlmsTransport } from '../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { QUANTITIES } from '../../src/domain/index.js';
import { PushTestDirectory, startPushIntake, type PushIntake } from '../helpers/dlmsPushIntake.js';
import { eventually } from '../helpers/headend.js';

/** Monday 2024-06-03 10:07:30 local time at UTC+01:00 (deviation −60): half way through a quarter hour. */
const T0 = Date.UTC(2024, 5, 3, 9, 7, 30);
const DEVIATION = -60;
const QUARTER = 15 * 60_000;
/** Local midnights: today's daily capture, and the billing period end (00:00 on the 1st). */
const TODAY = Date.UTC(2024, 5, 2, 23);
const BILLING_END = Date.UTC(2024, 4, 31, 23);
const LOAD_PROFILE = '1.0.99.1.0.255';
const DEMAND = '1.0.1.4.0.255';
const ENERGY = 'energy.active.import';

const clock = () => T0;
const kinds = ['residential', 'industrial'] as const;
type Kind = (typeof kinds)[number];
const SERIAL: Record<Kind, string> = { residential: '00000011', industrial: '00000012' };
const sims: Record<Kind, DlmsMeterSimulator> = {
  residential: simulator('residential', 'wrapper', 11),
  industrial: simulator('industrial', 'hdlc', 12),
};

function simulator(kind: Kind, framing: 'wrapper' | 'hdlc', seed: number): DlmsMeterSimulator {
  return new DlmsMeterSimulator({
    framing, seed, serialNumber: SERIAL[kind], customerType: kind, startTs: T0, clock, historyDays: 40,
    deviationMinutes: DEVIATION, push: { terminalId: kind },
  });
}

const directory = new PushTestDirectory();
const adapter = new DlmsAdapter({ catalogue: QUANTITIES, timeoutMs: 5_000, passwordFor: () => '12345678' });
let push: PushIntake;
const sessions: TerminalSession[] = [];

beforeAll(async () => {
  for (const kind of kinds) {
    const sim = sims[kind];
    const { port } = await sim.start();
    directory.add(kind, {
      port, framing: kind === 'industrial' ? 'hdlc' : 'wrapper',
      // One type for both, as the demo fleet has it: the type shares object lists, not scalers.
      meterType: 'sim-scale-v1', logicalDeviceName: `GRD${SERIAL[kind]}`,
    });
  }
  push = await startPushIntake({ directory, password: '12345678' });
  // The residential meter pushes first, so its scalers are the head-end's first of this type.
  for (const kind of kinds) {
    sims[kind].setPushDestination({ transport: 'tcp', host: '127.0.0.1', port: push.service.tcpPort ?? 0 });
    sims[kind].pushes.push('interval');
    await eventually(async () => Promise.resolve(pushedValue(kind, ENERGY)), 15_000, `the ${kind} meter's push`);
  }
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.close()));
  await adapter.close();
  await push.close();
  await Promise.allSettled(kinds.map((k) => sims[k].stop()));
});

function pushedValue(kind: Kind, quantity: string): number | undefined {
  return push.readings.find((r) => r.terminalId === kind && r.quantity === quantity)?.value;
}

/** The meter's true energy now (the simulation's integrator), kWh, and one register step in kWh. */
function truth(kind: Kind): { kWh: number; step: number } {
  const sim = sims[kind].meter.simulation;
  const spec = sim.registers[0];
  if (spec === undefined) throw new Error('no energy register');
  return { kWh: sim.reading().energies.activeImport / 1000, step: 10 ** spec.scaler / 1000 };
}

async function session(kind: Kind): Promise<TerminalSession> {
  const t = directory.findTerminal(kind);
  if (t?.protocol !== 'dlms') throw new Error(`no terminal ${kind}`);
  const s = await adapter.open({ id: t.id, endpoint: t.dlms }, AbortSignal.timeout(10_000));
  sessions.push(s);
  return s;
}

async function profileEnergy(s: TerminalSession, profile: 'load' | 'daily' | 'billing', from: number): Promise<{ readings: RawReading[]; energy: Map<number, number> }> {
  if (s.readProfile === undefined) throw new Error('the DLMS session reads no profiles');
  const out = await s.readProfile({ address: '1', profile, from, to: T0 }, AbortSignal.timeout(20_000));
  if (!out.ok) throw out.error;
  // Profile rows always carry their capture time: a row without one would land at key NaN and fail the checks.
  const energy = new Map(out.readings.filter((r) => r.quantity === ENERGY).map((r) => [r.ts ?? Number.NaN, r.value]));
  return { readings: [...out.readings], energy };
}

describe('DLMS energy.active.import in kWh, by every path', () => {
  it('scales each meter\'s push with its own scaler_unit, though a meter of the same type with another scaler pushed first', () => {
    for (const kind of kinds) {
      const { kWh, step } = truth(kind);
      const value = pushedValue(kind, ENERGY) ?? Number.NaN;
      // The register floors to its resolution (registerTable.ts): never above the truth, less than one step below.
      expect(kWh - value, `${kind}: pushed ${value} kWh, true ${kWh} kWh`).toBeGreaterThanOrEqual(0);
      expect(kWh - value, `${kind}: pushed ${value} kWh, true ${kWh} kWh`).toBeLessThan(step);
    }
    expect(truth('industrial').step).toBe(0.01);
    expect(truth('residential').step).toBe(0.001);
    expect(push.problems).toEqual([]);
  });

  it.each(kinds)('%s meter: register read, push, load, daily and billing profiles agree within one quarter hour\'s consumption', async (kind) => {
    const s = await session(kind);
    const [reg, power, voltage] = await s.read(['energy.active.import', 'power.active', 'voltage.l1'].map((quantity) => ({ address: '1', quantity })), AbortSignal.timeout(10_000));
    if (reg?.ok !== true || power?.ok !== true || voltage?.ok !== true) throw new Error(`${kind}: register read failed`);
    const registerKWh = reg.reading.value;

    // Same instant, same raw value, same scaler: identical. So are the other pushed registers.
    expect(pushedValue(kind, ENERGY)).toBe(registerKWh);
    expect(pushedValue(kind, 'power.active')).toBe(power.reading.value);
    expect(pushedValue(kind, 'voltage.l1')).toBe(voltage.reading.value);
    const { kWh, step } = truth(kind);
    expect(kWh - registerKWh).toBeGreaterThanOrEqual(0);
    expect(kWh - registerKWh).toBeLessThan(step);

    // Load profile from an hour before the billing capture to now: one row per quarter hour.
    const load = await profileEnergy(s, 'load', BILLING_END - 3_600_000);
    const stamps = [...load.energy.keys()];
    expect(stamps[0]).toBe(BILLING_END - 3_600_000);
    expect(stamps.at(-1)).toBe(Math.floor(T0 / QUARTER) * QUARTER);
    expect(stamps.every((ts, i) => i === 0 || ts - (stamps[i - 1] ?? 0) === QUARTER)).toBe(true);
    const values = [...load.energy.values()];
    const increments = values.slice(1).map((v, i) => v - (values[i] ?? 0));
    expect(Math.min(...increments)).toBeGreaterThanOrEqual(0);
    const oneInterval = Math.max(...increments);
    expect(oneInterval).toBeGreaterThan(0);
    const lastEntry = values.at(-1) ?? Number.NaN;
    // The register is 7.5 minutes past the last capture: above it, by less than a quarter hour's consumption.
    expect(registerKWh - lastEntry).toBeGreaterThanOrEqual(0);
    expect(registerKWh - lastEntry).toBeLessThanOrEqual(oneInterval);

    // Daily and billing rows hold the same register at the same local midnights as the load profile.
    const daily = await profileEnergy(s, 'daily', TODAY - 7 * 86_400_000);
    expect([...daily.energy.keys()].at(-1)).toBe(TODAY);
    expect(daily.energy.get(TODAY)).toBe(load.energy.get(TODAY));
    expect(daily.energy.get(BILLING_END)).toBe(load.energy.get(BILLING_END));
    const billing = await profileEnergy(s, 'billing', Date.UTC(2024, 2, 1));
    expect([...billing.energy.keys()].at(-1)).toBe(BILLING_END);
    expect(billing.energy.get(BILLING_END)).toBe(load.energy.get(BILLING_END));
    expect(billing.energy.get(BILLING_END)).toBe(daily.energy.get(BILLING_END));
    expect(registerKWh - (daily.energy.get(TODAY) ?? Number.NaN)).toBeGreaterThan(0);

    // Tariff registers T1..T4 in the daily profile are scaled like the total (same scaler, same unit).
    const tariffs = daily.readings.filter((r) => r.ts === TODAY && /^energy\.active\.import\.t[1-4]$/.test(r.quantity));
    expect(tariffs).toHaveLength(4);
    const total = daily.energy.get(TODAY) ?? Number.NaN;
    expect(tariffs.reduce((sum, r) => sum + r.value, 0)).toBeLessThanOrEqual(total * 1.01);
    expect(Math.max(...tariffs.map((r) => r.value))).toBeGreaterThan(total / 10);
  }, 60_000);

  it.each(kinds)('%s meter: the load profile\'s average power matches its energy increments, and the billing maximum demand covers it', async (kind) => {
    const sim = sims[kind];
    const transport = await openDlmsTransport({
      host: '127.0.0.1', port: sim.port, framing: kind === 'industrial' ? 'hdlc' : 'wrapper', clientSap: 1, serverSap: 1, timeoutMs: 5_000,
    }, AbortSignal.timeout(10_000));
    const client = new DlmsClient(transport, { clientSap: 1, timeoutMs: 5_000, auth: { mechanism: 'low', password: '12345678' } });
    try {
      await client.associate();
      const profile = await readProfile(client, LOAD_PROFILE, { from: BILLING_END - 3_600_000, to: T0 });
      const scalers = await readColumnScalers(client, profile.columns);
      // The demand column is the Demand register's last_average_value (IC 5 attribute 3), qualified by its attribute 4.
      expect(profile.columns.some((c) => c.obis === DEMAND && c.classId === 5 && c.attribute === 3)).toBe(true);
      expect(scalers.get(DEMAND)).toEqual({ scaler: 0, unit: 27 }); // W
      const energyScaler = scalers.get('1.0.1.8.0.255');
      expect(energyScaler?.unit).toBe(30); // Wh
      const rows = profile.rows.map((r) => {
        const v = scaleRow(r, scalers).values;
        return { ts: r.ts, wh: v.find((x) => x.obis === '1.0.1.8.0.255')?.value ?? Number.NaN, w: v.find((x) => x.obis === DEMAND)?.value ?? Number.NaN };
      });
      expect(rows.length).toBeGreaterThan(200);
      const stepWh = 10 ** (energyScaler?.scaler ?? 0);
      for (let i = 1; i < rows.length; i++) {
        const [prev, row] = [rows[i - 1], rows[i]];
        if (prev === undefined || row === undefined) continue;
        // Average W over the quarter hour × 0.25 h = Wh consumed, up to the register step and the W rounding.
        expect(Math.abs(row.w * 0.25 - (row.wh - prev.wh)), `${kind} row ${new Date(row.ts).toISOString()}`).toBeLessThanOrEqual(stepWh + 0.2);
      }

      // The billing row at the period end carries May's maximum demand: at least every May quarter hour read above.
      const s = await session(kind);
      const billing = await profileEnergy(s, 'billing', Date.UTC(2024, 2, 1));
      const maxDemandKw = billing.readings.find((r) => r.ts === BILLING_END && r.quantity === 'demand.active.max')?.value ?? Number.NaN;
      const mayRows = rows.filter((r) => r.ts <= BILLING_END);
      expect(mayRows.length).toBe(5);
      expect(maxDemandKw * 1000).toBeGreaterThanOrEqual(Math.max(...mayRows.map((r) => r.w)));
      // …and of the same order as the peaks read: a scaler slip would put it 10× off.
      expect(maxDemandKw * 1000).toBeLessThan(2 * Math.max(...rows.map((r) => r.w)));
    } finally {
      await client.release().catch(() => undefined);
      await client.close();
    }
  }, 60_000);
});
