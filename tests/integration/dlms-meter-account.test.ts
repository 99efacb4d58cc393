/**
 * Meters that keep their own account, end to end over HTTP and real sockets: read-account and
 * add-credit through POST /api/v1/commands, the command lifecycle, read-back verification and
 * audit, against a simulated DLMS meter with payment metering objects; a DLMS meter without them
 * fails its target as not supported, a Modbus meter is refused at submission, and the OpenAPI
 * document shows both types.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { fetchApi } from '../helpers/api.js';
import { eventually, FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const PASSWORD = '12345678';
let he: TestHeadEnd;
let api: { url: string; token: string };
const withAccount = new DlmsMeterSimulator({ framing: 'wrapper', seed: 21, serialNumber: '00000021', historyDays: 0, password: PASSWORD, payment: { tokenCredit: 10_000 } });
const withoutAccount = new DlmsMeterSimulator({ framing: 'wrapper', seed: 22, serialNumber: '00000022', historyDays: 0, password: PASSWORD });

beforeAll(async () => {
  await withAccount.start();
  await withoutAccount.start();
  he = await startTestHeadEnd({
    ...FAST_FLEET,
    control: { confirmAbove: 10, perTerminalRatePerMinute: 600, commandTimeoutMs: 4_000 },
    simulators: { ...FAST_FLEET.simulators, mqtt: { count: 0, metersPerTerminal: 1, publishIntervalMs: 1_000 }, dlms: { count: 0, framing: 'wrapper', profiles: [] } },
  });
  api = { url: he.url, token: he.token };
  for (const [id, sim] of [['pay', withAccount], ['nopay', withoutAccount]] as const) {
    await he.registry.createTerminal({ id, name: id, protocol: 'dlms', enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low' } });
    await he.registry.createMeter({ id: `${id}-1`, name: `${id} 1`, terminalId: id, address: '1', ctRatio: 1, ptRatio: 1, protected: false });
    const keys = await fetchApi(api, `/api/v1/meters/${id}-1/keys`, { method: 'PUT', body: JSON.stringify({ password: PASSWORD }), headers: { 'content-type': 'application/json' } });
    expect(keys.status).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await he.stop();
  await withAccount.stop();
  await withoutAccount.stop();
});

let keys = 0;
async function post(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetchApi(api, '/api/v1/commands', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'idempotency-key': `acct-${++keys}` } });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

interface Target { status: string; state: Record<string, unknown> | null; error: { code: string; message: string } | null; transitions: { status: string }[] }

async function run(body: Record<string, unknown>): Promise<Target> {
  const r = await post(body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const c = await eventually(async () => {
    const v = await (await fetchApi(api, `/api/v1/commands/${String(r.body.id)}`)).json() as { status: string; targets: Target[] };
    return v.status === 'open' ? undefined : v;
  }, 20_000, 'the command to finish');
  const [t] = c.targets;
  if (t === undefined) throw new Error('no target');
  return t;
}

describe('commands on a meter\'s own account', () => {
  it('reads the account through the command service, verified', async () => {
    const t = await run({ type: 'read-account', meterIds: ['pay-1'], reason: 'compare with the station balance' });
    expect(t.status).toBe('verified');
    expect(t.state?.account).toMatchObject({ mode: 'prepayment', status: 'active', availableCredit: { scale: -2, currency: 'CNY' } });
    expect((t.state?.account as { credits: unknown[] }).credits).toHaveLength(2);
  });

  it('adds credit in minor units, verified by the available credit read back, and audits it', async () => {
    const before = withAccount.meter.account?.credits[0].amount ?? 0;
    const t = await run({ type: 'add-credit', meterIds: ['pay-1'], params: { amountMinor: 5_000, currency: 'CNY' }, reason: 'payment 42' });
    expect(t.status, JSON.stringify(t.error)).toBe('verified');
    expect(t.transitions.map((x) => x.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
    const rose = ((t.state?.account as { availableCredit: { raw: number } }).availableCredit.raw) - ((t.state?.availableCreditBefore as { raw: number }).raw);
    expect(Math.abs(rose - 5_000)).toBeLessThanOrEqual(50);
    // In the meter itself: the token credit holds the 50.00 CNY more, less what the load consumed meanwhile.
    expect(withAccount.meter.account?.credits[0].amount).toBeGreaterThan(before + 4_900);
    const audit = await (await fetchApi(api, '/api/v1/audit?action=command.add-credit')).json() as { items: { target: string; outcome: string }[] };
    expect(audit.items).toEqual(expect.arrayContaining([expect.objectContaining({ target: 'meter:pay-1', outcome: 'ok' })]));
  });

  it('fails the target of a DLMS meter without payment metering objects as not supported', async () => {
    const t = await run({ type: 'read-account', meterIds: ['nopay-1'] });
    expect(t.status).toBe('failed');
    expect(t.error?.code).toBe('PAYMENT_METERING_UNSUPPORTED');
    expect(t.error?.message).toContain('IC 111 Account at 0.0.19.0.0.255');
  });

  it('refuses the commands for a meter over a protocol without payment metering, and bad amounts, naming the field', async () => {
    const modbus = await post({ type: 'add-credit', meterIds: ['sim-mb-01-1'], params: { amountMinor: 100, currency: 'CNY' } });
    expect(modbus.status).toBe(409);
    expect(modbus.body.code).toBe('PAYMENT_METERING_UNSUPPORTED');
    const zero = await post({ type: 'add-credit', meterIds: ['pay-1'], params: { amountMinor: 0, currency: 'CNY' } });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body)).toContain('amountMinor');
    const unknown = await post({ type: 'add-credit', meterIds: ['pay-1'], params: { amountMinor: 100, currency: 'XYZ' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('params.currency');
    const stray = await post({ type: 'read-account', meterIds: ['pay-1'], params: { amountMinor: 100 } });
    expect(stray.status).toBe(400);
  });

  it('shows both types and the add-credit parameters in the OpenAPI document', async () => {
    const doc = await (await fetchApi(api, '/docs/json')).json() as Record<string, unknown>;
    const text = JSON.stringify(doc);
    expect(text).toContain('"read-account"');
    expect(text).toContain('"add-credit"');
    expect(text).toContain('amountMinor');
  });
});
