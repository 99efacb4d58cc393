/**
 * The fee pages in a real browser (Debian chromium via playwright-core) against a head-end with
 * fee control on: an account's balance, ledger and tariff explanation; a payment recorded by a
 * billing user credited once; the fee-control overview listing a disconnected account; English
 * and 简体中文. Accounts, charges and decisions are written through the fee store, as the
 * fee-control runner (not part of this station yet) would have left them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeeAccount } from '../../src/fees/model.js';
import { SqliteFeeStore } from '../../src/fees/sqliteStore.js';
import { openDatabase } from '../../src/storage/db.js';
import { eventually } from '../helpers/headend.js';
import { CHROMIUM, chromiumPresent, screenshot, scrollsSideways, startDashboard, type Dashboard } from './harness.js';

const test = it.skipIf(!chromiumPresent);
if (!chromiumPresent) console.log(`tests/e2e/fees-dashboard: skipped, ${CHROMIUM} is not installed (apt install chromium)`);

const DAY = 86_400_000;
const NOW = Date.now();
let d: Dashboard;

function account(id: string, name: string, meterId: string): FeeAccount {
  return {
    id, customerRef: `C-${id}`, name, meterIds: [meterId], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 1000, warnFirstMinor: 5000, warnSecondMinor: 1000, reconnectMinor: 0, protected: false, notify: { kind: 'none' },
    createdAt: NOW - 60 * DAY, updatedAt: NOW - 60 * DAY,
  };
}

async function seed(dataDir: string): Promise<void> {
  const db = openDatabase(join(dataDir, 'gridhead.db'));
  try {
    const fees = new SqliteFeeStore(db);
    await fees.createAccount(account('acc-1', 'Wang Fang', 'sim-mq-01-1'));
    await fees.createAccount(account('acc-2', 'Li Lei', 'sim-mq-01-2'));
    const charge = (accountId: string, n: number, amountMinor: number) => ({
      accountId, kind: 'charge' as const, amountMinor, currency: 'CNY', key: `charge:${n}`, at: NOW - n * DAY, periodFrom: NOW - (n + 1) * DAY, periodTo: NOW - n * DAY, actor: 'fee-run',
      detail: { tariffId: 'flat', lines: [{ kind: 'energy', label: 'energy, flat', quantity: '20.5', unit: 'kWh', price: '0.5683', amountMinor: -amountMinor }] },
    });
    // acc-1: 30 daily charges of 11.65 and one payment of 300.00: −49.50.
    await fees.append([
      ...Array.from({ length: 30 }, (_, i) => charge('acc-1', i + 1, -1165)),
      { accountId: 'acc-1', kind: 'payment', amountMinor: 30_000, currency: 'CNY', key: 'payment:p-0', paymentId: 'p-0', at: NOW - 20 * DAY, actor: 'token:pay' },
    ]);
    await fees.append([charge('acc-2', 3, -8000)]);
    await fees.recordDecisions([
      { accountId: 'acc-1', at: NOW - 2 * DAY, action: 'warn-first', reason: 'below-first-warning', message: 'below first warning', balanceMinor: -4785 },
      { accountId: 'acc-2', at: NOW - 2 * DAY, action: 'wait', reason: 'night', message: 'night', balanceMinor: -8000, nextWindowAt: NOW - DAY },
      { accountId: 'acc-2', at: NOW - DAY, action: 'disconnect', reason: 'exhausted', message: 'exhausted', balanceMinor: -8000 },
    ]);
    const s = await fees.controlState('acc-2');
    if (s === undefined) throw new Error('no state for acc-2');
    await fees.saveControlState({ ...s, stage: 'disconnected', disconnectedAt: NOW - DAY, updatedAt: NOW - DAY }, s.version);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  if (!chromiumPresent) return;
  // Fee control's own runs stay out of the way: the seeded accounts are below their warnings,
  // and a run (the prepaid cycle, or the payment follower finding the seeded payment) would
  // warn them whenever the policy's hours allow, making the page's stage depend on the time of day.
  d = await startDashboard({ config: { fees: { enabled: true, run: { prepaidEveryMs: 3_600_000, paymentPollMs: 60_000 } } } });
  await seed(d.he.dataDir);
}, 90_000);

afterAll(async () => {
  if (chromiumPresent) await d.close();
});

describe('fee dashboard', () => {
  test('the account page shows the balance, the ledger page by page, the tariff lines and the warning', async () => {
    const { page } = await d.session('operator');
    await page.goto('/#/fees/acc-1');
    await page.locator('[data-balance="-4950"]').waitFor();
    expect(await page.locator('[data-balance]').textContent()).toBe('−49.50 CNY');
    expect(await page.locator('[data-stage]').textContent()).toBe('normal');
    // The ledger loads on its own request, after the account's: wait for its newest row.
    const rows = page.locator('[data-table=ledger] tbody tr');
    await page.locator('[data-table=ledger] tbody tr[data-seq="31"]').waitFor();
    expect(await rows.count()).toBe(20);
    // Newest row first: the payment was booked last.
    expect(await rows.first().getAttribute('data-kind')).toBe('payment');
    await page.click('[data-action=older]');
    await page.locator('[data-table=ledger] tbody tr[data-seq="11"]').waitFor();
    expect([await rows.count(), await page.locator('[data-table=ledger] tbody tr[data-kind=charge]').count()]).toEqual([11, 11]);
    await page.click('[data-action=newer]');
    await page.locator('[data-table=ledger] tbody tr[data-seq="31"]').waitFor();
    expect(await page.locator('[data-table=charge-lines]').first().textContent()).toContain('energy, flat20.5 kWh0.568311.65 CNY');
    expect(await page.locator('[data-table=decisions] tr[data-action=warn-first]').textContent()).toContain('below the first warning');
    // An operator reads the account but records no payment.
    expect(await page.locator('[data-action=record-payment]').count()).toBe(0);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'fee-account');
  });

  test('a billing user records a payment typed in yuan, credited once however often the form is sent', async () => {
    const { page } = await d.session('billing');
    await page.goto('/');
    // The billing role sees the fee pages only, and starts on them.
    await page.locator('[data-group=disconnected]').waitFor();
    expect([await page.locator('nav a').count(), await page.locator('nav a').first().getAttribute('data-nav')]).toEqual([1, 'fees']);
    await page.goto('/#/fees/acc-1');
    await page.click('[data-action=record-payment]');
    await page.fill('[data-dialog=payment] input[name=amount]', '19.999');
    await page.click('[data-action=record]');
    expect(await page.locator('[data-dialog=payment] .error').textContent()).toBe('At most 2 decimals');
    await page.fill('[data-dialog=payment] input[name=amount]', '119.99');
    const paymentId = await page.inputValue('[data-dialog=payment] input[name=paymentId]');
    // Sent twice before the first answer could disable the button: one Idempotency-Key, one paymentId.
    await page.evaluate("(() => { const f = document.querySelector('[data-dialog=payment] form'); f.requestSubmit(); f.requestSubmit(); })()");
    await page.locator('[data-booked="11999"]').waitFor();
    await page.click('[data-dialog=payment] [data-action=close]');
    await page.locator('[data-balance="7049"]').waitFor();
    const ledger = await d.he.get('/api/v1/fees/accounts/acc-1/ledger?limit=100');
    const payments = (ledger.body as { items: { kind: string; paymentId?: string; amountMinor: number }[] }).items.filter((e) => e.paymentId === paymentId);
    expect(payments).toEqual([expect.objectContaining({ kind: 'payment', amountMinor: 11_999 })]);
    await screenshot(page, 'fee-payment');
  });

  test('the overview lists the disconnected account and the reports, in English and in Chinese', async () => {
    for (const lang of ['en', 'zh'] as const) {
      const { page } = await d.session('billing', lang);
      await page.goto('/#/fees');
      const row = page.locator('[data-group=disconnected] tr[data-account=acc-2]');
      await row.waitFor();
      expect(await row.textContent()).toContain(lang === 'en' ? 'disconnected' : '已停电');
      expect(await page.locator('[data-group=disconnected] h3').textContent()).toContain(lang === 'en' ? 'Disconnected' : '已停电');
      // The open disconnections are a list of their own, loaded by their own request.
      const open = page.locator('[data-disconnection=open][data-account=acc-2]');
      await open.first().waitFor();
      expect(await open.count()).toBe(1);
      // Every indebted account (acc-2, and acc-1 until the payment above) counted under its area.
      const owing = ((await d.he.get('/api/v1/fees/reports/arrears')).body as { items: unknown[] }).items.length;
      const accounts = await eventually(async () => {
        const cells = await page.locator('[data-report=arrears] tbody tr td:nth-child(2)').allTextContents();
        return cells.length > 0 ? cells.reduce((s, c) => s + Number(c), 0) : undefined;
      }, 10_000, 'arrears rows');
      expect([accounts, owing > 0]).toEqual([owing, true]);
      expect(await page.locator('[data-report=recovery] h3').textContent()).toContain(lang === 'en' ? 'Recovery rate' : '电费回收率');
      expect(await scrollsSideways(page)).toBe(false);
      await screenshot(page, `fee-overview-${lang}`);
    }
  });
});
