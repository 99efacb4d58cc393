/**
 * Scenarios on simulated DLMS meters, read over TCP (wrapper) with our DLMS client: values,
 * registers and the clock change in the window and not outside it; an outage makes the
 * meter unreachable and then reachable again; a tamper records "meter cover removed" (fraud
 * detection event 44) in the standard event log code at its start and "closed" (45) at its end;
 * a firmware drop breaks the management client's connection when the chosen image block arrives,
 * once, and the transfer resumes from the meter's first not transferred block.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../protocols/dlms/axdr/data.js';
import { asNumber } from '../../../protocols/dlms/axdr/describe.js';
import { DlmsClient } from '../../../protocols/dlms/client/client.js';
import { getValue, readClock, readRegister } from '../../../protocols/dlms/client/cosem.js';
import { openDlmsTransport } from '../../../protocols/dlms/net/clientTransport.js';
import { MANAGEMENT_CLIENT, PUBLIC_CLIENT } from '../../../simulators/dlms/server.js';
import type { ScenarioConfig } from '../../../simulators/config.js';
import { HOUR, MIN, T0, scenario, simulatorConfig, startScenarioFleet, type ScenarioFleet } from './fleetFixture.js';

const never = new AbortController().signal;
const WINDOW = { startAfterMs: 60_000, durationMs: 3 * HOUR, repeatEveryMs: 6 * HOUR };
const BEFORE = T0 + 30_000;
const DURING = T0 + HOUR;
const AFTER = T0 + 4 * HOUR;
const POWER = '1.0.1.7.0.255';
const IMPORT = '1.0.1.8.0.255';
const EXPORT = '1.0.2.8.0.255';

let s: ScenarioFleet;
const clients: DlmsClient[] = [];

async function fleetWith(...scenarios: ScenarioConfig[]): Promise<void> {
  s = await startScenarioFleet(simulatorConfig({ dlms: 2, scenarios }));
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await s.fleet.stop();
});

/** An associated public client (or management client, with `manage`) of meter `i` (1-based). */
async function associate(i: number, manage = false): Promise<DlmsClient> {
  const port = s.fleet.seed.terminals.find((t) => t.id === `sim-dl-0${i}`)?.dlms?.port ?? 0;
  const clientSap = manage ? MANAGEMENT_CLIENT : PUBLIC_CLIENT;
  const transport = await openDlmsTransport({ host: '127.0.0.1', port, framing: 'wrapper', clientSap, serverSap: 1, timeoutMs: 2_000 }, never);
  const client = new DlmsClient(transport, { clientSap, timeoutMs: 2_000, auth: manage ? { mechanism: 'low', password: '12345678' } : { mechanism: 'none' } });
  clients.push(client);
  await client.associate();
  return client;
}

async function register(i: number, obis: string): Promise<number> {
  return (await readRegister(await associate(i), obis)).value;
}

/** The meter's load shape without scenario effects. */
const base = (i: number, ts: number) => {
  const sim = s.fleet.dlms[i - 1];
  if (sim === undefined) throw new Error(`no DLMS meter ${i}`);
  return sim.meter.simulation.model.baseInstant(ts);
};

describe('scenarios on simulated DLMS meters', () => {
  it('overload multiplies the active power in its window only, and the energy register integrates it', async () => {
    await fleetWith(scenario({ kind: 'overload', meters: ['sim-dl-01-1'], factor: 3, ...WINDOW }));
    await s.at(BEFORE);
    expect(await register(1, POWER)).toBeCloseTo(base(1, BEFORE).powerActive * 1000, -1);
    expect(await register(2, POWER)).toBeCloseTo(base(2, BEFORE).powerActive * 1000, -1);
    await s.at(DURING);
    expect(await register(1, POWER)).toBeCloseTo(base(1, DURING).powerActive * 3000, -1);
    expect(await register(2, POWER)).toBeCloseTo(base(2, DURING).powerActive * 1000, -1);
    const e1 = await register(1, IMPORT);
    await s.at(DURING + HOUR);
    const e2 = await register(1, IMPORT);
    // The meter holds each quarter hour's load from the quarter's start (energyIntegrator.ts).
    const quarters = [0, 1, 2, 3].map((q) => base(1, DURING + q * 15 * MIN).powerActive * 3000 * 0.25);
    expect(Math.abs(e2 - e1 - quarters.reduce((a, b) => a + b, 0))).toBeLessThan(20);
    await s.at(AFTER);
    expect(await register(1, POWER)).toBeCloseTo(base(1, AFTER).powerActive * 1000, -1);
  });

  it('voltage loss reads 0 V and 0 A on the phase', async () => {
    await fleetWith(scenario({ kind: 'voltage-loss', meters: ['sim-dl-02-1'], phase: 'l1', ...WINDOW }));
    await s.at(DURING);
    expect(await register(2, '1.0.32.7.0.255')).toBe(0);
    expect(await register(2, '1.0.31.7.0.255')).toBe(0);
    expect(await register(2, '1.0.52.7.0.255')).toBeGreaterThan(200);
    await s.at(AFTER);
    expect(await register(2, '1.0.32.7.0.255')).toBeGreaterThan(200);
  });

  it('reverse power shows no import power and advances the export register, not import', async () => {
    await fleetWith(scenario({ kind: 'reverse-power', meters: ['sim-dl-01-1'], ...WINDOW }));
    await s.at(DURING);
    expect(await register(1, POWER)).toBe(0);
    const [i1, x1] = [await register(1, IMPORT), await register(1, EXPORT)];
    await s.at(DURING + HOUR);
    expect(await register(1, IMPORT)).toBe(i1);
    expect(await register(1, EXPORT)).toBeGreaterThan(x1);
  });

  it('register-stuck freezes the import register while power stays', async () => {
    await fleetWith(scenario({ kind: 'register-stuck', meters: ['sim-dl-01-1'], ...WINDOW }));
    await s.at(DURING);
    const e1 = await register(1, IMPORT);
    await s.at(DURING + HOUR);
    expect(await register(1, IMPORT)).toBe(e1);
    expect(await register(1, POWER)).toBeGreaterThan(0);
    await s.at(AFTER + HOUR);
    expect(await register(1, IMPORT)).toBeGreaterThan(e1);
  });

  it('clock drift puts the meter clock ahead for the window, and back after', async () => {
    await fleetWith(scenario({ kind: 'clock-drift', meters: ['sim-dl-02-1'], driftSeconds: 300, ...WINDOW }));
    await s.at(BEFORE);
    expect((await readClock(await associate(2))).epochMs).toBe(BEFORE);
    await s.at(DURING);
    expect((await readClock(await associate(2))).epochMs).toBe(DURING + 300_000);
    expect((await readClock(await associate(1))).epochMs).toBe(DURING);
    await s.at(AFTER);
    expect((await readClock(await associate(2))).epochMs).toBe(AFTER);
  });

  it('outage makes the meter refuse associations, and it answers again after', async () => {
    await fleetWith(scenario({ kind: 'outage', terminals: ['sim-dl-01'], ...WINDOW }));
    await s.at(BEFORE);
    expect(await register(1, POWER)).toBeGreaterThan(0);
    await s.at(DURING);
    await expect(associate(1)).rejects.toThrow();
    expect(await register(2, POWER)).toBeGreaterThan(0);
    await s.at(AFTER);
    expect(await register(1, POWER)).toBeGreaterThan(0);
  });

  it('tamper records meter cover removed at its start and closed at its end, on that meter only', async () => {
    const eventCode = async (i: number) => asNumber(await getValue(await associate(i), { classId: 1, obis: '0.0.96.11.0.255', attribute: 2 }));
    await fleetWith(scenario({ kind: 'tamper', meters: ['sim-dl-01-1'], ...WINDOW }));
    await s.at(BEFORE);
    expect(await eventCode(1)).toBe(0);
    await s.at(DURING);
    expect(await eventCode(1)).toBe(44);
    expect(await eventCode(2)).toBe(0);
    await s.at(AFTER);
    expect(await eventCode(1)).toBe(45);
  });

  it('firmware drop closes the connection when block atBlock arrives, once in its window, and the meter does not take that block', async () => {
    const imageTransfer = { classId: 18, obis: '0.0.44.0.0.255' };
    const initiate = (blocks: number): DlmsData => ({ type: 'structure', value: [{ type: 'octet-string', value: new TextEncoder().encode('GRD-FW-2.0.0') }, { type: 'double-long-unsigned', value: 192 * blocks }] });
    const block = (n: number): DlmsData => ({ type: 'structure', value: [{ type: 'double-long-unsigned', value: n }, { type: 'octet-string', value: new Uint8Array(192).fill(n) }] });
    const send = (c: DlmsClient, n: number) => c.action({ ...imageTransfer, method: 2 }, block(n));
    const firstNotTransferred = async (c: DlmsClient) => asNumber(await getValue(c, { ...imageTransfer, attribute: 4 }));
    await fleetWith(scenario({ kind: 'firmware-drop', meters: ['sim-dl-01-1'], atBlock: 2, ...WINDOW }));
    // Before the window: block 2 is taken like any other.
    await s.at(BEFORE);
    const before = await associate(1, true);
    expect(await before.action({ ...imageTransfer, method: 1 }, initiate(8))).toEqual({ ok: true });
    for (const n of [0, 1, 2]) expect(await send(before, n)).toEqual({ ok: true });
    // Another size: a new transfer, from block 0.
    expect(await before.action({ ...imageTransfer, method: 1 }, initiate(7))).toEqual({ ok: true });
    await s.at(DURING);
    const during = await associate(1, true);
    for (const n of [0, 1]) expect(await send(during, n)).toEqual({ ok: true });
    await expect(send(during, 2)).rejects.toThrow();
    const resumed = await associate(1, true);
    expect(await firstNotTransferred(resumed)).toBe(2);
    // Once: the same block again is taken.
    expect(await send(resumed, 2)).toEqual({ ok: true });
    expect(await firstNotTransferred(resumed)).toBe(3);
    // The other meter is not armed.
    const other = await associate(2, true);
    expect(await other.action({ ...imageTransfer, method: 1 }, initiate(8))).toEqual({ ok: true });
    for (const n of [0, 1, 2]) expect(await send(other, n)).toEqual({ ok: true });
  });
});
