/**
 * Builds fee accounts, the ledger's payments and adjustments, from the `fees` section: the one
 * place that configuration meets src/fees/accounts. The accounts of the configuration are
 * upserted before the service is handed out.
 */
import type { AuditLog } from '../control/audit.js';
import { ConfigError } from '../config/load.js';
import type { FeesConfig } from '../config/fees.js';
import { ValidationError } from '../domain/errors.js';
import { FeeAccountService, type AccountInput } from './accounts/service.js';
import type { FeeStore } from './store.js';

export { FeeAccountService } from './accounts/service.js';

export interface FeeAccountsAssembly {
  readonly config: { readonly fees: FeesConfig };
  readonly store: FeeStore;
  readonly audit: AuditLog;
  readonly registry: { findMeter(id: string): unknown };
  /** Whether the tariff book holds the tariff; default: a tariff of `fees.tariffs`. */
  readonly tariffExists?: (id: string) => boolean;
  readonly now?: () => number;
}

/** The account service with the configured accounts upserted, or undefined while fee control is off (`fees.enabled`). */
export async function createFeeAccounts(a: FeeAccountsAssembly): Promise<FeeAccountService | undefined> {
  if (!a.config.fees.enabled) return undefined;
  const o = {
    ...a, config: a.config.fees, meterExists: (id: string) => a.registry.findMeter(id) !== undefined,
    tariffExists: a.tariffExists ?? ((id: string) => tariffIdsOf(a.config.fees).has(id)),
  };
  const service = new FeeAccountService({
    store: o.store, audit: o.audit, currency: o.config.currency, maxAmountMinor: o.config.payments.maxAmountMinor,
    meterExists: o.meterExists, tariffExists: o.tariffExists, ...(o.now === undefined ? {} : { now: o.now }),
  });
  await seedAccounts(service, o.config.accounts);
  return service;
}

/** The ids of the section's tariffs (`fees.tariffs`, src/fees/tariffs); none where the section holds no tariff book. */
function tariffIdsOf(fees: FeesConfig): ReadonlySet<string> {
  const tariffs = (fees as { readonly tariffs?: readonly { readonly id: string }[] }).tariffs ?? [];
  return new Set(tariffs.map((t) => t.id));
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
