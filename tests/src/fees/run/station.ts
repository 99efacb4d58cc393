/**
 * A station's fee-control parts on one embedded store, for the runner's and the routes' tests:
 * readings through the reading store (1 kWh a quarter hour on m1 for 16 hours from T0), the
 * billing VEE, the tariff engine (flat, 1 CNY/kWh), the fee store with one prepaid account paid
 * 30.00 CNY, and the command service over a stand-in relay. Time is a manual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import type { DeviceControlState } from '../../../../protocols/adapter.js';
import { billingOptions } from '../../../../src/billing/index.js';
import { BillingService } from '../../../../src/billing/service.js';
import { SqliteBillingStore } from '../../../../src/billing/store.js';
import { buildConfig } from '../../../../src/config/load.js';
import type { StationCommand } from '../../../../src/control/commandModel.js';
import type { CommandService } from '../../../../src/control/commands.js';
import { meterId, terminalId, type Meter } from '../../../../src/domain/index.js';
import type { FeeAccount } from '../../../../src/fees/model.js';
import { FeeRunConfig } from '../../../../src/config/feeRun.js';
import { FeeControl } from '../../../../src/fees/run/feeControl.js';
import { FeeNotifier } from '../../../../src/fees/run/notify.js';
import { FeeControlRunner } from '../../../../src/fees/run/runner.js';
import { SqliteFeeStore } from '../../../../src/fees/sqliteStore.js';
import { compileTariff } from '../../../../src/fees/tariffs/index.js';
import { LogThrottle, createLogger } from '../../../../src/observe/logger.js';
import { Registry } from '../../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../../src/storage/db.js';
import { ReadingStore } from '../../../../src/storage/readingStore.js';
import { testCommandService } from '../../../helpers/commandService.js';
import { policy as policyOf } from '../policy/fixtures.js';

export const Q = 15 * 60_000;
/** A Wednesday, 00:00 UTC. */
export const T0 = Date.UTC(2025, 8, 24);
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

export async function feeStation(cleanups: (() => Promise<void> | void)[]) {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-fee-run-'));
  const db: Db = openDatabase(join(dir, 'store.db'));
  cleanups.push(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({ areas: [], terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }], meters: [{ id: 'm1', name: 'm1', terminalId: 't1', address: '1', ctRatio: 1, ptRatio: 1, protected: false }] });
  // 1 kWh a quarter hour, read every quarter hour for 16 hours.
  const readings = new ReadingStore(db, (id) => registry.meterKey(id));
  const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
  readings.write(Array.from({ length: 65 }, (_, k) => ({ meterId: meterId('m1'), quantity: 'energy.active.import' as const, ts: T0 + k * Q, value: 100 + k, unit: 'kWh', quality: 'good' as const, source })));
  const s = await feeStationOn(db, cleanups, { meters: [METER] });
  const account: FeeAccount = {
    id: 'acc-1', customerRef: 'C-1', name: 'Flat 1', meterIds: ['m1'], mode: 'prepaid', tariffId: 'flat', currency: 'CNY',
    creditLimitMinor: 1_000, warnFirstMinor: 2_000, warnSecondMinor: 500, reconnectMinor: 0, protected: false, notify: { kind: 'none' }, createdAt: T0, updatedAt: T0,
  };
  await s.fees.createAccount(account);
  await s.fees.append([{ accountId: 'acc-1', kind: 'payment', amountMinor: 3_000, currency: 'CNY', key: 'payment:p0', paymentId: 'p0', at: T0, actor: 'test' }]);
  return s;
}

/** Fee control's parts on a database whose registry and readings the caller filled; `meters` are the command service's. */
export async function feeStationOn(db: Db, cleanups: (() => Promise<void> | void)[], o: { readonly meters: readonly Meter[] }) {
  const billing = new BillingService(new SqliteBillingStore(db), billingOptions(buildConfig({}, 'test').billing, 0, () => new Set()));
  const fees = new SqliteFeeStore(db);
  const relay = new Relay();
  let now = T0;
  const clock = { now: () => now, set: (t: number) => { now = t; } };
  const commands = testCommandService({ db, meters: o.meters, run: relay.run, now: clock.now });
  await commands.service.start();
  cleanups.push(() => commands.service.close());
  const config = Value.Default(FeeRunConfig, {}) as FeeRunConfig;
  const policy = policyOf({ forbiddenHours: [], weekendDays: [], minHoursAfterLastWarning: 0 });
  const flat = compileTariff({ id: 'flat', kind: 'flat', currency: 'CNY', price: '1' });
  const runner = (service: CommandService = commands.service) => new FeeControlRunner({
    store: fees, billing, tariff: (id) => (id === 'flat' ? flat : undefined), port: service,
    notifier: new FeeNotifier(config.notify, undefined, createLogger('silent')), audit: commands.audit,
    policy, config, meter: (id) => o.meters.find((m) => m.id === id),
    now: clock.now, logger: createLogger('silent'), throttle: new LogThrottle(60_000),
  });
  const control = new FeeControl({ runner: runner(), store: fees, audit: commands.audit, policy, config, now: clock.now, onError: (_what, err) => { throw err; } });
  return { db, fees, relay, clock, commands, runner, control };
}
