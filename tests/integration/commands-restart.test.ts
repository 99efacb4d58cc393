/**
 * A whole-station restart with commands pending: the first run sends a two-meter disconnect to
 * a terminal that accepts TCP and never answers, so the first target stays `sent` and the
 * second waits `pending` behind it (one target in flight per terminal). The station stops; a
 * real Modbus simulator takes the silent terminal's port; a second run on the same data
 * directory, master key and admin token must send the pending target, settle the interrupted
 * one by reading the relay (never by resending), and answer the same Idempotency-Key with the
 * same command.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModbusTerminalSimulator } from '../../simulators/modbus/terminal.js';
import { fetchApi } from '../helpers/api.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

interface Target {
  meterId: string;
  status: string;
  state: { connected?: boolean } | null;
  error: { code: string; message: string } | null;
  transitions: { status: string; at: string }[];
}
interface View { id: string; status: string; targets: Target[] }

const env = { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
const overrides = {
  simulators: { enabled: false },
  mqtt: { embeddedBroker: { enabled: true, port: 0 } },
  // Long timeouts: the silent terminal's command must still be in flight when the station stops.
  control: { confirmAbove: 5, perTerminalRatePerMinute: 600, commandTimeoutMs: 60_000 },
  modbus: { requestTimeoutMs: 60_000, reconnectMinMs: 50, reconnectMaxMs: 500 },
};
const body = { type: 'disconnect', meterIds: ['bh-1', 'bh-2'], reason: 'restart test' };
const KEY = 'restart-disconnect-1';

let first: TestHeadEnd | undefined;
let second: TestHeadEnd | undefined;
let dataDir = '';
let blackhole: Server | undefined;
const blackholeSockets = new Set<Socket>();
const healthy = new ModbusTerminalSimulator({ meters: 1, seed: 11 });
let answering: ModbusTerminalSimulator | undefined;
let commandId = '';
let beforeRestart: View;

async function post(he: TestHeadEnd, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetchApi(he, '/api/v1/commands', {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'idempotency-key': key },
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

async function view(he: TestHeadEnd, id: string): Promise<View> {
  const res = await fetchApi(he, `/api/v1/commands/${id}`);
  expect(res.status).toBe(200);
  return await res.json() as View;
}

function target(v: View, meterId: string): Target {
  const t = v.targets.find((x) => x.meterId === meterId);
  if (t === undefined) throw new Error(`command ${v.id} has no target ${meterId}`);
  return t;
}

beforeAll(async () => {
  const { port: healthyPort } = await healthy.start();
  blackhole = createServer((s) => { blackholeSockets.add(s); s.on('close', () => blackholeSockets.delete(s)); });
  await new Promise<void>((r) => blackhole?.listen(0, '127.0.0.1', r));
  const silentPort = (blackhole.address() as { port: number }).port;

  first = await startTestHeadEnd(overrides, { env });
  dataDir = first.dataDir;
  const modbus = (port: number) => ({ host: '127.0.0.1', port, framing: 'tcp' as const, registerMap: 'three-phase-meter' });
  await first.registry.createTerminal({ id: 'mb', name: 'healthy', protocol: 'modbus', enabled: true, profiles: [], modbus: modbus(healthyPort) });
  await first.registry.createMeter({ id: 'mb-1', name: 'healthy 1', terminalId: 'mb', address: '1', ctRatio: 1, ptRatio: 1, protected: false });
  await first.registry.createTerminal({ id: 'bh', name: 'silent', protocol: 'modbus', enabled: true, profiles: [], modbus: modbus(silentPort) });
  await first.registry.createMeter({ id: 'bh-1', name: 'silent 1', terminalId: 'bh', address: '1', ctRatio: 1, ptRatio: 1, protected: false });
  await first.registry.createMeter({ id: 'bh-2', name: 'silent 2', terminalId: 'bh', address: '2', ctRatio: 1, ptRatio: 1, protected: false });

  // The healthy terminal works before the restart: the station itself is sound.
  const ok = await fetchApi(first, '/api/v1/commands', {
    method: 'POST', body: JSON.stringify({ type: 'disconnect', meterIds: ['mb-1'] }), headers: { 'content-type': 'application/json', 'idempotency-key': 'healthy-1' },
  });
  expect(ok.status).toBe(201);
  const okId = (await ok.json() as { id: string }).id;
  const he1 = first;
  await eventually(async () => ((await view(he1, okId)).status === 'open' ? undefined : true), 15_000, 'the healthy command to finish');
  expect(target(await view(he1, okId), 'mb-1').status).toBe('verified');
  expect(healthy.controlsOf(1).connected).toBe(false);

  const created = await post(first, KEY);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  commandId = created.body.id as string;
  beforeRestart = await eventually(async () => {
    const v = await view(he1, commandId);
    return target(v, 'bh-1').status === 'sent' ? v : undefined;
  }, 15_000, 'bh-1 to be sent');
  await first.close();
  first = undefined;

  // The silent terminal comes back answering, on the port the registry knows.
  for (const s of blackholeSockets) s.destroy();
  await new Promise<void>((r) => blackhole?.close(() => { r(); }));
  blackhole = undefined;
  answering = new ModbusTerminalSimulator({ port: silentPort, meters: 2, seed: 12 });
  await answering.start();
}, 60_000);

afterAll(async () => {
  await first?.close();
  await second?.close();
  for (const s of blackholeSockets) s.destroy();
  if (blackhole !== undefined) await new Promise<void>((r) => blackhole?.close(() => { r(); }));
  await answering?.stop();
  await healthy.stop();
  vi.restoreAllMocks();
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

describe('restart of the head-end with commands pending', () => {
  it('left one target sent and one pending behind it when the station stopped', () => {
    expect(beforeRestart.status).toBe('open');
    expect(target(beforeRestart, 'bh-1').status).toBe('sent');
    expect(target(beforeRestart, 'bh-2').status).toBe('pending');
  });

  it('sends the pending target after the restart, re-verifies the interrupted one by a read, and keeps every transition', async () => {
    const sim = answering;
    if (sim === undefined) throw new Error('the answering simulator did not start');
    // Every relay write the restarted station makes, per meter: the interrupted one must get none.
    const relay1 = vi.spyOn(sim.controlsOf(1), 'setRelay');
    const relay2 = vi.spyOn(sim.controlsOf(2), 'setRelay');
    const requestsBefore = sim.requestsServed;

    second = await startTestHeadEnd(overrides, { env, dataDir });
    const he2 = second;
    const done = await eventually(async () => {
      const v = await view(he2, commandId);
      return v.status === 'open' ? undefined : v;
    }, 20_000, 'the command to settle after the restart');

    // The pending target went out once and the device really opened its relay.
    const pending = target(done, 'bh-2');
    expect(pending).toMatchObject({ status: 'verified', state: { connected: false }, error: null });
    expect(pending.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
    expect(relay2.mock.calls).toEqual([[false]]);
    expect(sim.controlsOf(2).connected).toBe(false);

    // The interrupted target was not resent: marked INTERRUPTED, then a read showed the relay
    // still closed, so it stays failed with what was read.
    const interrupted = target(done, 'bh-1');
    expect(interrupted.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'failed', 'failed']);
    expect(interrupted).toMatchObject({ status: 'failed', state: { connected: true }, error: { code: 'INTERRUPTED' } });
    expect(interrupted.error?.message).toMatch(/read back/);
    expect(relay1).not.toHaveBeenCalled();
    expect(sim.controlsOf(1).connected).toBe(true);
    expect(sim.requestsServed).toBeGreaterThan(requestsBefore);

    // Every transition carries a timestamp, in order, none before the command was created.
    const created = Date.parse(beforeRestart.targets[0]?.transitions[0]?.at ?? '');
    for (const t of done.targets) {
      const times = t.transitions.map((x) => Date.parse(x.at));
      for (const at of times) expect(at).toBeGreaterThanOrEqual(created);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    // The transitions from before the stop are kept as they were.
    expect(interrupted.transitions.slice(0, 2)).toEqual(target(beforeRestart, 'bh-1').transitions);
  });

  it('answers the same Idempotency-Key after the restart with the same command, without sending again', async () => {
    const he2 = second;
    const sim = answering;
    if (he2 === undefined || sim === undefined) throw new Error('the restarted station is not running');
    const writes = vi.spyOn(sim.controlsOf(2), 'setRelay');
    writes.mockClear();
    const again = await post(he2, KEY);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(commandId);
    const after = await view(he2, commandId);
    expect(after.status).not.toBe('open');
    expect(target(after, 'bh-2').transitions).toHaveLength(4);
    // No second command was made for the meter, so nothing can be queued to send.
    const list = await (await fetchApi(he2, '/api/v1/commands?meterId=bh-2')).json() as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toEqual([commandId]);
    expect((await he2.get('/api/v1/commands?meterId=bh-2&status=open')).body).toMatchObject({ items: [] });
    expect(writes).not.toHaveBeenCalled();
  });
});
