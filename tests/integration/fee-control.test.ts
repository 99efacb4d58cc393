/**
 * Fee control end to end over real sockets: a whole head-end with a simulated DLMS meter, a
 * prepaid account on it that has used up its credit, the runner on its timers. The account is
 * warned, disconnected (the relay read back, and seen open in the simulated meter), paid through
 * POST /api/v1/fees/payments, and reconnected (verified); every step is in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestHeadEnd } from '../helpers/headend.js';
import { feeStationRelay, startFeeStation } from '../helpers/feeStation.js';

let he: TestHeadEnd;

beforeAll(async () => {
  he = await startFeeStation();
}, 60_000);

afterAll(async () => {
  await he.stop();
});

const relay = () => feeStationRelay(he);

async function audit(action: string): Promise<Record<string, unknown> | undefined> {
  const res = await he.get(`/api/v1/audit?limit=200`);
  return (res.body as { items: Record<string, unknown>[] }).items.find((e) => e.action === action);
}

describe('fee control against a simulated DLMS meter', () => {
  it('warns, disconnects with the relay read back, and reconnects within seconds of a payment', async () => {
    expect(relay()).toBe(true);
    const warned = await eventually(() => audit('fees.warn-second'), 20_000, 'the final warning');
    expect(warned).toMatchObject({ actor: 'system:fee-control', target: 'fee-account:acc-e2e', outcome: 'ok' });
    const off = await eventually(() => audit('fees.disconnect'), 20_000, 'the disconnection');
    expect(off).toMatchObject({ outcome: 'ok' });
    expect(relay()).toBe(false);
    // The command behind it, verified by reading the relay back.
    const commandId = (off.detail as { commandId: string }).commandId;
    const command = (await he.get(`/api/v1/commands/${commandId}`)).body as { type: string; targets: { status: string; state: { connected: boolean } }[] };
    expect(command).toMatchObject({ type: 'disconnect', targets: [{ status: 'verified', state: { connected: false } }] });
    expect(await audit('command.disconnect')).toMatchObject({ target: 'meter:sim-dl-01-1' });

    const paid = await fetch(`${he.url}/api/v1/fees/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${he.token}`, 'content-type': 'application/json', 'idempotency-key': 'pay-e2e-1' },
      body: JSON.stringify({ paymentId: 'P-E2E-1', accountId: 'acc-e2e', amountMinor: 5_000, currency: 'CNY', paidAt: new Date().toISOString() }),
    });
    expect(paid.status).toBe(201);
    const on = await eventually(() => audit('fees.reconnect'), 20_000, 'the reconnection');
    expect(on).toMatchObject({ outcome: 'ok', detail: { reason: 'reconnected' } });
    expect(relay()).toBe(true);
    expect(await audit('command.reconnect')).toMatchObject({ target: 'meter:sim-dl-01-1' });
    const account = (await he.get('/api/v1/fees/accounts/acc-e2e')).body as { control: { stage: string } };
    expect(account.control.stage).toBe('normal');
    // The recovery reports see the disconnection closed and time the payment to the verified reconnection.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const times = (await he.get(`/api/v1/fees/reports/reconnection-times?from=${from}&to=${to}`)).body as { count: number; items: { accountId: string; durationMs: number }[] };
    expect(times.count).toBe(1);
    expect(times.items[0]).toMatchObject({ accountId: 'acc-e2e' });
    expect(times.items[0]?.durationMs).toBeGreaterThanOrEqual(0);
    const disconnections = (await he.get('/api/v1/fees/reports/disconnected')).body as { closed: { accountId: string }[] };
    expect(disconnections.closed.map((d) => d.accountId)).toEqual(['acc-e2e']);
  });
});
