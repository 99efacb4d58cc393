/**
 * Builds fee accounts, the ledger's payments and adjustments, from the `fees` section: the one
 * place that configuration meets src/fees/accounts. The accounts of the configuration are
 * upserted before the service is handed out.
 */
import type { MqttConnection } from '../../protocols/mqtt/connection.js';
import { createBillingService } from '../billing/index.js';
import type { ReplacementStore } from '../billing/replacements.js';
import type { BillingStore } from '../billing/store.js';
import type { GridheadConfig } from '../config/schema.js';
import type { AuditLog } from '../control/audit.js';
import type { ControlPort } from '../control/port.js';
import type { Closers } from '../observe/closers.js';
import type { AlarmSignal, AlarmSubject } from '../domain/alarm.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import { compilePolicy } from './policy/decide.js';
import { FeeControl } from './run/feeControl.js';
import { FeeNotifier } from './run/notify.js';
import { MeterCreditCheck } from './run/meterCredit.js';
import { FeeControlRunner } from './run/runner.js';
import type { TariffBook } from './tariffs/index.js';
import { ConfigError } from '../config/load.js';
import type { FeesConfig } from '../config/fees.js';
import { ValidationError } from '../domain/errors.js';
import { FeeAccountService, type AccountInput } from './accounts/service.js';
import type { FeeStore } from './store.js';

export { FeeAccountService } from './accounts/service.js';
export { FeeControl } from './run/feeControl.js';

export interface FeeAccountsAssembly {
  readonly config: { readonly fees: FeesConfig };
  readonly store: FeeStore;
  readonly audit: AuditLog;
  readonly registry: { findMeter(id: string): unknown };
  /** Whether the tariff book (src/fees/tariffs) holds the tariff. */
  readonly tariffExists: (id: string) => boolean;
  /** Whether the tariff is charged once per billing cycle only (two-part), which fee control refuses. */
  readonly tariffCycleOnly?: (id: string) => boolean;
  readonly now?: () => number;
}

/** The account service with the configured accounts upserted, or undefined while fee control is off (`fees.enabled`). */
export async function createFeeAccounts(a: FeeAccountsAssembly): Promise<FeeAccountService | undefined> {
  if (!a.config.fees.enabled) return undefined;
  const o = {
    ...a, config: a.config.fees, meterExists: (id: string) => a.registry.findMeter(id) !== undefined,
  };
  const service = new FeeAccountService({
    store: o.store, audit: o.audit, currency: o.config.currency, maxAmountMinor: o.config.payments.maxAmountMinor,
    meterExists: o.meterExists, tariffExists: o.tariffExists,
    ...(o.tariffCycleOnly === undefined ? {} : { tariffCycleOnly: o.tariffCycleOnly }), ...(o.now === undefined ? {} : { now: o.now }),
  });
  await seedAccounts(service, o.config.accounts);
  return service;
}

/** Upserts the configured accounts one by one; a refused one stops the start with its key path. */
async function seedAccounts(service: FeeAccountService, seeds: readonly AccountInput[]): Promise<void> {
  for (const [i, seed] of seeds.entries()) {
    try {
      await service.seed([seed]);
    } catch (err) {
      if (!(err instanceof Error) || !('code' in err)) throw err;
      const field = err instanceof ValidationError && err.field !== undefined ? `.${err.field}` : '';
      throw new ConfigError('the fees section', [{ path: `fees.accounts[${i}]${field}`, message: err.message }]);
    }
  }
}

export interface FeeControlAssembly {
  readonly config: GridheadConfig;
  readonly store: FeeStore;
  readonly audit: AuditLog;
  readonly billing: { readonly billing: BillingStore; readonly replacements: ReplacementStore };
  readonly registry: Pick<Registry, 'findMeter' | 'areaSubtree'>;
  readonly tariffs: TariffBook;
  readonly port: ControlPort;
  /** The station's MQTT connection, for notices to accounts with an MQTT target. */
  readonly broker: MqttConnection;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  /** Where the runner's timers register: the leader's roster, so one node charges and decides. */
  readonly duties: Duties;
  /** Whether the terminal's adapter offers payment metering: its meters' own accounts are read and compared with the balance. */
  readonly paymentMetering: (terminalId: string) => boolean;
  /** Where a meter's own credit disagreeing with the balance is raised and cleared. */
  readonly alarms: { readonly signal: (s: AlarmSignal) => void; readonly openFor: (ruleId: string, subject: AlarmSubject) => unknown };
  readonly now?: () => number;
}

/** The fee-control runner on its timers, the emergency flag and the dry run; undefined while fee control is off (`fees.enabled`). */
export function createFeeControl(a: FeeControlAssembly): FeeControl | undefined {
  const { config } = a;
  if (!config.fees.enabled) return undefined;
  const now = a.now ?? Date.now;
  const logger = a.logger.child({ component: 'fee-control' });
  const policy = compilePolicy(config.fees.policy);
  const notifier = new FeeNotifier(config.fees.run.notify, { ...a.broker, clientId: `${config.mqtt.clientId}-fees` }, logger);
  const runner = new FeeControlRunner({
    store: a.store, billing: createBillingService(a.billing, config.billing, config.station.utcOffsetMinutes, (id) => a.registry.areaSubtree(id)),
    tariff: (id) => a.tariffs.get(id), port: a.port, notifier, audit: a.audit, policy, config: config.fees.run,
    meter: (id) => a.registry.findMeter(id), now, logger, throttle: a.throttle,
  });
  const meterCredit = new MeterCreditCheck({
    store: a.store, port: a.port, alarms: a.alarms, config: config.fees.run, now, logger, throttle: a.throttle,
    paymentMetering: (id) => { const m = a.registry.findMeter(id); return m !== undefined && a.paymentMetering(m.terminalId); },
    areaOf: (id) => a.registry.findMeter(id)?.areaId ?? null,
  });
  const control = new FeeControl({
    runner, meterCredit, store: a.store, audit: a.audit, policy, config: config.fees.run, now,
    onError: (what, err) => { if (a.throttle.pass(`fee-control:${what}`) >= 0) logger.error({ err }, `fee control ${what} failed`); },
  });
  a.duties.add('fee control', {
    start: () => { notifier.start(); control.start(); },
    stop: async () => { await control.stop(); await notifier.stop(); },
  });
  a.closers.add('fee control', async () => { await control.stop(); await notifier.stop(); });
  return control;
}
