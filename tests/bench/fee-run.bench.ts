/**
 * A balance run over 100,000 prepaid accounts on the embedded store: each account's meter
 * charged for its new quarter hours from the billing VEE (flat tariff), its balance read back,
 * the policy decided, and the decisions that act recorded (a tenth of the accounts cross their
 * first warning). Then the same run again with nothing new to charge: the decision pass alone.
 * Accounts per second and CPU per account, on the store the runner uses in production.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { meterId, terminalId, type Reading } from '../../src/domain/index.js';
import { openDatabase } from '../../src/storage/db.js';
import { ReadingStore } from '../../src/storage/readingStore.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';
import type { FeeAccount } from '../../src/fees/model.js';
import { benchPad, fillBenchFleet } from '../helpers/benchFleet.js';
import { Q, T0, feeStationOn } from '../src/fees/run/station.js';

const ACCOUNTS = 100_000;
const QUARTERS = 4;

describe('fee run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-fee-bench-'));
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`runs ${ACCOUNTS} prepaid accounts`, async () => {
    const db = openDatabase(join(dir, 'store.db'));
    cleanups.push(() => { db.close(); });
    fillBenchFleet(db, { meters: ACCOUNTS, perTerminal: 100, perArea: 200, feeders: 10 });
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    const readings = new ReadingStore(db, (id) => registry.meterKey(id));
    const source = { protocol: 'mqtt' as const, terminalId: terminalId('t0000000'), mode: 'poll' as const };
    for (let from = 0; from < ACCOUNTS; from += 5_000) {
      const batch: Reading[] = [];
      for (let i = from; i < from + 5_000; i++) {
        for (let k = 0; k <= QUARTERS; k++) batch.push({ meterId: meterId(`m${benchPad(i)}`), quantity: 'energy.active.import', ts: T0 + k * Q, value: 1_000 + k * 0.25 * (1 + (i % 5)), unit: 'kWh', quality: 'good', source });
      }
      readings.write(batch);
    }
    const s = await feeStationOn(db, cleanups, { meters: [] });
    for (let i = 0; i < ACCOUNTS; i++) {
      const id = `a${benchPad(i)}`;
      const account: FeeAccount = {
        id, customerRef: `C-${i}`, name: id, meterIds: [`m${benchPad(i)}`], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
        creditLimitMinor: 1_000, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 0, protected: false, notify: { kind: 'none' }, createdAt: T0, updatedAt: T0,
      };
      await s.fees.createAccount(account);
      // A tenth end up at or below the first warning after the run's charges.
      await s.fees.append([{ accountId: id, kind: 'payment', amountMinor: i % 10 === 0 ? 2_100 : 50_000, currency: 'CNY', key: `payment:p${i}`, paymentId: `p${i}`, at: T0, actor: 'bench' }]);
    }
    const runner = s.runner();
    s.clock.set(T0 + QUARTERS * Q + 60_000);
    const measure = async (): Promise<{ perSecond: number; cpuUs: number }> => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await runner.run('prepaid');
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      return { perSecond: Math.round(ACCOUNTS / (ms / 1000)), cpuUs: Math.round((used.user + used.system) / ACCOUNTS) };
    };
    const charged = await measure();
    const stats = runner.stats();
    expect(stats.rowsCharged).toBe(ACCOUNTS);
    expect(stats.decisionsRecorded).toBe(ACCOUNTS / 10);
    console.log(`bench: fee-run-charge-and-decide = ${charged.perSecond} accounts/s`);
    console.log(`bench: fee-run-charge-and-decide-cpu = ${charged.cpuUs} µs/account`);
    console.log(`bench: fee-run-charge-and-decide-100k = ${(ACCOUNTS / charged.perSecond).toFixed(1)} s`);
    const decided = await measure();
    expect(runner.stats().rowsCharged).toBe(ACCOUNTS);
    console.log(`bench: fee-run-decide-only = ${decided.perSecond} accounts/s`);
    console.log(`bench: fee-run-decide-only-cpu = ${decided.cpuUs} µs/account`);
  });
});
