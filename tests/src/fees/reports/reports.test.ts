/**
 * The fee recovery reports on every driver (embedded SQLite and PostgreSQL), against ledgers and
 * decisions built by hand: FIFO aging across a bucket edge, areas from the registry, the recovery
 * rate per local month with a reversal netted, disconnection periods, and payment-to-reconnection
 * median and p95 of known durations.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { FeeAccount } from '../../../../src/fees/model.js';
import { FeeReports, median, monthSpans, nearestRank } from '../../../../src/fees/reports/service.js';
import type { FeeStore, NewLedgerEntry } from '../../../../src/fees/store.js';
import { Registry } from '../../../../src/registry/registry.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, feeReportStoreOf, feeStoreOf, registryStoreOf, type StoreConnection } from '../../../helpers/storeDrivers.js';

const DAY = 86_400_000;
const MIN = 60_000;
const AS_OF = Date.UTC(2025, 5, 30, 12);
/** China Standard Time: the station's months begin at 16:00 UTC the day before. */
const CST = 480;

function feeAccount(id: string, meterIds: string[], o: Partial<FeeAccount> = {}): FeeAccount {
  return {
    id, customerRef: `c-${id}`, name: `Customer ${id}`, meterIds, mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 0, warnFirstMinor: 5000, warnSecondMinor: 1000, reconnectMinor: 0, protected: false,
    notify: { kind: 'none' }, createdAt: 0, updatedAt: 0, ...o,
  };
}

let seq = 0;
function row(accountId: string, kind: NewLedgerEntry['kind'], amountMinor: number, at: number, o: Partial<NewLedgerEntry> = {}): NewLedgerEntry {
  seq += 1;
  return { accountId, kind, amountMinor, currency: 'CNY', key: `${kind}:${seq}`, at, actor: 'test', ...o };
}

async function seedRegistry(c: StoreConnection): Promise<void> {
  const registry = await Registry.open(registryStoreOf(c), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({
    areas: [
      { id: 'r1', name: 'Region', kind: 'region' },
      { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 },
      { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'r1', transformerKva: 630 },
    ],
    terminals: [{ id: 't1', name: 't1', protocol: 'mqtt' as const, enabled: true, profiles: [] }],
    meters: [
      { id: 'm1', address: '1', areaId: 'tx1' },
      { id: 'm2', address: '2', areaId: 'tx2' },
      { id: 'm3', address: '3', areaId: 'tx1' },
    ].map((m) => ({ name: m.id, terminalId: 't1', ctRatio: 1, ptRatio: 1, protected: false, ...m })),
  });
  await registry.close();
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe('report arithmetic', () => {
  it('takes the median as the middle value or the mean of the two middle ones, and p95 by nearest rank', () => {
    const minutes = Array.from({ length: 20 }, (_, i) => (i + 1) * MIN);
    expect(median(minutes)).toBe(10.5 * MIN);
    expect(nearestRank(minutes, 95)).toBe(19 * MIN);
    expect(median([3, 1, 2].sort())).toBe(2);
    expect([median([]), nearestRank([], 95)]).toEqual([null, null]);
    expect(nearestRank([7], 95)).toBe(7);
  });

  it('lays local months out from the station offset and refuses a reversed or over-long span, naming the field', () => {
    expect(monthSpans('2025-12', '2026-01', CST * MIN)).toEqual([
      { month: '2025-12', start: Date.UTC(2025, 10, 30, 16), end: Date.UTC(2025, 11, 31, 16) },
      { month: '2026-01', start: Date.UTC(2025, 11, 31, 16), end: Date.UTC(2026, 0, 31, 16) },
    ]);
    expect(() => monthSpans('2025-05', '2025-04', 0)).toThrow(expect.objectContaining({ code: 'VALIDATION', field: 'to' }) as Error);
    expect(() => monthSpans('2025-13', '2025-04', 0)).toThrow(expect.objectContaining({ field: 'from' }) as Error);
    expect(() => monthSpans('2020-01', '2025-04', 0)).toThrow(expect.objectContaining({ field: 'to' }) as Error);
  });
});

describe.each(STORE_DRIVERS)('fee reports on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: FeeStore;
  let reports: FeeReports;
  beforeEach(async () => {
    await seedRegistry(db().connection);
    store = feeStoreOf(db().connection);
    reports = new FeeReports({ store: feeReportStoreOf(db().connection), utcOffsetMinutes: CST, now: () => AS_OF });
  });

  it('ages each debt first-in-first-out, a part-settled charge split across the 30/31-day edge, under its first meter\'s area', async () => {
    // a: meters in tx2 then tx1, counted under tx2. Four charges of 10.00; the payment of 25.00
    // settles the oldest two and half of the 31-day-old one: 5.00 aged 31 days, 10.00 aged 30.
    await store.createAccount(feeAccount('a', ['m2', 'm1']));
    await store.append([
      row('a', 'charge', -1000, AS_OF - 100 * DAY), row('a', 'charge', -1000, AS_OF - 45 * DAY),
      row('a', 'charge', -1000, AS_OF - 31 * DAY), row('a', 'charge', -1000, AS_OF - 30 * DAY),
      row('a', 'payment', 2500, AS_OF - 10 * DAY, { paymentId: 'p-a' }),
    ]);
    // b: a meter the registry does not know: no area. c: in credit, not listed. d: tx1, 65 days.
    await store.createAccount(feeAccount('b', ['unknown-meter']));
    await store.append([row('b', 'charge', -700, AS_OF - 95 * DAY)]);
    await store.createAccount(feeAccount('c', ['m3']));
    await store.append([row('c', 'charge', -700, AS_OF - 95 * DAY), row('c', 'payment', 900, AS_OF - DAY, { paymentId: 'p-c' })]);
    await store.createAccount(feeAccount('d', ['fresh-meter']));
    await store.append([row('d', 'charge', -200, AS_OF - 65 * DAY), row('d', 'adjustment', -50, AS_OF - 2 * DAY)]);

    const first = await reports.arrears({ limit: 2 });
    expect(first.items).toEqual([
      { accountId: 'b', name: 'Customer b', customerRef: 'c-b', areaId: null, debtMinor: 700, currency: 'CNY', d0to30Minor: 0, d31to60Minor: 0, d61to90Minor: 0, over90Minor: 700 },
      { accountId: 'd', name: 'Customer d', customerRef: 'c-d', areaId: null, debtMinor: 250, currency: 'CNY', d0to30Minor: 50, d31to60Minor: 0, d61to90Minor: 200, over90Minor: 0 },
    ]);
    expect(first.areas).toEqual([
      { areaId: null, currency: 'CNY', accounts: 2, debtMinor: 950, d0to30Minor: 50, d31to60Minor: 0, d61to90Minor: 200, over90Minor: 700 },
      { areaId: 'tx2', currency: 'CNY', accounts: 1, debtMinor: 1500, d0to30Minor: 1000, d31to60Minor: 500, d61to90Minor: 0, over90Minor: 0 },
    ]);
    const second = await reports.arrears({ limit: 2, cursor: first.next ?? '' });
    expect(second.items).toEqual([
      { accountId: 'a', name: 'Customer a', customerRef: 'c-a', areaId: 'tx2', debtMinor: 1500, currency: 'CNY', d0to30Minor: 1000, d31to60Minor: 500, d61to90Minor: 0, over90Minor: 0 },
    ]);
    expect([second.next, second.areas]).toEqual([null, null]);
    expect((await reports.arrears({ limit: 10, areaId: 'tx2' })).items.map((r) => r.accountId)).toEqual(['a']);
    await expect(reports.arrears({ limit: 10, cursor: 'nonsense' })).rejects.toMatchObject({ code: 'VALIDATION', field: 'cursor' });
  });

  it('rates recovery per area and local month: payments less their reversals over charges and true-ups, adjustments left out', async () => {
    const local = (y: number, m: number, d: number, h = 12) => Date.UTC(y, m - 1, d, h) - CST * MIN;
    await store.createAccount(feeAccount('r', ['m1']));
    await store.createAccount(feeAccount('s', ['m2']));
    await store.append([
      row('r', 'charge', -10_000, local(2025, 3, 5)),
      row('r', 'charge', -5_000, local(2025, 3, 31, 23)),
      // 00:30 on 1 April local is still 31 March in UTC: April's.
      row('r', 'charge', -3_000, local(2025, 4, 1, 0) + 30 * MIN),
      row('r', 'true-up', 1_000, local(2025, 3, 20)),
      row('r', 'adjustment', -400, local(2025, 3, 21)),
      row('r', 'payment', 8_000, local(2025, 3, 10), { paymentId: 'p1' }),
      row('r', 'payment', 4_000, local(2025, 3, 20), { paymentId: 'p2' }),
      // Booked in April, it undoes a March payment: March's money never came in.
      row('r', 'reversal', -4_000, local(2025, 4, 2), { paymentId: 'p2' }),
      row('r', 'payment', 3_000, local(2025, 4, 5), { paymentId: 'p3' }),
      row('s', 'charge', -2_000, local(2025, 3, 15)),
      row('s', 'charge', -2_000, local(2025, 5, 15)),
    ]);
    expect(await reports.recovery('2025-03', '2025-04')).toEqual([
      { areaId: 'tx1', month: '2025-03', currency: 'CNY', paidMinor: 8_000, billedMinor: 14_000, rate: 8_000 / 14_000 },
      { areaId: 'tx1', month: '2025-04', currency: 'CNY', paidMinor: 3_000, billedMinor: 3_000, rate: 1 },
      { areaId: 'tx2', month: '2025-03', currency: 'CNY', paidMinor: 0, billedMinor: 2_000, rate: 0 },
    ]);
  });

  it('lists open disconnections from the control state and closed ones from the decisions, dry runs left out', async () => {
    const t0 = AS_OF - 20 * DAY;
    await store.createAccount(feeAccount('x', ['m1']));
    await store.createAccount(feeAccount('y', ['m2']));
    await store.createAccount(feeAccount('z', ['m3']));
    const decide = (accountId: string, at: number, action: 'disconnect' | 'reconnect', reason: string, dryRun = false) =>
      ({ accountId, at, action, reason, message: reason, balanceMinor: -1, ...(dryRun ? { dryRun: true } : {}) });
    await store.recordDecisions([
      decide('x', t0, 'disconnect', 'exhausted'),
      // Sent again while still open: the period began at the first.
      decide('x', t0 + DAY, 'disconnect', 'exhausted'),
      decide('x', t0 + 3 * DAY, 'reconnect', 'paid'),
      decide('x', t0 + 3 * DAY + 10 * MIN, 'reconnect', 'reconnected'),
      decide('z', t0, 'disconnect', 'exhausted', true),
      decide('z', t0 + DAY, 'reconnect', 'reconnected', true),
      decide('y', AS_OF - 2 * DAY, 'disconnect', 'exhausted'),
    ]);
    const y = await store.controlState('y');
    if (y === undefined) throw new Error('no state');
    await store.saveControlState({ ...y, stage: 'disconnected', disconnectedAt: AS_OF - 2 * DAY, updatedAt: AS_OF - 2 * DAY }, y.version);

    const r = await reports.disconnections({ limit: 100 });
    expect(r.open).toEqual([{ accountId: 'y', name: 'Customer y', areaId: 'tx2', disconnectedAt: AS_OF - 2 * DAY, reconnectedAt: null, stage: 'disconnected', balanceMinor: 0, currency: 'CNY', durationMs: 2 * DAY }]);
    expect(r.closed).toEqual([{ accountId: 'x', name: 'Customer x', areaId: 'tx1', disconnectedAt: t0, reconnectedAt: t0 + 3 * DAY + 10 * MIN, stage: null, balanceMinor: 0, currency: 'CNY', durationMs: 3 * DAY + 10 * MIN }]);
    expect((await reports.disconnections({ from: AS_OF - DAY, to: AS_OF, limit: 100 })).closed).toEqual([]);
  });

  it('times each verified reconnection from the payment that reached the threshold: median and p95 of known durations', async () => {
    const t0 = AS_OF - 10 * DAY;
    const decisions = [];
    for (let i = 1; i <= 20; i++) {
      const id = `k${String(i).padStart(2, '0')}`;
      const start = t0 + i * 3_600_000;
      await store.createAccount(feeAccount(id, [`meter-${id}`], { reconnectMinor: 500 }));
      const paidAt = start + 30 * MIN;
      const rows = [row(id, 'charge', -5_000, start - MIN)];
      // The first account pays twice: 30.00 stays below the threshold, the second payment reaches it.
      if (i === 1) rows.push(row(id, 'payment', 3_000, start + 5 * MIN, { paymentId: `part-${id}` }));
      rows.push(row(id, 'payment', i === 1 ? 2_500 : 5_500, paidAt, { paymentId: `pay-${id}` }));
      await store.append(rows);
      decisions.push(
        { accountId: id, at: start, action: 'disconnect' as const, reason: 'exhausted', message: '', balanceMinor: -5_000 },
        { accountId: id, at: paidAt + MIN, action: 'reconnect' as const, reason: 'paid', message: '', balanceMinor: 500 },
        { accountId: id, at: paidAt + i * MIN, action: 'reconnect' as const, reason: 'reconnected', message: '', balanceMinor: 500 },
      );
    }
    // Reconnected without a payment (an operator's doing): no payment-to-reconnection time.
    await store.createAccount(feeAccount('op', ['meter-op']));
    decisions.push(
      { accountId: 'op', at: t0, action: 'disconnect' as const, reason: 'exhausted', message: '', balanceMinor: -1 },
      { accountId: 'op', at: t0 + DAY, action: 'reconnect' as const, reason: 'reconnected', message: '', balanceMinor: -1 },
    );
    await store.recordDecisions(decisions);

    const r = await reports.reconnectionTimes(t0, AS_OF, 3);
    expect([r.count, r.medianMs, r.p95Ms, r.truncated]).toEqual([20, 10.5 * MIN, 19 * MIN, false]);
    expect(r.items[0]).toEqual({
      accountId: 'k01', areaId: null, disconnectedAt: t0 + 3_600_000, paidAt: t0 + 3_600_000 + 30 * MIN, paymentId: 'pay-k01',
      reconnectedAt: t0 + 3_600_000 + 31 * MIN, durationMs: MIN,
    });
    expect(r.items).toHaveLength(3);
    const none = await reports.reconnectionTimes(AS_OF, AS_OF + DAY, 3);
    expect([none.count, none.medianMs, none.p95Ms]).toEqual([0, null, null]);
    await expect(reports.reconnectionTimes(AS_OF, AS_OF, 3)).rejects.toMatchObject({ code: 'VALIDATION', field: 'from' });
  });

  it('watches the accounts past normal and those within one warning step of their first warning, lowest balance first', async () => {
    for (const [id, balance] of [['n1', 9_500], ['n2', 8_000], ['w1', 3_000], ['w2', 2_000], ['p1', -100], ['d1', -900]] as const) {
      await store.createAccount(feeAccount(id, [`meter-${id}`]));
      await store.append([row(id, 'payment', balance, AS_OF, { paymentId: `pay-${id}` })]);
    }
    const stage = async (id: string, s: 'warned-first' | 'disconnect-pending' | 'disconnected', extra: object = {}) => {
      const now = await store.controlState(id);
      if (now === undefined) throw new Error('no state');
      await store.saveControlState({ ...now, stage: s, updatedAt: AS_OF, ...extra }, now.version);
    };
    await stage('w1', 'warned-first');
    await stage('w2', 'warned-first');
    await stage('p1', 'disconnect-pending', { nextWindowAt: AS_OF + 3_600_000 });
    await stage('d1', 'disconnected', { disconnectedAt: AS_OF - DAY });
    const watched = await reports.watched(10);
    // n2 (80.00) is within one step (40.00) of its first warning at 50.00; n1 (95.00) is not.
    expect(watched.map((w) => [w.accountId, w.stage, w.balanceMinor])).toEqual([
      ['p1', 'disconnect-pending', -100], ['d1', 'disconnected', -900], ['n2', 'normal', 8_000], ['w2', 'warned-first', 2_000], ['w1', 'warned-first', 3_000],
    ]);
    expect(watched.find((w) => w.accountId === 'p1')?.nextWindowAt).toBe(AS_OF + 3_600_000);
    expect((await reports.watched(1)).filter((w) => w.stage === 'warned-first').map((w) => w.accountId)).toEqual(['w2']);
  });
});
