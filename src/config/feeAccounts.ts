/**
 * The accounts part of the `fees` section: accounts seeded at start (the demo's; upserted, so a
 * restart with the same file changes nothing) and the payment limits. The same field schemas
 * describe an account in the API (src/api/feeAccountSchemas.ts).
 */
import Type, { type Static } from 'typebox';
import { Id, OneOf, strict } from '../../protocols/config.js';

/** ISO 4217: three upper-case letters. */
export const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. CNY' });

/** Minor units of money: an integer that JavaScript holds exactly. */
export const MinorUnits = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });

export const BillingCycleFields = Type.Object(
  {
    closeDay: Type.Integer({ minimum: 1, maximum: 28, description: 'Day of the month the cycle closes and the bill is charged.' }),
    dueDays: Type.Integer({ minimum: 0, maximum: 365, description: 'Days after the close the bill is due.' }),
  },
  strict,
);

export const NotificationTargetFields = Type.Union([
  Type.Object({ kind: Type.Literal('webhook'), url: Type.String({ pattern: '^https?://', maxLength: 2048 }) }, strict),
  Type.Object({ kind: Type.Literal('mqtt'), topic: Type.String({ minLength: 1, maxLength: 256 }) }, strict),
  Type.Object({ kind: Type.Literal('none') }, strict),
]);

/** What makes an account, as the configuration and the API give it. */
export const FeeAccountFields = {
  customerRef: Type.String({ minLength: 1, maxLength: 128, description: "The customer's reference in the utility's billing system." }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  meterIds: Type.Array(Id, { minItems: 1, maxItems: 1000, uniqueItems: true }),
  mode: OneOf(['prepaid', 'postpaid'] as const),
  cycle: Type.Optional(BillingCycleFields),
  tariffId: Id,
  currency: Type.Optional(CurrencyCode),
  creditLimitMinor: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Disconnection is due at balance ≤ −creditLimitMinor.' }),
  warnFirstMinor: MinorUnits,
  warnSecondMinor: MinorUnits,
  reconnectMinor: Type.Optional(MinorUnits),
  protected: Type.Optional(Type.Boolean({ description: '保电: never disconnected for fees.' })),
  notify: Type.Optional(NotificationTargetFields),
};

export const FeeAccountSeed = Type.Object({ id: Id, ...FeeAccountFields }, strict);

export const FeeAccountsConfig = Type.Array(FeeAccountSeed, { default: [], maxItems: 10_000 });

export const FeePaymentsConfig = Type.Object(
  {
    /** The largest amount one payment, reversal or adjustment may carry, minor units: a typo of a few zeros is refused, not credited. */
    maxAmountMinor: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 100_000_000 }),
  },
  { ...strict, default: {} },
);

export type FeeAccountSeed = Static<typeof FeeAccountSeed>;
export type FeePaymentsConfig = Static<typeof FeePaymentsConfig>;
