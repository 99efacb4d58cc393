/**
 * Schemas of the fee routes (accounts, ledger, payments). Money is an integer of minor units
 * beside its ISO 4217 currency: `amountMinor`, `balanceMinor`. Like every `*Schemas.ts`
 * module here, no Node code: the dashboard derives its types from it.
 */
import Type, { type Static } from 'typebox';
import { Id, OneOf } from '../../protocols/config.js';
import type { FeeControlStage } from '../fees/model.js';
import { BillingCycleFields, CurrencyCode, FeeAccountFields, MinorUnits, NotificationTargetFields } from '../config/feeAccounts.js';
import { Nullable } from './schemas.js';

const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });
const Stage = OneOf<FeeControlStage>(['normal', 'warned-first', 'warned-second', 'disconnect-pending', 'disconnected', 'reconnecting']);

export const FeeAccountBody = Type.Object({ id: Id, ...FeeAccountFields }, { additionalProperties: false });

export const FeeAccountPatch = Type.Object({
  customerRef: Type.Optional(FeeAccountFields.customerRef),
  name: Type.Optional(FeeAccountFields.name),
  meterIds: Type.Optional(FeeAccountFields.meterIds),
  mode: Type.Optional(FeeAccountFields.mode),
  cycle: Type.Optional(Nullable(BillingCycleFields)),
  tariffId: Type.Optional(FeeAccountFields.tariffId),
  currency: FeeAccountFields.currency,
  creditLimitMinor: Type.Optional(FeeAccountFields.creditLimitMinor),
  warnFirstMinor: Type.Optional(FeeAccountFields.warnFirstMinor),
  warnSecondMinor: Type.Optional(FeeAccountFields.warnSecondMinor),
  reconnectMinor: FeeAccountFields.reconnectMinor,
  protected: FeeAccountFields.protected,
  notify: FeeAccountFields.notify,
}, { additionalProperties: false, minProperties: 1 });

export const BalanceOut = Type.Object({
  accountId: Type.String(),
  balanceMinor: Type.Integer(),
  currency: Type.String(),
  throughSeq: Type.Integer({ description: 'The last ledger row the balance includes.' }),
});

export const FeeControlOut = Type.Object({
  stage: Stage,
  warnedFirstAt: Nullable(Time),
  warnedSecondAt: Nullable(Time),
  disconnectDueAt: Nullable(Time),
  nextWindowAt: Nullable(Time),
  disconnectedAt: Nullable(Time),
  lastCommandId: Nullable(Type.String()),
  updatedAt: Time,
  version: Type.Integer(),
});

export const FeeAccountOut = Type.Object({
  id: Type.String(),
  customerRef: Type.String(),
  name: Type.String(),
  meterIds: Type.Array(Type.String()),
  mode: Type.String(),
  cycle: Type.Optional(BillingCycleFields),
  tariffId: Type.String(),
  currency: Type.String(),
  creditLimitMinor: Type.Integer(),
  warnFirstMinor: Type.Integer(),
  warnSecondMinor: Type.Integer(),
  reconnectMinor: Type.Integer(),
  protected: Type.Boolean(),
  notify: NotificationTargetFields,
  createdAt: Time,
  updatedAt: Time,
  balance: BalanceOut,
  control: FeeControlOut,
});

/** A meter that keeps its own account (本地费控), as fee control last read it and compared it with the balance. */
export const MeterCreditOut = Type.Object({
  meterId: Type.String(),
  availableMinor: Nullable(Type.Integer({ description: 'The meter\'s available credit, minor units of `currency`; null when it holds no whole number of them.' })),
  currency: Type.String(),
  mode: OneOf(['credit', 'prepayment']),
  status: OneOf(['new', 'active', 'closed']),
  creditStatus: Type.Array(Type.String(), { description: 'The credit status flags set (inCredit, lowCredit, outOfCredit, …).' }),
  credits: Type.Array(Type.Object({ credit: Type.String(), type: Type.String(), status: Type.String(), amountMinor: Nullable(Type.Integer()) })),
  at: Time,
  comparison: Type.Object({
    kind: OneOf(['agree', 'mismatch', 'incomparable']),
    stationBalanceMinor: Type.Integer({ description: 'The station\'s balance it was compared with.' }),
    differenceMinor: Nullable(Type.Integer({ description: 'Meter minus station; null when incomparable.' })),
    toleranceMinor: Type.Integer(),
    reason: Nullable(Type.String({ description: 'Why they cannot be compared.' })),
  }),
});

/** One account as GET /fees/accounts/:id answers it: with its meters' own accounts where they keep one. */
export const FeeAccountDetailOut = Type.Object({
  ...FeeAccountOut.properties,
  meterCredit: Type.Array(MeterCreditOut, { description: 'Meters that keep their own account, as last read (fees.run.meterCreditEveryMs); empty until one is.' }),
});

export const LedgerEntryOut = Type.Object({
  seq: Type.Integer(),
  accountId: Type.String(),
  kind: Type.String(),
  amountMinor: Type.Integer(),
  currency: Type.String(),
  key: Type.String(),
  at: Time,
  periodFrom: Type.Optional(Time),
  periodTo: Type.Optional(Time),
  paymentId: Type.Optional(Type.String()),
  detail: Type.Optional(Type.Unknown()),
  actor: Type.String(),
});

export const DecisionOut = Type.Object({
  seq: Type.Integer(),
  accountId: Type.String(),
  at: Time,
  action: Type.String(),
  reason: Type.String(),
  message: Type.String(),
  balanceMinor: Type.Integer(),
  nextWindowAt: Type.Optional(Time),
  commandId: Type.Optional(Type.String()),
  dryRun: Type.Optional(Type.Boolean()),
});

/** What booking a payment, reversal or adjustment answers: the row, the balance after it, and whether this was a retry of a request already booked. */
export const BookedOut = Type.Object({ entry: LedgerEntryOut, balance: BalanceOut, replayed: Type.Boolean() });

export const PaymentBody = Type.Object({
  paymentId: Type.String({ minLength: 1, maxLength: 128, description: "The payment system's id; credited once across the station." }),
  accountId: Id,
  amountMinor: Type.Integer({ description: 'Positive, minor units of `currency` (fen for CNY).' }),
  currency: CurrencyCode,
  paidAt: Time,
}, { additionalProperties: false });

export const ReversalBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });

export const AdjustmentBody = Type.Object({
  amountMinor: { ...MinorUnits, description: 'Signed, non-zero: positive credits the customer, negative charges.' },
  currency: CurrencyCode,
  note: Type.String({ minLength: 1, maxLength: 500 }),
}, { additionalProperties: false });

export type FeeAccountView = Static<typeof FeeAccountOut>;
export type FeeAccountDetailView = Static<typeof FeeAccountDetailOut>;
export type MeterCreditView = Static<typeof MeterCreditOut>;
export type LedgerEntryView = Static<typeof LedgerEntryOut>;
export type DecisionView = Static<typeof DecisionOut>;
export type BookedView = Static<typeof BookedOut>;
