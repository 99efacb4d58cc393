/**
 * The account page in a real browser (Debian chromium via playwright-core) showing, beside the
 * balance, the credit a meter keeps in its own account: a simulated DLMS meter with payment
 * metering objects holding 30.00 CNY, an account on it with 80.00 CNY paid in, fee control
 * reading and comparing it on its timer; the disagreement shown in English and in 简体中文.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { CHROMIUM, chromiumPresent, screenshot, scrollsSideways, startDashboard, type Dashboard } from './harness.js';

const test = it.skipIf(!chromiumPresent);
if (!chromiumPresent) console.log(`tests/e2e/fees-meter-credit: skipped, ${CHROMIUM} is not installed (apt install chromium)`);

const PASSWORD = '12345678';
const meter = new DlmsMeterSimulator({ framing: 'wrapper', seed: 41, serialNumber: '00000041', historyDays: 0, password: PASSWORD, payment: { tokenCredit: 3_000 } });
let d: Dashboard;

beforeAll(async () => {
  if (!chromiumPresent) return;
  await meter.start();
  d = await startDashboard({ config: { fees: { enabled: true, tariffs: [{ id: 'flat', kind: 'flat', price: '0.5' }], run: { meterCreditEveryMs: 300, meterCreditToleranceMinor: 500 } } } });
  const ok = (r: { status: number; body: unknown }, status: number) => { expect(r.status, JSON.stringify(r.body)).toBe(status); };
  ok(await d.he.send('POST', '/api/v1/terminals', { id: 'own', name: 'own', protocol: 'dlms', enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: meter.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, auth: 'low' } }), 201);
  ok(await d.he.send('POST', '/api/v1/meters', { id: 'own-1', name: 'own 1', terminalId: 'own', address: '1', ctRatio: 1, ptRatio: 1, protected: false }), 201);
  ok(await d.he.send('POST', '/api/v1/fees/accounts', {
    id: 'acc-own', customerRef: 'C-own', name: 'Zhao Min', meterIds: ['own-1'], mode: 'prepaid', protected: true, tariffId: 'flat',
    creditLimitMinor: 0, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 100,
  }), 201);
  const paid = await fetch(`${d.he.url}/api/v1/fees/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.he.token}`, 'content-type': 'application/json', 'idempotency-key': 'pay-own' },
    body: JSON.stringify({ paymentId: 'P-own', accountId: 'acc-own', amountMinor: 8_000, currency: 'CNY', paidAt: new Date().toISOString() }),
  });
  expect(paid.status).toBe(201);
  ok(await d.he.send('PUT', '/api/v1/meters/own-1/keys', { password: PASSWORD }), 200);
}, 90_000);

afterAll(async () => {
  if (!chromiumPresent) return;
  await d.close();
  await meter.stop();
});

describe('the credit a meter keeps, on the account page', () => {
  test('is shown beside the balance with the station\'s balance and the disagreement, in English and in Chinese', async () => {
    for (const lang of ['en', 'zh'] as const) {
      const { page } = await d.session('operator', lang);
      await page.goto('/#/fees/acc-own');
      const row = page.locator('[data-table=meter-credit] tr[data-meter=own-1][data-comparison=mismatch]');
      await row.waitFor({ timeout: 20_000 });
      const text = await row.textContent() ?? '';
      expect(text).toContain('80.00');
      expect(text).toContain(lang === 'en' ? 'disagree' : '不一致');
      expect(text).toContain(lang === 'en' ? 'prepayment, active' : '预付费模式, 启用');
      expect(Number(await row.locator('[data-available]').getAttribute('data-available'))).toBeLessThanOrEqual(3_000);
      expect(await page.locator('[data-meter-credit] h3').textContent()).toBe(lang === 'en' ? 'Credit kept in the meters' : '电表内余额（本地费控）');
      expect(await scrollsSideways(page)).toBe(false);
      await screenshot(page, `fee-meter-credit-${lang}`);
    }
  });
});
