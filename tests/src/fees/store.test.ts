/**
 * The fee store's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, tests/helpers/storeDrivers.ts): accounts and their meters, the append-only
 * ledger idempotent on (account, key) with its running balance, payments and reversals,
 * fee-control state by compare-and-set, decisions and the emergency flag.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { FeeAccount } from '../../../src/fees/model.js';
import type { FeeStore, NewLedgerEntry } from '../../../src/fees/store.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, execute, feeStoreOf, select, type StoreConnection } from '../../helpers/storeDrivers.js';
import { prng } from '../../helpers/prng.js';

const T0 = Date.UTC(2025, 2, 1);

function feeAccount(id: string, o: Partial<FeeAccount> = {}): FeeAccount {
  return {
    id, customerRef: `c-${id}`, name: `Customer ${id}`, meterIds: [`m-${id}`], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 1000, warnFirstMinor: 5000, warnSecondMinor: 1000, reconnectMinor: 0, protected: false,
    notify: { kind: 'webhook', url: 'http://127.0.0.1:9/sms' }, createdAt: T0, updatedAt: T0, ...o,
  };
}

function charge(accountId: string, key: string, amountMinor: number, o: Partial<NewLedgerEntry> = {}): NewLedgerEntry {
  return { accountId, kind: 'charge', amountMinor, currency: 'CNY', key, at: T0, actor: 'fee-run', ...o };
}

function payment(accountId: string, paymentId: string, amountMinor: number, o: Partial<NewLedgerEntry> = {}): NewLedgerEntry {
  return { accountId, kind: 'payment', amountMinor, currency: 'CNY', key: `payment:${paymentId}`, paymentId, at: T0, actor: 'token:pay', ...o };
}

/** SUM(amount) of an account's ledger, read past the store. */
async function ledgerSum(c: StoreConnection, accountId: string): Promise<number> {
  const [row] = await select<{ s: number | string | null }>(c, 'SELECT SUM(amount_minor) AS s FROM fee_ledger WHERE account_id = $1', accountId);
  return Number(row?.s ?? 0);
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('fee store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: FeeStore;
  beforeEach(() => {
    store = feeStoreOf(db().connection);
  });

  it('stores an account with its meters, a zero balance and a normal state, and replaces it on update', async () => {
    await store.createAccount(feeAccount('a1', { meterIds: ['m2', 'm1'], mode: 'postpaid', cycle: { closeDay: 5, dueDays: 10 } }));
    const r = await store.account('a1');
    expect(r?.account).toEqual(feeAccount('a1', { meterIds: ['m2', 'm1'], mode: 'postpaid', cycle: { closeDay: 5, dueDays: 10 } }));
    expect(r?.balance).toEqual({ accountId: 'a1', amountMinor: 0, currency: 'CNY', throughSeq: 0 });
    expect(r?.control).toMatchObject({ accountId: 'a1', stage: 'normal', version: 0, warnedFirstAt: null });

    await store.updateAccount(feeAccount('a1', { meterIds: ['m3'], name: 'Renamed', protected: true, notify: { kind: 'mqtt', topic: 'fees/a1' }, updatedAt: T0 + 1 }));
    expect((await store.account('a1'))?.account).toEqual(feeAccount('a1', { meterIds: ['m3'], name: 'Renamed', protected: true, notify: { kind: 'mqtt', topic: 'fees/a1' }, updatedAt: T0 + 1 }));
    expect(await store.accountsOfMeter('m1')).toEqual([]);
    expect((await store.accountsOfMeter('m3')).map((a) => a.id)).toEqual(['a1']);
    await expect(store.createAccount(feeAccount('a1', { meterIds: ['m9'] }))).rejects.toMatchObject({ code: 'FEE_ACCOUNT_EXISTS', accountId: 'a1' });
    await expect(store.updateAccount(feeAccount('nope'))).rejects.toMatchObject({ code: 'UNKNOWN_FEE_ACCOUNT' });
  });

  it('refuses a meter that belongs to another account, naming the meter, and stores nothing of the refused account', async () => {
    await store.createAccount(feeAccount('a1', { meterIds: ['m1'] }));
    await expect(store.createAccount(feeAccount('a2', { meterIds: ['m2', 'm1'] }))).rejects.toMatchObject({ code: 'METER_IN_OTHER_ACCOUNT', meterId: 'm1', accountId: 'a1' });
    expect(await store.account('a2')).toBeUndefined();
    expect(await store.accountsOfMeter('m2')).toEqual([]);
    await store.createAccount(feeAccount('a2', { meterIds: ['m2'] }));
    await expect(store.updateAccount(feeAccount('a2', { meterIds: ['m2', 'm1'] }))).rejects.toMatchObject({ code: 'METER_IN_OTHER_ACCOUNT', meterId: 'm1' });
    expect((await store.account('a2'))?.account.meterIds).toEqual(['m2']);
  });

  it('lists accounts by id page by page, filtered by mode and by stage', async () => {
    for (const id of ['a3', 'a1', 'a5', 'a2', 'a4']) await store.createAccount(feeAccount(id, { mode: id === 'a2' || id === 'a4' ? 'postpaid' : 'prepaid' }));
    const first = await store.accounts({ limit: 2 });
    expect(first.items.map((r) => r.account.id)).toEqual(['a1', 'a2']);
    const second = await store.accounts({ limit: 2, after: first.next ?? '' });
    expect(second.items.map((r) => r.account.id)).toEqual(['a3', 'a4']);
    const last = await store.accounts({ limit: 2, after: second.next ?? '' });
    expect([last.items.map((r) => r.account.id), last.next]).toEqual([['a5'], null]);
    expect((await store.accounts({ limit: 10, mode: 'postpaid' })).items.map((r) => r.account.id)).toEqual(['a2', 'a4']);
    const s = await store.controlState('a3');
    if (s === undefined) throw new Error('no state');
    await store.saveControlState({ ...s, stage: 'disconnected', disconnectedAt: T0 }, s.version);
    expect((await store.accounts({ limit: 10, stage: 'disconnected' })).items.map((r) => [r.account.id, r.control.stage])).toEqual([['a3', 'disconnected']]);
  });

  it('appends a row once per key: the same charge twice adds once and answers the first row flagged duplicate', async () => {
    await store.createAccount(feeAccount('a1'));
    const [first] = await store.append([charge('a1', 'charge:m-a1:1:2', -300)]);
    const [again] = await store.append([charge('a1', 'charge:m-a1:1:2', -300, { actor: 'other-node' })]);
    expect(first).toMatchObject({ duplicate: false, amountMinor: -300 });
    expect(again).toMatchObject({ duplicate: true, seq: first?.seq, actor: 'fee-run' });
    // The same key twice in one batch: written once.
    const batch = await store.append([charge('a1', 'k2', -5), charge('a1', 'k2', -5)]);
    expect(batch.map((e) => e.duplicate)).toEqual([false, true]);
    expect(batch[0]?.seq).toBe(batch[1]?.seq);
    expect((await store.balance('a1'))?.amountMinor).toBe(-305);
    expect((await store.entries('a1', { limit: 10 })).items).toHaveLength(2);
  });

  it('keeps the running balance equal to SUM(amount) of the ledger through any mix of rows, batches and duplicates', async () => {
    const c = db().connection;
    for (const id of ['a1', 'a2', 'a3']) await store.createAccount(feeAccount(id));
    const random = prng(18);
    for (let round = 0; round < 25; round += 1) {
      const batch: NewLedgerEntry[] = [];
      for (let i = 0; i < 1 + Math.floor(random() * 6); i += 1) {
        const account = `a${1 + Math.floor(random() * 3)}`;
        const amount = Math.floor(random() * 20_000) - 15_000;
        // Keys from a small space, so some repeat across and within batches.
        batch.push(charge(account, `k${Math.floor(random() * 40)}`, amount === 0 ? 1 : amount, { kind: amount > 0 ? 'adjustment' : 'charge' }));
      }
      await store.append(batch);
      for (const id of ['a1', 'a2', 'a3']) {
        const b = await store.balance(id);
        expect(b?.amountMinor).toBe(await ledgerSum(c, id));
        const newest = (await store.entries(id, { limit: 1 })).items[0];
        expect(b?.throughSeq).toBe(newest?.seq ?? 0);
      }
    }
  });

  it('appends a batch all or none: an unknown account or another currency adds no row of it', async () => {
    await store.createAccount(feeAccount('a1'));
    await expect(store.append([charge('a1', 'k1', -1), charge('ghost', 'k1', -1)])).rejects.toMatchObject({ code: 'UNKNOWN_FEE_ACCOUNT', accountId: 'ghost' });
    await expect(store.append([charge('a1', 'k1', -1), charge('a1', 'k2', -1, { currency: 'EUR' })])).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH', field: 'currency' });
    expect((await store.entries('a1', { limit: 10 })).items).toEqual([]);
    expect((await store.balance('a1'))?.amountMinor).toBe(0);
  });

  it('never updates or deletes a ledger row, whoever holds the connection', async () => {
    const c = db().connection;
    await store.createAccount(feeAccount('a1'));
    await store.append([charge('a1', 'k1', -100)]);
    await expect(execute(c, "UPDATE fee_ledger SET amount_minor = 0 WHERE account_id = 'a1'")).rejects.toThrow(/append-only/);
    await expect(execute(c, "DELETE FROM fee_ledger WHERE account_id = 'a1'")).rejects.toThrow(/append-only/);
    expect(await ledgerSum(c, 'a1')).toBe(-100);
  });

  it('credits a paymentId once across the store and reverses it once', async () => {
    await store.createAccount(feeAccount('a1'));
    await store.createAccount(feeAccount('a2'));
    const [paid] = await store.append([payment('a1', 'P-1', 5000)]);
    expect(await store.payment('P-1')).toMatchObject({ seq: paid?.seq, kind: 'payment', paymentId: 'P-1', amountMinor: 5000 });
    await expect(store.append([payment('a2', 'P-1', 5000)])).rejects.toMatchObject({ code: 'PAYMENT_EXISTS', paymentId: 'P-1', accountId: 'a1' });
    await expect(store.append([payment('a1', 'P-1', 5000, { key: 'payment:P-1:again' })])).rejects.toMatchObject({ code: 'PAYMENT_EXISTS' });
    const reversal = { accountId: 'a1', kind: 'reversal', amountMinor: -5000, currency: 'CNY', key: 'reversal:P-1', paymentId: 'P-1', at: T0, actor: 'token:pay', detail: { reason: 'bounced' } } as const;
    expect((await store.append([reversal]))[0]?.duplicate).toBe(false);
    expect((await store.append([reversal]))[0]?.duplicate).toBe(true);
    expect(await store.reversal('P-1')).toMatchObject({ kind: 'reversal', amountMinor: -5000, detail: { reason: 'bounced' } });
    expect((await store.balance('a1'))?.amountMinor).toBe(0);
    expect((await store.balance('a2'))?.amountMinor).toBe(0);
  });

  it('finds a row by the request key that made it, and refuses the key for another row', async () => {
    await store.createAccount(feeAccount('a1'));
    await store.append([payment('a1', 'P-1', 100, { request: { key: 'idem-1', bodyHash: 'h1' } })]);
    expect(await store.byRequest('token:pay', 'idem-1')).toMatchObject({ bodyHash: 'h1', entry: { paymentId: 'P-1' } });
    expect(await store.byRequest('token:other', 'idem-1')).toBeUndefined();
    await expect(store.append([payment('a1', 'P-2', 100, { request: { key: 'idem-1', bodyHash: 'h2' } })])).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', key: 'idem-1' });
    // Another actor's key of the same name is its own.
    expect((await store.append([payment('a1', 'P-2', 100, { actor: 'token:other', request: { key: 'idem-1', bodyHash: 'h2' } })]))[0]?.duplicate).toBe(false);
  });

  it('pages an account\'s ledger newest first and tells which accounts changed after a sequence number', async () => {
    await store.createAccount(feeAccount('a1'));
    await store.createAccount(feeAccount('a2'));
    const rows = await store.append([charge('a1', 'k1', -1), charge('a2', 'k1', -2), charge('a1', 'k2', -3), charge('a1', 'k3', -4)]);
    const first = await store.entries('a1', { limit: 2 });
    expect(first.items.map((e) => e.key)).toEqual(['k3', 'k2']);
    const rest = await store.entries('a1', { limit: 2, before: first.next ?? 0 });
    expect([rest.items.map((e) => e.key), rest.next]).toEqual([['k1'], null]);

    const start = await store.changedSince(0, 2);
    expect(start).toEqual({ accountIds: ['a1', 'a2'], throughSeq: rows[1]?.seq });
    const next = await store.changedSince(start.throughSeq, 100);
    expect(next).toEqual({ accountIds: ['a1'], throughSeq: rows[3]?.seq });
    expect(await store.changedSince(next.throughSeq, 100)).toEqual({ accountIds: [], throughSeq: next.throughSeq });
  });

  it('deletes an account only while it has no ledger rows', async () => {
    await store.createAccount(feeAccount('a1'));
    await store.createAccount(feeAccount('a2'));
    await store.append([charge('a2', 'k1', -1)]);
    expect(await store.deleteAccount('a1')).toBe(true);
    expect(await store.deleteAccount('a1')).toBe(false);
    expect(await store.accountsOfMeter('m-a1')).toEqual([]);
    await expect(store.deleteAccount('a2')).rejects.toMatchObject({ code: 'FEE_ACCOUNT_HAS_LEDGER', accountId: 'a2' });
    expect(await store.account('a2')).toBeDefined();
  });

  it('writes fee-control state only from the version it read', async () => {
    await store.createAccount(feeAccount('a1'));
    const s0 = await store.controlState('a1');
    if (s0 === undefined) throw new Error('no state');
    const s1 = await store.saveControlState({ ...s0, stage: 'warned-first', warnedFirstAt: T0 + 5, updatedAt: T0 + 5 }, 0);
    expect(s1).toMatchObject({ stage: 'warned-first', warnedFirstAt: T0 + 5, version: 1 });
    await expect(store.saveControlState({ ...s0, stage: 'warned-second' }, 0)).rejects.toMatchObject({ code: 'FEE_STATE_CHANGED', expected: 0, actual: 1 });
    expect(await store.controlState('a1')).toEqual(s1);
    await expect(store.saveControlState({ ...s0, accountId: 'ghost' }, 0)).rejects.toMatchObject({ code: 'UNKNOWN_FEE_ACCOUNT' });
  });

  it('records decisions append-only and pages them newest first, per account or all', async () => {
    await store.createAccount(feeAccount('a1'));
    const written = await store.recordDecisions([
      { accountId: 'a1', at: T0, action: 'warn-first', reason: 'below-first-warning', message: 'warned', balanceMinor: 4000 },
      { accountId: 'a1', at: T0 + 1, action: 'wait', reason: 'night', message: 'waits for 08:00', balanceMinor: -1500, nextWindowAt: T0 + 9, dryRun: true },
      { accountId: 'a2', at: T0 + 2, action: 'disconnect', reason: 'exhausted', message: 'disconnected', balanceMinor: -2000, commandId: 'cmd-1' },
    ]);
    expect(written.map((d) => d.seq)).toEqual([...written.map((d) => d.seq)].sort((a, b) => a - b));
    const page = await store.decisions('a1', { limit: 1 });
    expect(page.items).toEqual([{ seq: written[1]?.seq, accountId: 'a1', at: T0 + 1, action: 'wait', reason: 'night', message: 'waits for 08:00', balanceMinor: -1500, nextWindowAt: T0 + 9, dryRun: true }]);
    expect((await store.decisions('a1', { limit: 1, before: page.next ?? 0 })).items.map((d) => d.action)).toEqual(['warn-first']);
    expect((await store.decisions(undefined, { limit: 10 })).items.map((d) => d.commandId ?? null)).toEqual(['cmd-1', null, null]);
    await expect(execute(db().connection, 'DELETE FROM fee_decisions')).rejects.toThrow(/append-only/);
  });

  it('keeps the emergency flag in one row', async () => {
    expect(await store.emergency()).toEqual({ active: false, reason: null, setBy: null, since: null });
    await store.setEmergency({ active: true, reason: 'typhoon', setBy: 'user:ops', since: T0 });
    await store.setEmergency({ active: true, reason: 'heat wave', setBy: 'user:ops', since: T0 + 1 });
    expect(await store.emergency()).toEqual({ active: true, reason: 'heat wave', setBy: 'user:ops', since: T0 + 1 });
  });

  it('keeps accounts, ledger, balances and state across a restart', async () => {
    await store.createAccount(feeAccount('a1'));
    await store.append([payment('a1', 'P-1', 700, { request: { key: 'idem', bodyHash: 'h' } }), charge('a1', 'k1', -200)]);
    const reopened = feeStoreOf(await db().reconnect());
    expect((await reopened.account('a1'))?.balance.amountMinor).toBe(500);
    expect((await reopened.append([payment('a1', 'P-1', 700)]))[0]?.duplicate).toBe(true);
    expect(await reopened.byRequest('token:pay', 'idem')).toMatchObject({ entry: { amountMinor: 700 } });
    expect((await reopened.balance('a1'))?.amountMinor).toBe(500);
  });
});
