/**
 * Fee accounts in the whole head-end: the routes are served, behind access control, only
 * while fee control is on (`fees.enabled`), and the service behind them checks against the
 * station's registry.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const REGISTRY = {
  terminals: [{ id: 't1', protocol: 'mqtt' }],
  meters: [{ id: 'm1', terminalId: 't1', address: '1' }],
};

const env = { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') };
let started: TestHeadEnd | undefined;
afterEach(async () => {
  await started?.stop();
  started = undefined;
});

describe('fee accounts in the head-end', () => {
  it('serves the fee routes while fee control is on, checking accounts against the registry', async () => {
    started = await startTestHeadEnd({ registry: REGISTRY, fees: { enabled: true } }, { env });
    expect(await started.get('/api/v1/fees/accounts')).toMatchObject({ status: 200, body: { items: [], next: null } });
    const account = { id: 'a1', customerRef: 'C1', name: 'Home', meterIds: ['m1', 'm9'], mode: 'prepaid', tariffId: 'flat', creditLimitMinor: 0, warnFirstMinor: 2, warnSecondMinor: 1 };
    expect(await started.send('POST', '/api/v1/fees/accounts', account)).toMatchObject({ status: 400, body: { errors: [{ path: 'meterIds[1]' }] } });
    const res = await fetch(`${started.url}/api/v1/fees/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${started.token}`, 'content-type': 'application/json', 'idempotency-key': 'k1' },
      body: JSON.stringify({ paymentId: 'P-1', accountId: 'a1', amountMinor: 100, currency: 'CNY', paidAt: new Date().toISOString() }),
    });
    expect([res.status, (await res.json() as { errors: { path: string }[] }).errors[0]?.path]).toEqual([400, 'accountId']);
    expect((await fetch(`${started.url}/api/v1/fees/accounts`)).status).toBe(401);
  });

  it('serves no fee route while fee control is off', async () => {
    started = await startTestHeadEnd({ registry: REGISTRY }, { env });
    expect((await started.get('/api/v1/fees/accounts')).status).toBe(404);
  });
});
