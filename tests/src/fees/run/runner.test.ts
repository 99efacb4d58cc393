/**
 * The fee-control runner over the station's own parts on one embedded store: readings through
 * the reading store, the billing VEE, the tariff engine, the fee store, and the command service
 * over a stand-in device. Time is a manual clock. A prepaid account is charged down, warned
 * twice, disconnected, paid and reconnected; a restart and a second node charge nothing twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { meterId, terminalId } from '../../../../src/domain/index.js';
import { Registry } from '../../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../../src/registry/store.js';
import { openDatabase } from '../../../../src/storage/db.js';
import { ReadingStore } from '../../../../src/storage/readingStore.js';
import { Q, T0, feeStation, feeStationOn } from './station.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const station = () => feeStation(cleanups);

describe('FeeControlRunner', () => {
  it('charges a prepaid account down, warns twice, disconnects, and reconnects once paid', async () => {
    const s = await station();
    const run = s.runner();
    const at = async (quarters: number) => {
      s.clock.set(T0 + quarters * Q + 60_000);
      await run.run('prepaid');
      const record = await s.fees.account('acc-1');
      return { balance: record?.balance.amountMinor, stage: record?.control.stage };
    };
    expect(await at(5)).toEqual({ balance: 2_500, stage: 'normal' });
    expect(await at(10)).toEqual({ balance: 2_000, stage: 'warned-first' });
    expect(await at(25)).toEqual({ balance: 500, stage: 'warned-second' });
    expect(await at(35)).toEqual({ balance: -500, stage: 'warned-second' });
    expect(s.relay.connected).toBe(true);
    expect(await at(40)).toEqual({ balance: -1_000, stage: 'disconnected' });
    expect(s.relay.connected).toBe(false);

    const decisions = (await s.fees.decisions('acc-1', { limit: 100 })).items.reverse();
    expect(decisions.map((d) => [d.action, d.reason])).toEqual([
      ['warn-first', 'below-first-warning'], ['warn-second', 'below-second-warning'], ['disconnect', 'credit-exhausted'],
    ]);
    const disconnect = decisions[2];
    const commandId = disconnect?.commandId ?? '';
    expect((await s.commands.service.get(commandId))?.type).toBe('disconnect');
    expect((await s.fees.account('acc-1'))?.control.lastCommandId).toBe(commandId);

    // A payment reconnects at the next poll of the ledger, not the next run.
    await run.followPayments();
    s.clock.set(T0 + 40 * Q + 120_000);
    await s.fees.append([{ accountId: 'acc-1', kind: 'payment', amountMinor: 5_000, currency: 'CNY', key: 'payment:p1', paymentId: 'p1', at: s.clock.now(), actor: 'test' }]);
    s.clock.set(T0 + 40 * Q + 123_000);
    await run.followPayments();
    expect(s.relay.connected).toBe(true);
    expect((await s.fees.account('acc-1'))?.control.stage).toBe('normal');
    expect(run.stats().reconnectMs).toEqual([3_000]);
    expect(s.relay.log).toEqual(['disconnect', 'reconnect']);
  });

  it('tells its listeners each decision recorded and each payment its follower finds on the ledger', async () => {
    const s = await station();
    const run = s.runner();
    const decided: string[] = [];
    const paid: string[] = [];
    run.onDecision((d) => { decided.push(`${d.accountId}:${d.action}`); });
    const stop = run.onPayment((e) => { paid.push(`${e.accountId}:${e.paymentId ?? ''}`); });
    s.clock.set(T0 + 25 * Q + 60_000);
    await run.run('prepaid');
    expect(decided).toEqual(['acc-1:warn-second']);
    await run.followPayments();
    // Booked straight into the shared ledger, as another node's API does: found by the follower.
    await s.fees.append([{ accountId: 'acc-1', kind: 'payment', amountMinor: 100, currency: 'CNY', key: 'payment:p9', paymentId: 'p9', at: s.clock.now(), actor: 'node-b' }]);
    await run.followPayments();
    expect(paid).toEqual(['acc-1:p9']);
    stop();
    await s.fees.append([{ accountId: 'acc-1', kind: 'payment', amountMinor: 100, currency: 'CNY', key: 'payment:p10', paymentId: 'p10', at: s.clock.now(), actor: 'node-b' }]);
    await run.followPayments();
    expect(paid).toEqual(['acc-1:p9']);
  });

  it('charges nothing twice after a restart or from a second node at the same time', async () => {
    const s = await station();
    s.clock.set(T0 + 12 * Q);
    await s.runner().run();
    // Two nodes (or a restarted one and a slow old one) with nothing in memory.
    await Promise.all([s.runner().run(), s.runner().run()]);
    s.clock.set(T0 + 20 * Q);
    await Promise.all([s.runner().run(), s.runner().run()]);
    const rows = (await s.fees.entries('acc-1', { limit: 100 })).items.filter((e) => e.kind === 'charge');
    expect(rows.reduce((sum, e) => sum + e.amountMinor, 0)).toBe(-2_000);
    const periods = rows.map((e) => [e.periodFrom, e.periodTo]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    expect(periods).toEqual([[T0, T0 + 12 * Q], [T0 + 12 * Q, T0 + 20 * Q]]);
    expect((await s.fees.balance('acc-1'))?.amountMinor).toBe(1_000);
  });

  it('records a decision only when it acts or the account’s standing changes', async () => {
    const s = await station();
    const run = s.runner();
    for (let q = 1; q <= 8; q++) {
      s.clock.set(T0 + q * Q);
      await run.run();
    }
    expect((await s.fees.decisions('acc-1', { limit: 100 })).items).toEqual([]);
    expect(run.stats()).toMatchObject({ runs: 8, accountsDecided: 8, rowsCharged: 8, decisionsRecorded: 0 });
  });
});

describe('provisional charges', () => {
  it('charges estimated data provisionally and trues it up once, when valid data for the period arrives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-fee-trueup-'));
    const db = openDatabase(join(dir, 'store.db'));
    cleanups.push(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    await registry.seed({ areas: [], terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }], meters: [{ id: 'm1', name: 'm1', terminalId: 't1', address: '1', ctRatio: 1, ptRatio: 1, protected: false }] });
    const readings = new ReadingStore(db, (id) => registry.meterKey(id));
    const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
    const read = (k: number, value: number) => ({ meterId: meterId('m1'), quantity: 'energy.active.import' as const, ts: T0 + k * Q, value, unit: 'kWh', quality: 'good' as const, source });
    // Reads up to 1 h and from 3 h: the two hours between are estimated by VEE.
    readings.write([0, 1, 2, 3, 4, 12, 13, 14, 15, 16].map((k) => read(k, 100 + k)));
    const s = await feeStationOn(db, cleanups, { meters: [] });
    await s.fees.createAccount({
      id: 'acc-1', customerRef: 'C-1', name: 'Flat 1', meterIds: ['m1'], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
      creditLimitMinor: 1_000, warnFirstMinor: 200, warnSecondMinor: 100, reconnectMinor: 0, protected: false, notify: { kind: 'none' }, createdAt: T0, updatedAt: T0,
    });
    s.clock.set(T0 + 16 * Q + 60_000);
    await s.runner().run();
    const kinds = async () => (await s.fees.entries('acc-1', { limit: 100 })).items.map((e) => [e.kind, e.amountMinor, e.periodFrom, e.periodTo]);
    expect(await kinds()).toEqual([['provisional-charge', -1_600, T0, T0 + 16 * Q]]);
    // Nothing valid yet: no true-up, from this runner or a restarted one.
    await s.runner().run();
    expect(await kinds()).toHaveLength(1);
    // The meter's profile is read back: the gap was uneven (2 kWh in its first quarter hour, 0.5 in its last), the same 8 kWh in all.
    readings.write([106, 107, 108, 109, 110, 111, 111.5].map((v, i) => read(5 + i, v)));
    const restarted = s.runner();
    s.clock.set(T0 + 17 * Q);
    await restarted.run();
    await restarted.run();
    const rows = await kinds();
    expect(rows.filter((r) => r[0] === 'true-up')).toEqual([['true-up', 0, T0, T0 + 16 * Q]]);
    expect(rows.filter((r) => r[0] === 'provisional-charge')).toHaveLength(1);
    expect(restarted.stats().pendingTrueUps).toBe(0);
  });
});
