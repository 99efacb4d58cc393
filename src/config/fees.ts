/**
 * The `fees` section: tariffs, accounts seeded at start (the demo's), and the fee-control
 * policy. Each part's schema is defined beside the code that reads it in src/fees and
 * composed here, as the protocols' sections are in schema.ts.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';
import { FeeAccountsConfig, FeePaymentsConfig } from '../fees/accounts/config.js';

export const FeesConfig = Type.Object(
  {
    /** Fee control runs at all: balances are charged, warnings sent, disconnections decided. */
    enabled: Type.Boolean({ default: false }),
    /** ISO 4217 code of the station's accounts and tariffs. */
    currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'CNY' }),
    /** Accounts upserted at start (src/fees/accounts/config.ts). */
    accounts: FeeAccountsConfig,
    payments: FeePaymentsConfig,
  },
  strict,
);

export type FeesConfig = Static<typeof FeesConfig>;
