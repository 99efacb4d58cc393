/**
 * The fee report routes over HTTP on a whole head-end (embedded store): JSON and RFC 4180 CSV
 * (by `format=csv` and by `Accept: text/csv`), keyset pages of arrears, bad input as 400 naming
 * the field, and who may read them (every role: access `fees`).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeeAccount } from '../../../src/fees/model.js';
import { SqliteFeeStore } from '../../../src/fees/sqliteStore.js';
import type { NewLedgerEntry } from '../../../src/fees/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { startTestHeadEnd, type TestHeadEnd } from '../../helpers/headend.js';

const DAY = 86_400_000;
const MIN = 60_000;
const NOW = Date.now();

let started: TestHeadEnd | undefined;
const he = (): TestHeadEnd => {
  if (started === undefined) throw new Error('head-end not started');
  return started;
};
let billingToken: string;
let viewerToken: string;

async function call(path: string, token: string, accept?: string): Promise<{ status: number; type: string | null; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(`${he().url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}`, ...(accept === undefined ? {} : { accept }) } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

async function newToken(name: string, role: string): Promise<string> {
  const res = await he().send('POST', '/api/v1/tokens', { name, role });
  expect(res.status).toBe(201);
  return (res.body as { token: string }).token;
}

function account(id: string, meterIds: string[], o: Partial<FeeAccount> = {}): FeeAccount {
  return {
    id, customerRef: `C-${id}`, name: id === 'a2' ? 'Smith, "Jr"' : `Customer ${id}`, meterIds, mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 0, warnFirstMinor: 5000, warnSecondMinor: 1000, reconnectMinor: 0, protected: false, notify: { kind: 'none' },
    createdAt: NOW - 200 * DAY, updatedAt: NOW - 200 * DAY, ...o,
  };
}

function entry(accountId: string, key: string, kind: NewLedgerEntry['kind'], amountMinor: number, at: number, paymentId?: string): NewLedgerEntry {
  return { accountId, key, kind, amountMinor, currency: 'CNY', at, actor: 'test', ...(paymentId === undefined ? {} : { paymentId }) };
}

beforeAll(async () => {
  started = await startTestHeadEnd({
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    fees: { enabled: true },
    registry: {
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 },
        { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'r1', transformerKva: 400 }],
      terminals: [{ id: 't1', protocol: 'mqtt' }],
      meters: [{ id: 'm1', terminalId: 't1', address: '1', areaId: 'tx1' }, { id: 'm2', terminalId: 't1', address: '2', areaId: 'tx2' }, { id: 'm3', terminalId: 't1', address: '3', areaId: 'tx2' }],
    },
  }, { env: { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') } });
  billingToken = await newToken('billing-system', 'billing');
  viewerToken = await newToken('dispatch-screen', 'viewer');
  // The ledger and decisions written through the fee store beside the running station.
  const db = openDatabase(join(he().dataDir, 'gridhead.db'));
  try {
    const fees = new SqliteFeeStore(db);
    await fees.createAccount(account('a1', ['m1']));
    await fees.createAccount(account('a2', ['m2']));
    await fees.createAccount(account('a3', ['m3']));
    await fees.append([
      entry('a1', 'c1', 'charge', -3000, NOW - 40 * DAY), entry('a1', 'c2', 'charge', -2000, NOW - 5 * DAY), entry('a1', 'p1', 'payment', 1000, NOW - 3 * DAY, 'pay-1'),
      entry('a2', 'c1', 'charge', -700, NOW - 100 * DAY),
      entry('a3', 'c1', 'charge', -900, NOW - 2 * DAY), entry('a3', 'p1', 'payment', 1000, NOW - 2 * DAY + 20 * MIN, 'pay-3'),
    ]);
    await fees.recordDecisions([
      { accountId: 'a3', at: NOW - 2 * DAY, action: 'disconnect', reason: 'exhausted', message: 'exhausted', balanceMinor: -900 },
      { accountId: 'a3', at: NOW - 2 * DAY + 21 * MIN, action: 'reconnect', reason: 'paid', message: 'sent', balanceMinor: 100 },
      { accountId: 'a3', at: NOW - 2 * DAY + 26 * MIN, action: 'reconnect', reason: 'reconnected', message: 'verified', balanceMinor: 100 },
      { accountId: 'a2', at: NOW - DAY, action: 'disconnect', reason: 'exhausted', message: 'exhausted', balanceMinor: -700 },
    ]);
    const s = await fees.controlState('a2');
    if (s === undefined) throw new Error('no state');
    await fees.saveControlState({ ...s, stage: 'disconnected', disconnectedAt: NOW - DAY, updatedAt: NOW - DAY }, s.version);
  } finally {
    db.close();
  }
}, 60_000);

afterAll(async () => {
  await started?.stop();
});

describe('fee report routes', () => {
  it('pages arrears by area with age buckets and sums them per area on the first page', async () => {
    const first = await call('/fees/reports/arrears?limit=1', billingToken);
    expect(first.status).toBe(200);
    const page = first.json() as { areas: unknown[]; items: { accountId: string; debtMinor: number; d31to60Minor: number; d0to30Minor: number }[]; next: string };
    expect(page.items).toEqual([expect.objectContaining({ accountId: 'a1', areaId: 'tx1', debtMinor: 4000, d0to30Minor: 2000, d31to60Minor: 2000, currency: 'CNY' })]);
    expect(page.areas).toEqual([
      expect.objectContaining({ areaId: 'tx1', accounts: 1, debtMinor: 4000 }),
      expect.objectContaining({ areaId: 'tx2', accounts: 1, debtMinor: 700, over90Minor: 700 }),
    ]);
    const second = await call(`/fees/reports/arrears?limit=1&cursor=${encodeURIComponent(page.next)}`, billingToken);
    expect(second.json()).toMatchObject({ areas: null, items: [{ accountId: 'a2' }], next: null });
  });

  it('exports every indebted account as CSV, asked by format or by Accept, quoting per RFC 4180', async () => {
    const expected = 'account_id,name,customer_ref,area,currency,debt_minor,d0_30_minor,d31_60_minor,d61_90_minor,over_90_minor\r\n'
      + 'a1,Customer a1,C-a1,tx1,CNY,4000,2000,2000,0,0\r\n'
      + 'a2,"Smith, ""Jr""",C-a2,tx2,CNY,700,0,0,0,700\r\n';
    for (const r of [await call('/fees/reports/arrears?format=csv', billingToken), await call('/fees/reports/arrears', billingToken, 'text/csv')]) {
      expect([r.status, r.type, r.text]).toEqual([200, 'text/csv; charset=utf-8', expected]);
    }
  });

  it('answers the recovery rate per area and month, and a bad month as 400 naming the field', async () => {
    const month = new Date(NOW).toISOString().slice(0, 7);
    const from = new Date(NOW - 120 * DAY).toISOString().slice(0, 7);
    const r = await call(`/fees/reports/recovery?from=${from}&to=${month}`, billingToken);
    expect(r.status).toBe(200);
    const items = (r.json() as { items: { areaId: string; paidMinor: number; billedMinor: number }[] }).items;
    const sum = (area: string) => items.filter((i) => i.areaId === area).reduce<[number, number]>(([p, b], i) => [p + i.paidMinor, b + i.billedMinor], [0, 0]);
    expect(sum('tx1')).toEqual([1000, 5000]);
    expect(sum('tx2')).toEqual([1000, 1600]);
    const csv = await call(`/fees/reports/recovery?from=${from}&to=${month}&format=csv`, billingToken);
    expect(csv.text.split('\r\n')[0]).toBe('area,month,currency,paid_minor,billed_minor,rate');
    const reversed = await call(`/fees/reports/recovery?from=${month}&to=${from}`, billingToken);
    expect([reversed.status, (reversed.json() as { code: string; detail: string }).detail]).toEqual([400, '`to` must not be before `from`']);
    const bad = await call('/fees/reports/recovery?from=2025-13&to=2025-01', billingToken);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('from');
  });

  it('lists disconnected accounts now and past ones with their durations, as JSON and CSV', async () => {
    const r = await call('/fees/reports/disconnected', billingToken);
    const body = r.json() as { open: { accountId: string; stage: string; durationMs: number }[]; closed: { accountId: string; durationMs: number }[] };
    expect(body.open).toEqual([expect.objectContaining({ accountId: 'a2', stage: 'disconnected', disconnectedAt: new Date(NOW - DAY).toISOString(), reconnectedAt: null })]);
    expect(body.open[0]?.durationMs).toBeGreaterThanOrEqual(DAY);
    expect(body.closed).toEqual([expect.objectContaining({ accountId: 'a3', durationMs: 26 * MIN, reconnectedAt: new Date(NOW - 2 * DAY + 26 * MIN).toISOString() })]);
    const csv = await call('/fees/reports/disconnected?format=csv', billingToken);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('state,account_id,name,area,disconnected_at,reconnected_at,duration_ms,stage,balance_minor,currency');
    expect(lines[2]).toBe(`closed,a3,Customer a3,tx2,${new Date(NOW - 2 * DAY).toISOString()},${new Date(NOW - 2 * DAY + 26 * MIN).toISOString()},${26 * MIN},,100,CNY`);
  });

  it('gives the payment-to-reconnection median and p95, in the CSV headers too', async () => {
    const q = `from=${new Date(NOW - 7 * DAY).toISOString()}&to=${new Date(NOW).toISOString()}`;
    const r = await call(`/fees/reports/reconnection-times?${q}`, billingToken);
    expect(r.json()).toMatchObject({ count: 1, medianMs: 6 * MIN, p95Ms: 6 * MIN, truncated: false, items: [{ accountId: 'a3', paymentId: 'pay-3', durationMs: 6 * MIN }] });
    const csv = await call(`/fees/reports/reconnection-times?${q}`, billingToken, 'text/csv');
    expect([csv.headers.get('x-count'), csv.headers.get('x-median-ms'), csv.headers.get('x-p95-ms')]).toEqual(['1', String(6 * MIN), String(6 * MIN)]);
    expect(csv.text.split('\r\n')[1]).toMatch(/^a3,tx2,.*,pay-3,.*,360000$/);
    const missing = await call('/fees/reports/reconnection-times', billingToken);
    expect(missing.status).toBe(400);
  });

  it('lists the watched accounts for the overview, with the disconnected one', async () => {
    const r = await call('/fees/reports/watched', billingToken);
    expect((r.json() as { items: { accountId: string; stage: string }[] }).items.map((w) => [w.accountId, w.stage])).toEqual([['a2', 'disconnected'], ['a1', 'normal'], ['a3', 'normal']]);
  });

  it('serves billing staff and operators alike (access `fees`), and nobody without credentials', async () => {
    for (const path of ['/fees/reports/arrears', '/fees/reports/disconnected', '/fees/reports/watched']) {
      expect([path, (await call(path, viewerToken)).status, (await call(path, billingToken)).status]).toEqual([path, 200, 200]);
      expect((await fetch(`${he().url}/api/v1${path}`)).status).toBe(401);
    }
  });
});
