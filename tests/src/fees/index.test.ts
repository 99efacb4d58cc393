/**
 * The fee accounts' assembly from the configuration, on every driver: the `fees` section's
 * accounts upserted at start (created, then unchanged on a restart, updated when the file
 * changes), a refused one stopping the start with its key path, and nothing while fee control
 * is off.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../../src/config/load.js';
import type { GridheadConfig } from '../../../src/config/schema.js';
import { createFeeAccounts } from '../../../src/fees/index.js';
import { STORE_DRIVERS, auditLogOf, connectEachTest, disposeStoreDrivers, feeStoreOf, type StoreConnection } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

const METERS = new Set(['m1', 'm2', 'm3']);

function configWith(fees: Record<string, unknown>): GridheadConfig {
  return buildConfig({ fees }, 'test');
}

const seeds = [
  { id: 'home', customerRef: 'C-1', name: 'A household', meterIds: ['m1'], mode: 'prepaid', tariffId: 'flat', creditLimitMinor: 1000, warnFirstMinor: 5000, warnSecondMinor: 1000 },
  { id: 'shop', customerRef: 'C-2', name: 'A shop', meterIds: ['m2', 'm3'], mode: 'postpaid', cycle: { closeDay: 1, dueDays: 15 }, tariffId: 'flat',
    creditLimitMinor: 50_000, warnFirstMinor: 0, warnSecondMinor: -20_000, protected: true, notify: { kind: 'mqtt', topic: 'fees/shop' } },
];

function assemble(c: StoreConnection, config: GridheadConfig, now = 1_000) {
  return createFeeAccounts({
    config, store: feeStoreOf(c), audit: auditLogOf(c), registry: { findMeter: (id) => (METERS.has(id) ? { id } : undefined) },
    tariffExists: (id) => id === 'flat' || id === 'industrial', tariffCycleOnly: (id) => id === 'industrial', now: () => now,
  });
}

describe('the fees section', () => {
  it('defaults to no accounts and a payment limit of 100,000,000 minor units', () => {
    const config = configWith({});
    expect(config.fees.accounts).toEqual([]);
    expect(config.fees.payments.maxAmountMinor).toBe(100_000_000);
  });

  it('refuses an account with an unknown key or a bad currency, naming the key path', () => {
    expect(() => configWith({ accounts: [{ ...seeds[0], balance: 5 }] })).toThrow(/fees\.accounts/);
    expect(() => configWith({ accounts: [{ ...seeds[0], currency: 'rmb' }] })).toThrow(/fees\.accounts\.0\.currency|fees\.accounts\[0\]\.currency/);
  });
});

describe.each(STORE_DRIVERS)('fee accounts assembly on $name', (driver) => {
  const db = connectEachTest(driver);

  it('builds nothing while fee control is off', async () => {
    expect(await assemble(db().connection, configWith({ enabled: false, accounts: seeds }))).toBeUndefined();
    expect(await feeStoreOf(db().connection).account('home')).toBeUndefined();
  });

  it('upserts the configured accounts: created once, unchanged after a restart, updated when the file changes', async () => {
    const service = await assemble(db().connection, configWith({ enabled: true, accounts: seeds }));
    expect((await service?.list({ limit: 10 }))?.items.map((r) => [r.account.id, r.account.mode, r.account.currency, r.account.createdAt])).toEqual([
      ['home', 'prepaid', 'CNY', 1_000], ['shop', 'postpaid', 'CNY', 1_000],
    ]);
    const restarted = await assemble(await db().reconnect(), configWith({ enabled: true, accounts: seeds }), 2_000);
    expect((await restarted?.get('home'))?.account.updatedAt).toBe(1_000);
    const changed = await assemble(db().connection, configWith({ enabled: true, accounts: [{ ...seeds[0], warnFirstMinor: 8000 }, seeds[1]] }), 3_000);
    expect((await changed?.get('home'))?.account).toMatchObject({ warnFirstMinor: 8000, createdAt: 1_000, updatedAt: 3_000 });
    expect((await changed?.get('shop'))?.account).toMatchObject({ protected: true, notify: { kind: 'mqtt', topic: 'fees/shop' }, updatedAt: 1_000 });
  });

  it('stops the start on an account that breaks a rule, naming its key path', async () => {
    await expect(assemble(db().connection, configWith({ enabled: true, accounts: [seeds[0], { ...seeds[1], meterIds: ['m2', 'm9'] }] })))
      .rejects.toThrow(/fees\.accounts\[1\]\.meterIds\[1\]: meter "m9" does not exist/);
    await expect(assemble(db().connection, configWith({ enabled: true, accounts: [{ ...seeds[0], tariffId: 'gold' }] })))
      .rejects.toThrow(/fees\.accounts\[0\]\.tariffId/);
    // A two-part tariff is charged once per billing cycle: fee control, charging as data arrives, cannot run it.
    await expect(assemble(db().connection, configWith({ enabled: true, accounts: [{ ...seeds[0], tariffId: 'industrial' }] })))
      .rejects.toThrow(/fees\.accounts\[0\]\.tariffId: tariff "industrial" is charged once per billing cycle/);
    await expect(assemble(db().connection, configWith({ enabled: true, accounts: [seeds[0], { ...seeds[1], id: 'other', meterIds: ['m1'] }] })))
      .rejects.toThrow(/fees\.accounts\[1\].*meter "m1" belongs to fee account "home"/);
  });
});
