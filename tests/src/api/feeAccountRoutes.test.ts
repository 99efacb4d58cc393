/**
 * The fee account and payment routes over a real socket, in front of the real service and fee
 * store on every driver (embedded SQLite and PostgreSQL): payments credited once however they
 * are retried, reversals once, adjustments, accounts with their balance and state, bad input
 * answered 400 with the field named, and everything kept across a restart.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { installAccessControl } from '../../../src/api/access.js';
import { feeAccountRoutes } from '../../../src/api/feeAccountRoutes.js';
import { feePaymentRoutes } from '../../../src/api/feePaymentRoutes.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import type { Principal } from '../../../src/auth/roles.js';
import { FeeAccountService } from '../../../src/fees/accounts/service.js';
import type { MeterCreditReading } from '../../../src/fees/run/meterCredit.js';
import { STORE_DRIVERS, auditLogOf, connectEachTest, disposeStoreDrivers, feeStoreOf, select, type StoreConnection } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2025, 2, 1, 8);
const TOKENS: Readonly<Record<string, Principal>> = {
  billing: { subject: 'token:pay', role: 'billing', via: 'token' },
  viewer: { subject: 'token:view', role: 'viewer', via: 'token' },
};
const METERS = new Set(['m1', 'm2', 'm3', 'm4']);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await disposeStoreDrivers();
});

interface Answer { status: number; body: Record<string, unknown> & { errors?: { path: string }[]; detail?: string } }

async function serve(connection: StoreConnection, meterCredit?: (accountId: string) => readonly MeterCreditReading[] | undefined) {
  const store = feeStoreOf(connection);
  const accounts = new FeeAccountService({
    store, audit: auditLogOf(connection), currency: 'CNY', maxAmountMinor: 100_000_000, now: () => T0,
    meterExists: (id) => METERS.has(id), tariffExists: (id) => id === 'flat',
  });
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(Problem);
  installProblemHandlers(app);
  installAccessControl(app, {
    auth: {
      authenticateToken: (t) => Promise.resolve(TOKENS[t]),
      authenticateSession: () => Promise.resolve(undefined),
      noteRefusal: () => undefined,
    },
  });
  await app.register(feeAccountRoutes, { prefix: '/api/v1', accounts, ...(meterCredit === undefined ? {} : { meterCredit }) });
  await app.register(feePaymentRoutes, { prefix: '/api/v1', accounts });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let closed = false;
  const close = async () => {
    if (!closed) await app.close();
    closed = true;
  };
  cleanups.push(close);
  const call = async (method: string, path: string, body?: unknown, o: { key?: string; token?: string } = {}): Promise<Answer> => {
    // Reads are for viewers, writes for the billing role.
    const headers: Record<string, string> = { authorization: `Bearer ${o.token ?? (method === 'GET' ? 'viewer' : 'billing')}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (o.key !== undefined) headers['idempotency-key'] = o.key;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : JSON.parse(text) as Answer['body'] };
  };
  return { call, store, accounts, port, close };
}

const account = (id: string, o: Record<string, unknown> = {}) => ({
  id, customerRef: `c-${id}`, name: `Customer ${id}`, meterIds: [`m${id.slice(1)}`], mode: 'prepaid', tariffId: 'flat',
  creditLimitMinor: 1000, warnFirstMinor: 5000, warnSecondMinor: 1000, ...o,
});
const pay = (paymentId: string, amountMinor: number, o: Record<string, unknown> = {}) => ({
  paymentId, accountId: 'a1', amountMinor, currency: 'CNY', paidAt: new Date(T0 - 60_000).toISOString(), ...o,
});
const balanceOf = (a: Answer) => (a.body.balance as { balanceMinor: number }).balanceMinor;

describe.each(STORE_DRIVERS)('fee routes on $name', (driver) => {
  const db = connectEachTest(driver);

  it('credits a payment retried after its first answer was lost once, answering the retry with the first row', async () => {
    const { call, accounts, port } = await serve(db().connection);
    expect((await call('POST', '/fees/accounts', account('a1'))).status).toBe(201);
    const body = JSON.stringify(pay('P-1', 5000));
    const booked = new Promise<void>((resolve) => { accounts.onBooked(() => { resolve(); }); });
    // The payment system sends and gives up at once (its timeout): the station books the payment, the answer goes nowhere.
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`POST /api/v1/fees/payments HTTP/1.1\r\nhost: x\r\nauthorization: Bearer billing\r\nidempotency-key: K-1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      socket.destroy();
    });
    await booked;
    const retry = await call('POST', '/fees/payments', pay('P-1', 5000), { key: 'K-1' });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ replayed: true, entry: { kind: 'payment', paymentId: 'P-1', amountMinor: 5000, actor: 'token:pay' } });
    expect(balanceOf(retry)).toBe(5000);
    const again = await call('POST', '/fees/payments', pay('P-1', 5000), { key: 'K-1' });
    expect([again.status, balanceOf(again)]).toEqual([200, 5000]);
    expect(((await call('GET', '/fees/accounts/a1/ledger')).body.items as unknown[])).toHaveLength(1);
  });

  it('credits the same payment sent twice at once a single time', async () => {
    const { call } = await serve(db().connection);
    await call('POST', '/fees/accounts', account('a1'));
    const both = await Promise.all([1, 2].map(() => call('POST', '/fees/payments', pay('P-1', 700), { key: 'K-1' })));
    expect(both.map((a) => a.status).sort()).toEqual([200, 201]);
    expect(balanceOf((await call('GET', '/fees/accounts/a1')))).toBe(700);
  });

  it('refuses the same key with another body, and a new key for a paymentId booked already, naming it', async () => {
    const { call } = await serve(db().connection);
    await call('POST', '/fees/accounts', account('a1'));
    await call('POST', '/fees/accounts', account('a2'));
    expect((await call('POST', '/fees/payments', pay('P-1', 700), { key: 'K-1' })).status).toBe(201);
    expect((await call('POST', '/fees/payments', pay('P-1', 701), { key: 'K-1' })).body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    const sameId = await call('POST', '/fees/payments', pay('P-1', 700), { key: 'K-2' });
    expect(sameId.body).toMatchObject({ status: 409, code: 'PAYMENT_EXISTS' });
    expect(sameId.body.detail).toContain('P-1');
    expect((await call('POST', '/fees/payments', pay('P-1', 700, { accountId: 'a2' }), { key: 'K-3' })).body).toMatchObject({ status: 409, code: 'PAYMENT_EXISTS' });
    expect(balanceOf(await call('GET', '/fees/accounts/a1'))).toBe(700);
    expect(balanceOf(await call('GET', '/fees/accounts/a2'))).toBe(0);
  });

  it('answers bad payments 400 with the field named, and books none of them', async () => {
    const { call } = await serve(db().connection);
    await call('POST', '/fees/accounts', account('a1'));
    const cases: [Record<string, unknown>, RegExp][] = [
      [pay('P-1', -500), /amountMinor/],
      [pay('P-1', 0), /amountMinor/],
      [pay('P-1', 12.5), /amountMinor/],
      [pay('P-1', 1e20), /amountMinor/],
      [pay('P-1', 100_000_001), /amountMinor/],
      [pay('P-1', 500, { accountId: 'ghost' }), /accountId/],
      [pay('P-1', 500, { currency: 'EUR' }), /currency/],
      [pay('P-1', 500, { currency: 'yuan' }), /currency/],
      [pay('P-1', 500, { paidAt: 'yesterday' }), /paidAt/],
    ];
    for (const [i, [body, field]] of cases.entries()) {
      const answer = await call('POST', '/fees/payments', body, { key: `K-${i}` });
      expect([answer.status, answer.body.code === 'VALIDATION' || answer.body.code === 'CURRENCY_MISMATCH']).toEqual([400, true]);
      expect(answer.body.errors?.map((e) => e.path).join(' ')).toMatch(field);
    }
    expect((await call('POST', '/fees/payments', pay('P-1', 500))).status).toBe(400);
    expect(balanceOf(await call('GET', '/fees/accounts/a1'))).toBe(0);
  });

  it('reverses a payment once, answers a retry with the same reversal, and audits payments, reversals and adjustments', async () => {
    const c = db().connection;
    const { call } = await serve(c);
    await call('POST', '/fees/accounts', account('a1'));
    await call('POST', '/fees/payments', pay('P-1', 900), { key: 'K-1' });
    const reversed = await call('POST', '/fees/payments/P-1/reversal', { reason: 'cheque bounced' }, { key: 'R-1' });
    expect(reversed.status).toBe(201);
    expect(reversed.body).toMatchObject({ entry: { kind: 'reversal', amountMinor: -900, paymentId: 'P-1', detail: { reason: 'cheque bounced' } } });
    expect(balanceOf(reversed)).toBe(0);
    expect((await call('POST', '/fees/payments/P-1/reversal', { reason: 'cheque bounced' }, { key: 'R-1' })).status).toBe(200);
    expect((await call('POST', '/fees/payments/P-1/reversal', { reason: 'again' }, { key: 'R-2' })).body).toMatchObject({ status: 409, code: 'PAYMENT_REVERSED' });
    expect((await call('POST', '/fees/payments/P-9/reversal', { reason: 'x' }, { key: 'R-3' })).status).toBe(404);

    const credit = await call('POST', '/fees/accounts/a1/adjustments', { amountMinor: -250, currency: 'CNY', note: 'meter test fee' }, { key: 'A-1' });
    expect([credit.status, balanceOf(credit)]).toEqual([201, -250]);
    expect((await call('POST', '/fees/accounts/a1/adjustments', { amountMinor: -250, currency: 'CNY', note: 'meter test fee' }, { key: 'A-1' })).status).toBe(200);
    expect((await call('POST', '/fees/accounts/a1/adjustments', { amountMinor: 0, currency: 'CNY', note: 'x' }, { key: 'A-2' })).body).toMatchObject({ status: 400, errors: [{ path: 'amountMinor' }] });
    expect(balanceOf(await call('GET', '/fees/accounts/a1'))).toBe(-250);

    const audited = await select<{ action: string; target: string; actor: string }>(c, "SELECT action, target, actor FROM audit_log WHERE action LIKE 'fee.%' ORDER BY id");
    expect(audited).toEqual([
      { action: 'fee.payment', target: 'fee-account:a1', actor: 'token:pay' },
      { action: 'fee.reversal', target: 'fee-account:a1', actor: 'token:pay' },
      { action: 'fee.adjustment', target: 'fee-account:a1', actor: 'token:pay' },
    ]);
  });

  it('manages accounts for the billing role, shows each with balance and state to viewers, and refuses what breaks the rules', async () => {
    const { call, store } = await serve(db().connection);
    const created = await call('POST', '/fees/accounts', account('a1', { mode: 'postpaid', cycle: { closeDay: 5, dueDays: 10 } }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'a1', currency: 'CNY', reconnectMinor: 0, protected: false, notify: { kind: 'none' }, balance: { balanceMinor: 0, currency: 'CNY' }, control: { stage: 'normal', version: 0 } });
    expect((await call('POST', '/fees/accounts', account('a2'), { token: 'viewer' })).status).toBe(403);
    expect((await call('POST', '/fees/payments', pay('P-0', 1), { token: 'viewer', key: 'K-0' })).status).toBe(403);
    const refusals: [Record<string, unknown>, string, number][] = [
      [account('a2', { meterIds: ['m2', 'm-ghost'] }), 'meterIds[1]', 400],
      [account('a2', { tariffId: 'gold' }), 'tariffId', 400],
      [account('a2', { warnFirstMinor: 500 }), 'warnFirstMinor', 400],
      [account('a2', { warnSecondMinor: -2000 }), 'warnSecondMinor', 400],
      [account('a2', { reconnectMinor: -1001 }), 'reconnectMinor', 400],
      [account('a2', { mode: 'postpaid' }), 'cycle', 400],
      [account('a2', { cycle: { closeDay: 1, dueDays: 1 } }), 'cycle', 400],
      [account('a2', { currency: 'EUR' }), 'currency', 400],
    ];
    for (const [body, field, status] of refusals) {
      const answer = await call('POST', '/fees/accounts', body);
      expect([answer.status, answer.body.errors?.[0]?.path]).toEqual([status, field]);
    }
    const taken = await call('POST', '/fees/accounts', account('a2', { meterIds: ['m1'] }));
    expect(taken.body).toMatchObject({ status: 409, code: 'METER_IN_OTHER_ACCOUNT' });
    expect(taken.body.detail).toContain('m1');

    await call('POST', '/fees/accounts', account('a2'));
    await call('POST', '/fees/accounts', account('a3'));
    const first = await call('GET', '/fees/accounts?limit=2', undefined, { token: 'viewer' });
    expect([(first.body.items as { id: string }[]).map((a) => a.id), first.body.next]).toEqual([['a1', 'a2'], 'a2']);
    expect((await call('GET', '/fees/accounts?limit=2&cursor=a2')).body.items).toMatchObject([{ id: 'a3' }]);
    expect(((await call('GET', '/fees/accounts?mode=postpaid')).body.items as { id: string }[]).map((a) => a.id)).toEqual(['a1']);

    const patched = await call('PATCH', '/fees/accounts/a1', { mode: 'prepaid', cycle: null, protected: true, meterIds: ['m1', 'm4'] });
    expect(patched.body).toMatchObject({ mode: 'prepaid', protected: true, meterIds: ['m1', 'm4'] });
    expect(patched.body.cycle).toBeUndefined();
    expect((await call('PATCH', '/fees/accounts/a1', { warnFirstMinor: 0 })).body).toMatchObject({ status: 400, errors: [{ path: 'warnFirstMinor' }] });

    await store.recordDecisions([{ accountId: 'a1', at: T0, action: 'wait', reason: 'night', message: 'waits for the morning window', balanceMinor: -1200, nextWindowAt: T0 + 3_600_000 }]);
    expect((await call('GET', '/fees/accounts/a1/decisions', undefined, { token: 'viewer' })).body.items).toMatchObject([{ action: 'wait', reason: 'night', nextWindowAt: new Date(T0 + 3_600_000).toISOString() }]);

    await call('POST', '/fees/payments', pay('P-1', 100, { accountId: 'a2' }), { key: 'K-1' });
    expect((await call('DELETE', '/fees/accounts/a2')).body).toMatchObject({ status: 409, code: 'FEE_ACCOUNT_HAS_LEDGER' });
    expect((await call('DELETE', '/fees/accounts/a3')).status).toBe(204);
    expect((await call('GET', '/fees/accounts/a3')).status).toBe(404);
    expect((await call('GET', '/fees/accounts/a3/ledger')).status).toBe(404);
  });

  it('shows each meter that keeps its own account beside the balance, as fee control last read and compared it', async () => {
    const reading: MeterCreditReading = {
      meterId: 'm1', availableMinor: 2_500, currency: 'CNY', mode: 'prepayment', status: 'active', creditStatus: ['inCredit'],
      credits: [{ credit: '0.0.19.10.0.255', type: 'token', status: 'in use', amountMinor: 2_500 }], at: T0, stationMinor: 7_000, toleranceMinor: 100,
      comparison: { kind: 'mismatch', differenceMinor: -4_500, meterMinor: 2_500, stationMinor: 7_000 },
    };
    const { call } = await serve(db().connection, (id) => (id === 'a1' ? [reading] : undefined));
    await call('POST', '/fees/accounts', account('a1'));
    await call('POST', '/fees/accounts', account('a2'));
    expect((await call('GET', '/fees/accounts/a1')).body.meterCredit).toEqual([{
      meterId: 'm1', availableMinor: 2_500, currency: 'CNY', mode: 'prepayment', status: 'active', creditStatus: ['inCredit'],
      credits: [{ credit: '0.0.19.10.0.255', type: 'token', status: 'in use', amountMinor: 2_500 }], at: new Date(T0).toISOString(),
      comparison: { kind: 'mismatch', stationBalanceMinor: 7_000, differenceMinor: -4_500, toleranceMinor: 100, reason: null },
    }]);
    expect((await call('GET', '/fees/accounts/a2')).body.meterCredit).toEqual([]);
  });

  it('pages the ledger newest first', async () => {
    const { call } = await serve(db().connection);
    await call('POST', '/fees/accounts', account('a1'));
    for (const i of [1, 2, 3]) await call('POST', '/fees/payments', pay(`P-${i}`, i * 100), { key: `K-${i}` });
    const first = await call('GET', '/fees/accounts/a1/ledger?limit=2');
    expect((first.body.items as { paymentId: string }[]).map((e) => e.paymentId)).toEqual(['P-3', 'P-2']);
    const rest = await call('GET', `/fees/accounts/a1/ledger?limit=2&cursor=${String(first.body.next)}`);
    expect([(rest.body.items as { paymentId: string }[]).map((e) => e.paymentId), rest.body.next]).toEqual([['P-1'], null]);
    expect((await call('GET', '/fees/accounts/a1/ledger?cursor=abc')).body).toMatchObject({ status: 400, errors: [{ path: 'cursor' }] });
  });

  it('keeps accounts, balances and payment keys across a restart: a retry after it still credits once', async () => {
    const first = await serve(db().connection);
    await first.call('POST', '/fees/accounts', account('a1'));
    await first.call('POST', '/fees/payments', pay('P-1', 1234), { key: 'K-1' });
    await first.close();
    const second = await serve(await db().reconnect());
    const retry = await second.call('POST', '/fees/payments', pay('P-1', 1234), { key: 'K-1' });
    expect([retry.status, balanceOf(retry)]).toEqual([200, 1234]);
    expect((await second.call('GET', '/fees/accounts/a1')).body).toMatchObject({ id: 'a1', balance: { balanceMinor: 1234 } });
  });
});
