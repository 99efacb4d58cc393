/**
 * The `fees` section: tariffs, accounts seeded at start (the demo's), and the fee-control
 * policy. Each part's schema is defined beside the code that reads it in src/fees and
 * composed here, as the protocols' sections are in schema.ts.
 */
import Type, { type Static } from 'typebox';
import { strict } from '../../protocols/config.js';
import { FeePolicyConfig } from './feePolicy.js';
import { FeeRunConfig } from './feeRun.js';
import { TariffConfig } from '../fees/tariffs/schema.js';
import { FeeAccountsConfig, FeePaymentsConfig } from './feeAccounts.js';

export const FeesConfig = Type.Object(
  {
    /** Fee control runs at all: balances are charged, warnings sent, disconnections decided. */
    enabled: Type.Boolean({ default: false }),
    /** ISO 4217 code of the station's accounts and tariffs. */
    currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'CNY' }),
    /** When disconnection for fees is allowed (src/config/feePolicy.ts, read by src/fees/policy). */
    policy: FeePolicyConfig,
    /** The fee-control runner: charging, decisions, payments followed, notices (src/config/feeRun.ts, read by src/fees/run). */
    run: FeeRunConfig,
    /** Tariffs accounts are charged by (src/fees/tariffs): flat, tou, tiered, two-part; each kind's fields checked by its schema. */
    tariffs: Type.Array(TariffConfig, { default: [], maxItems: 1_000 }),
    /** Accounts upserted at start (src/fees/accounts/config.ts). */
    accounts: FeeAccountsConfig,
    payments: FeePaymentsConfig,
  },
  strict,
);

export type FeesConfig = Static<typeof FeesConfig>;
