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
import type { DeviceControlState } from '../../../../protocols/adapter.js';
import { billingOptions } from '../../../../src/billing/index.js';
import { BillingService } from '../../../../src/billing/service.js';
import { SqliteBillingStore } from '../../../../src/billing/store.js';
import { buildConfig } from '../../../../src/config/load.js';
import type { StationCommand } from '../../../../src/control/commandModel.js';
import type { CommandService } from '../../../../src/control/commands.js';
import { meterId, terminalId, type Meter } from '../../../../src/domain/index.js';
import type { FeeAccount } from '../../../../src/fees/model.js';
import { FeeRunConfig } from '../../../../src/fees/run/config.js';
import { FeeNotifier } from '../../../../src/fees/run/notify.js';
import { FeeControlRunner } from '../../../../src/fees/run/runner.js';
import { SqliteFeeStore } from '../../../../src/fees/sqliteStore.js';
import { compileTariff } from '../../../../src/fees/tariffs/index.js';
import { LogThrottle, createLogger } from '../../../../src/observe/logger.js';
import { Registry } from '../../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { ReadingStore } from '../../../../src/storage/readingStore.js';
import { Value } from 'typebox/value';
import { testCommandService } from '../../../helpers/commandService.js';
import { policy } from '../policy/fixtures.js';

const Q = 15 * 60_000;
/** A Wednesday, 00:00 UTC. */
const T0 = Date.UTC(2025, 8, 24);
const METER: Meter = { id: meterId('m1'), name: 'm1', terminalId: terminalId('t1'), address: '1', ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null };

/** A meter relay that does what it is told and reports its state. */
class Relay {
  connected = true;
  readonly log: string[] = [];
  run = (_t: string, c: StationCommand): Promise<DeviceControlState> => {
    this.log.push(c.type);
    if (c.type === 'disconnect') this.connected = false;
    if (c.type === 'reconnect') this.connected = true;
    return Promise.resolve({ connected: this.connected });
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station() {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-fee-run-'));
  const db: Db = openDatabase(join(dir, 'store.db'));
  cleanups.push(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({ areas: [], terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }], meters: [{ id: 'm1', name: 'm1', terminalId: 't1', address: '1', ctRatio: 1, ptRatio: 1, protected: false }] });
  // 1 kWh a quarter hour, read every quarter hour for 16 hours.
  const readings = new ReadingStore(db, (id) => registry.meterKey(id));
  const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
  readings.write(Array.from({ length: 65 }, (_, k) => ({ meterId: meterId('m1'), quantity: 'energy.active.import' as const, ts: T0 + k * Q, value: 100 + k, unit: 'kWh', quality: 'good' as const, source })));
  const billing = new BillingService(new SqliteBillingStore(db), billingOptions(buildConfig({}, 'test').billing, 0, () => new Set()));
  const fees = new SqliteFeeStore(db);
  const relay = new Relay();
  let now = T0;
  const clock = { now: () => now, set: (t: number) => { now = t; } };
  const commands = testCommandService({ db, meters: [METER], run: relay.run, now: clock.now });
  await commands.service.start();
  cleanups.push(() => commands.service.close());
  const account: FeeAccount = {
    id: 'acc-1', customerRef: 'C-1', name: 'Flat 1', meterIds: ['m1'], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 1_000, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 0, protected: false, notify: { kind: 'none' }, createdAt: T0, updatedAt: T0,
  };
  await fees.createAccount(account);
  await fees.append([{ accountId: 'acc-1', kind: 'payment', amountMinor: 3_000, currency: 'CNY', key: 'payment:p0', paymentId: 'p0', at: T0, actor: 'test' }]);
  const runner = (service: CommandService = commands.service) => {
    const config = Value.Default(FeeRunConfig, {}) as FeeRunConfig;
    return new FeeControlRunner({
      store: fees, billing, tariff: (id) => (id === 'flat' ? compileTariff({ id: 'flat', kind: 'flat', currency: 'CNY', price: '1' }) : undefined), port: service,
      notifier: new FeeNotifier(config.notify, undefined, createLogger('silent')),
      policy: policy({ forbiddenHours: [], weekendDays: [], minHoursAfterLastWarning: 0 }), config, meter: () => METER,
      now: clock.now, logger: createLogger('silent'), throttle: new LogThrottle(60_000),
    });
  };
  return { db, fees, relay, clock, commands, runner };
}

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
