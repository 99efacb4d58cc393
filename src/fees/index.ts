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
  readonly config: FeesConfig;
  readonly store: FeeStore;
  readonly audit: AuditLog;
  /** Whether the registry holds the meter. */
  readonly meterExists: (id: string) => boolean;
  /** Whether the tariff book holds the tariff (src/fees/tariffs). */
  readonly tariffExists: (id: string) => boolean;
  readonly now?: () => number;
}

export async function createFeeAccounts(o: FeeAccountsAssembly): Promise<FeeAccountService> {
  const service = new FeeAccountService({
    store: o.store, audit: o.audit, currency: o.config.currency, maxAmountMinor: o.config.payments.maxAmountMinor,
    meterExists: o.meterExists, tariffExists: o.tariffExists, ...(o.now === undefined ? {} : { now: o.now }),
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
