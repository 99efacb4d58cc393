/**
 * The command service and on-demand reads end to end: a whole head-end with a simulated
 * fleet (Modbus, MQTT over the embedded aedes broker, DLMS with one HLS auth-enc meter), every
 * call over HTTP, every effect checked in the simulated device itself.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlCommand, readCommand } from '../../src/cli/remote.js';
import { fetchApi } from '../helpers/api.js';
import { installCli } from '../helpers/cli.js';
import { eventually, FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

let he: TestHeadEnd;
let api: { url: string; token: string };
let blackhole: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  he = await startTestHeadEnd({
    ...FAST_FLEET,
    control: { confirmAbove: 2, perTerminalRatePerMinute: 600, commandTimeoutMs: 4_000 },
    simulators: { ...FAST_FLEET.simulators, mqtt: { count: 1, metersPerTerminal: 2, publishIntervalMs: 300 }, dlms: { count: 2, hls: 1, framing: 'wrapper', profiles: [] } },
  });
  api = { url: he.url, token: he.token };
  // A terminal that accepts connections and never answers: reads and commands time out.
  blackhole = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const port = (blackhole.address() as { port: number }).port;
  await he.registry.createTerminal({ id: 'bh', name: 'silent', protocol: 'modbus', enabled: true, profiles: [], modbus: { host: '127.0.0.1', port, framing: 'tcp', registerMap: 'three-phase-meter' } });
  await he.registry.createMeter({ id: 'bh-1', name: 'silent 1', terminalId: 'bh', address: '1', ctRatio: 1, ptRatio: 1, protected: false });
  const hospital = he.registry.getMeter('sim-mb-01-2');
  await he.registry.updateMeter(hospital.id, { ...hospital, areaId: hospital.areaId ?? undefined, customerRef: hospital.customerRef ?? undefined, accountRef: hospital.accountRef ?? undefined, protected: true });
}, 60_000);

afterAll(async () => {
  await he.stop();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => blackhole.close(() => { r(); }));
});

let keys = 0;
async function post(body: unknown, key: string | null = `k-${++keys}`, as = api): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetchApi(as, '/api/v1/commands', {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) },
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

interface View { id: string; status: string; targets: { meterId: string; status: string; state: Record<string, unknown> | null; error: { code: string } | null; transitions: { status: string }[] }[] }

async function finished(id: string): Promise<View> {
  return eventually(async () => {
    const c = await (await fetchApi(api, `/api/v1/commands/${id}`)).json() as View;
    return c.status === 'open' ? undefined : c;
  }, 20_000, `command ${id} to finish`);
}

async function run(body: Record<string, unknown>): Promise<View> {
  const r = await post(body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return finished(r.body.id as string);
}

describe('commands on every protocol', () => {
  const cases = [
    { meter: 'sim-mb-01-1', relay: () => he.fleet?.modbus[0]?.controlsOf(1).connected, limit: () => (he.fleet?.modbus[0]?.controlsOf(1).limitW ?? 0) / 1000 },
    { meter: 'sim-mq-01-1', relay: () => he.fleet?.mqtt[0]?.controlState('1')?.connected, limit: () => he.fleet?.mqtt[0]?.controlState('1')?.limitKw },
    { meter: 'sim-dl-01-1', relay: () => he.fleet?.dlms[0]?.meter.simulation.outputState, limit: () => (he.fleet?.dlms[0]?.meter.simulation.limiter.thresholdActive ?? 0) / 1000 },
    { meter: 'sim-dl-02-1', relay: () => he.fleet?.dlms[1]?.meter.simulation.outputState, limit: () => (he.fleet?.dlms[1]?.meter.simulation.limiter.thresholdActive ?? 0) / 1000 },
  ];
  for (const c of cases) {
    it(`disconnects, reconnects and sets a limit on ${c.meter}, each verified and seen in the simulated device`, async () => {
      const off = await run({ type: 'disconnect', meterIds: [c.meter], reason: 'test' });
      expect(off.targets[0]).toMatchObject({ status: 'verified', state: { connected: false } });
      expect(off.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
      expect(c.relay()).toBe(false);
      const on = await run({ type: 'reconnect', meterIds: [c.meter] });
      expect(on.targets[0]?.status).toBe('verified');
      expect(c.relay()).toBe(true);
      const limited = await run({ type: 'set-limit', meterIds: [c.meter], params: { limitKw: 7.5 } });
      expect(limited.targets[0]).toMatchObject({ status: 'verified', state: { limitKw: 7.5 } });
      expect(c.limit()).toBeCloseTo(7.5, 3);
      const cleared = await run({ type: 'clear-limit', meterIds: [c.meter] });
      expect(cleared.targets[0]).toMatchObject({ status: 'verified', state: { limitKw: null } });
    });
  }

  it('syncs the clock of DLMS and MQTT meters; a Modbus map without a clock fails with its reason', async () => {
    const time = new Date(Date.now() - 3_600_000).toISOString();
    const dl = await run({ type: 'sync-clock', meterIds: ['sim-dl-01-1'], params: { time } });
    expect(dl.targets[0]?.status).toBe('verified');
    const mq = await run({ type: 'sync-clock', meterIds: ['sim-mq-01-1'] });
    expect(mq.targets[0]?.status).toBe('verified');
    const mb = await run({ type: 'sync-clock', meterIds: ['sim-mb-01-1'] });
    expect(mb.targets[0]).toMatchObject({ status: 'failed', error: { code: 'MODBUS_NO_CONTROL' } });
  });

  it('marks a command the terminal never answers timed-out', async () => {
    const c = await run({ type: 'disconnect', meterIds: ['bh-1'] });
    expect(c.targets[0]).toMatchObject({ status: 'timed-out', error: { code: 'TIMEOUT' } });
  });
});

describe('idempotency', () => {
  it('sends once for a retried request and refuses the same key with another body', async () => {
    const before = he.fleet?.mqtt[0]?.stats().commands ?? 0;
    const body = { type: 'set-limit', meterIds: ['sim-mq-01-2'], params: { limitKw: 3 } };
    const first = await post(body, 'same-key');
    const again = await post(body, 'same-key');
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);
    await finished(first.body.id as string);
    expect((he.fleet?.mqtt[0]?.stats().commands ?? 0) - before).toBe(1);
    const other = await post({ ...body, params: { limitKw: 4 } }, 'same-key');
    expect(other).toMatchObject({ status: 409, body: { code: 'IDEMPOTENCY_CONFLICT' } });
  });
});

describe('guard rails', () => {
  it('refuses to disconnect a protected meter, and an override from a principal who is not an admin', async () => {
    const created = await fetchApi(api, '/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dispatcher', role: 'operator' }) });
    expect(created.status).toBe(201);
    const operator = { url: he.url, token: ((await created.json()) as { token: string }).token };
    expect(await post({ type: 'disconnect', meterIds: ['sim-mb-01-2'] }, undefined, operator)).toMatchObject({ status: 409, body: { code: 'PROTECTED_METER' } });
    expect(await post({ type: 'disconnect', meterIds: ['sim-mb-01-2'], override: { reason: 'field crew on site' } }, undefined, operator)).toMatchObject({ status: 403, body: { code: 'OVERRIDE_FORBIDDEN' } });
    expect(he.fleet?.modbus[0]?.controlsOf(2).connected).toBe(true);
  });

  it('disconnects a protected meter when an admin overrides with a reason, and audits the override', async () => {
    const overridden = await post({ type: 'disconnect', meterIds: ['sim-mb-01-2'], override: { reason: 'meter replacement, crew on site' } });
    expect(overridden.status).toBe(201);
    await finished(overridden.body.id as string);
    expect(he.fleet?.modbus[0]?.controlsOf(2).connected).toBe(false);
    const audit = await (await fetchApi(api, '/api/v1/audit?limit=200')).text();
    expect(audit).toContain('meter replacement, crew on site');
    const back = await post({ type: 'reconnect', meterIds: ['sim-mb-01-2'] });
    await finished(back.body.id as string);
    expect(he.fleet?.modbus[0]?.controlsOf(2).connected).toBe(true);
  });

  it('previews a bulk command with a token, sends it once confirmed, and refuses a reused or mismatched token', async () => {
    const body = { type: 'reconnect', meterIds: ['sim-mb-01-1', 'sim-mq-01-1', 'sim-dl-01-1'] };
    const preview = await post(body, 'bulk-1');
    expect(preview.status).toBe(202);
    expect(preview.body).toMatchObject({ confirmationRequired: true, meters: [{ meterId: 'sim-mb-01-1' }, { meterId: 'sim-mq-01-1' }, { meterId: 'sim-dl-01-1' }] });
    const token = preview.body.confirmationToken as string;
    const mismatch = await post({ ...body, meterIds: ['sim-mb-01-1', 'sim-mq-01-1', 'sim-dl-02-1'], confirmationToken: token }, 'bulk-2');
    expect(mismatch).toMatchObject({ status: 409, body: { code: 'CONFIRMATION_MISMATCH' } });
    const token2 = (await post(body, 'bulk-3')).body.confirmationToken as string;
    const confirmed = await post({ ...body, confirmationToken: token2 }, 'bulk-3');
    expect(confirmed.status).toBe(201);
    expect((await finished(confirmed.body.id as string)).status).toBe('verified');
    expect(await post({ ...body, confirmationToken: token2 }, 'bulk-4')).toMatchObject({ status: 400, body: { code: 'CONFIRMATION_UNKNOWN' } });
  });

  it('skips protected meters of an area disconnect and says so in the preview', async () => {
    const area = he.registry.getMeter('sim-mb-01-2').areaId;
    const preview = await post({ type: 'disconnect', areaId: area });
    expect(preview.status).toBe(202);
    expect(preview.body.skippedProtected).toEqual(['sim-mb-01-2']);
  });
});

describe('bad input', () => {
  it('answers problem+json 4xx with a code', async () => {
    expect(await post({ type: 'disconnect', meterIds: ['nope'] })).toMatchObject({ status: 404, body: { code: 'UNKNOWN_METER' } });
    expect(await post({ type: 'set-limit', meterIds: ['sim-mb-01-1'] })).toMatchObject({ status: 400, body: { code: 'BAD_PARAMS' } });
    expect(await post({ type: 'disconnect', meterIds: ['sim-mb-01-1'] }, null)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
    expect(await post({ type: 'explode', meterIds: ['sim-mb-01-1'] })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
    expect(await post({ type: 'disconnect', meterIds: ['sim-mb-01-1'], areaId: 'tx1' })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
    expect((await fetchApi(api, '/api/v1/commands/cmd-nope')).status).toBe(404);
  });
});

describe('cancel and list', () => {
  it('lists commands by meter and refuses to cancel a finished one', async () => {
    const c = await run({ type: 'reconnect', meterIds: ['sim-mq-01-2'] });
    const list = await (await fetchApi(api, '/api/v1/commands?meterId=sim-mq-01-2&status=closed')).json() as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toContain(c.id);
    const cancel = await fetchApi(api, `/api/v1/commands/${c.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(409);
  });
});

describe('audit', () => {
  it('records the creation, each per-meter outcome and refusals with actor and source', async () => {
    const c = await run({ type: 'reconnect', meterIds: ['sim-dl-02-1'], reason: 'audit check' });
    const page = await (await fetchApi(api, '/api/v1/audit?limit=200')).json() as { items: { action: string; target: string | null; outcome: string; actor: string; source: string | null; detail: Record<string, unknown> | null }[] };
    const mine = page.items.filter((e) => e.detail?.commandId === c.id);
    expect(mine.map((e) => e.action).sort()).toEqual(['command.create', 'command.reconnect', 'command.request']);
    expect(mine.find((e) => e.action === 'command.reconnect')).toMatchObject({ target: 'meter:sim-dl-02-1', outcome: 'ok', actor: 'token:bootstrap', source: '127.0.0.1' });
    expect(page.items.some((e) => e.action === 'command.refused' && e.outcome === 'refused')).toBe(true);
  });
});

describe('on-demand read', () => {
  it('reads quantities with units and device timestamps; concurrent reads of one terminal all succeed', async () => {
    const read = () => fetchApi(api, '/api/v1/meters/sim-mb-01-1/read', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quantities: ['voltage.l1', 'energy.active.import'] }) });
    const replies = await Promise.all([read(), read(), read()]);
    for (const r of replies) {
      expect(r.status).toBe(200);
      const body = await r.json() as { values: { quantity: string; unit: string; ts: string }[]; durationMs: number };
      expect(body.values.map((v) => [v.quantity, v.unit]).sort()).toEqual([['energy.active.import', 'kWh'], ['voltage.l1', 'V']]);
      expect(body.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('reads a DLMS register by OBIS code from the HLS meter, and its load profile', async () => {
    const r = await fetchApi(api, '/api/v1/meters/sim-dl-01-1/read', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ obis: '1.0.1.8.0.255', attribute: 2 }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ values: [{ quantity: 'energy.active.import', unit: 'kWh' }] });
    const to = new Date().toISOString();
    const from = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const p = await fetchApi(api, '/api/v1/meters/sim-dl-01-1/read', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ profile: 'load', from, to }) });
    expect(p.status).toBe(200);
  });

  it('answers 404 for an unknown meter, 400 for bad parameters, 504 with a code when the terminal is silent', async () => {
    const post = (id: string, body: unknown) => fetchApi(api, `/api/v1/meters/${id}/read`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('nope', { quantities: ['power.active'] })).status).toBe(404);
    expect((await post('sim-mb-01-1', { quantities: ['power.nonsense'] })).status).toBe(400);
    expect((await post('sim-mb-01-1', {})).status).toBe(400);
    const silent = await post('bh-1', { quantities: ['power.active'] });
    expect(silent.status).toBe(504);
    expect(await silent.json()).toMatchObject({ code: 'READ_TIMEOUT' });
  });
});

describe('CLI against the running station', () => {
  function io(tty = false) {
    let out = '';
    let err = '';
    return {
      io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s), isTTY: tty }, env: { GRIDHEAD_TOKEN: he.token }, pollMs: 100, ask: () => Promise.resolve('y') },
      out: () => out, err: () => err,
    };
  }

  it('reads a meter and exits 0; exits 2 on bad usage and 3 when the station is unreachable', async () => {
    const a = io();
    expect(await readCommand(['--meter', 'sim-mb-01-1', '--quantity', 'voltage.l1', '--url', he.url], a.io)).toBe(0);
    expect(JSON.parse(a.out())).toMatchObject({ meterId: 'sim-mb-01-1', values: [{ quantity: 'voltage.l1' }] });
    expect(await readCommand(['--quantity', 'voltage.l1', '--url', he.url], io().io)).toBe(2);
    expect(await readCommand(['--meter', 'x', '--url', 'http://127.0.0.1:1'], io().io)).toBe(3);
  });

  it('runs a bulk command through the confirmation prompt with progress lines, exit 0 when all verified', async () => {
    const a = io(false);
    const code = await controlCommand(['reconnect', '--meter', 'sim-mb-01-1', '--meter', 'sim-mq-01-1', '--meter', 'sim-dl-02-1', '--url', he.url], a.io);
    expect(code).toBe(0);
    expect(a.err()).toMatch(/covers 3 meters/);
    expect(a.err()).toMatch(/3\/3 done \(verified 3, failed 0\)/);
    expect(JSON.parse(a.out())).toMatchObject({ status: 'verified' });
    const t = io(true);
    expect(await controlCommand(['clear-limit', '--meter', 'sim-mb-01-1', '--url', he.url], t.io)).toBe(0);
    expect(t.err()).toContain('[##############################]');
  });

  it('exits 1 saying it could not ask when stdin is closed at the bulk confirmation, and sends nothing', async () => {
    const cli = await installCli();
    try {
      const run = await cli.run(['command', 'disconnect', '--meter', 'sim-mb-01-1', '--meter', 'sim-mq-01-1', '--meter', 'sim-dl-02-1', '--url', he.url], { env: { GRIDHEAD_TOKEN: he.token } });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/covers 3 meters/);
      expect(run.stderr).toMatch(/could not ask for confirmation: stdin is closed; nothing sent/);
      expect(run.stdout).toBe('');
      expect(he.fleet?.modbus[0]?.controlsOf(1).connected).toBe(true);
    } finally {
      await cli.dispose();
    }
  }, 60_000);

  it('exits 1 when a meter does not verify', async () => {
    const a = io();
    expect(await controlCommand(['sync-clock', '--meter', 'sim-mb-01-1', '--url', he.url], a.io)).toBe(1);
    expect(JSON.parse(a.out())).toMatchObject({ status: 'failed' });
  });
});
