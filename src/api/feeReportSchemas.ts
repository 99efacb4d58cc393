/**
 * The wire shapes of the fee recovery reports (src/api/feeReportRoutes.ts). Money is an
 * integer of minor units beside its ISO 4217 currency; instants are RFC 3339 strings. The
 * dashboard derives its types from these (src/web/types.ts): this module must not import Node code.
 */
import Type from 'typebox';
import { Nullable } from './schemas.js';

const Area = Nullable(Type.String({ description: 'The registry area of the account\'s first meter (its transformer area); null when that meter has none.' }));
const Minor = (description: string) => Type.Integer({ description: `${description}, minor units of \`currency\`.` });
const Buckets = {
  d0to30Minor: Minor('Owed from debits booked 0–30 days ago'),
  d31to60Minor: Minor('31–60 days'),
  d61to90Minor: Minor('61–90 days'),
  over90Minor: Minor('Over 90 days'),
};

export const ArrearsRowOut = Type.Object({
  accountId: Type.String(), name: Type.String(), customerRef: Type.String(), areaId: Area,
  debtMinor: Minor('What the account owes now (−balance)'), currency: Type.String(), ...Buckets,
});

export const ArrearsAreaOut = Type.Object({
  areaId: Area, currency: Type.String(), accounts: Type.Integer(), debtMinor: Minor('Owed by the area\'s accounts'), ...Buckets,
});

export const ArrearsOut = Type.Object({
  asOf: Type.String(),
  areas: Nullable(Type.Array(ArrearsAreaOut, { description: 'Per area and currency over every indebted account; on the first page only.' })),
  items: Type.Array(ArrearsRowOut),
  next: Nullable(Type.String()),
});

export const RecoveryRowOut = Type.Object({
  areaId: Area, month: Type.String(), currency: Type.String(),
  paidMinor: Minor('Payments booked in the month less their reversals'),
  billedMinor: Minor('Charges, provisional charges and true-ups booked in the month'),
  rate: Nullable(Type.Number({ description: 'paidMinor / billedMinor; null when nothing was billed.' })),
});

export const RecoveryOut = Type.Object({ from: Type.String(), to: Type.String(), items: Type.Array(RecoveryRowOut) });

export const DisconnectionOut = Type.Object({
  accountId: Type.String(), name: Type.String(), areaId: Area,
  disconnectedAt: Type.String(),
  reconnectedAt: Nullable(Type.String({ description: 'The verified reconnection; null while still disconnected.' })),
  stage: Nullable(Type.String({ description: '`disconnected` or `reconnecting` while open.' })),
  durationMs: Type.Integer({ description: 'Until the reconnection, or until `asOf` while open.' }),
  balanceMinor: Minor('The balance now'), currency: Type.String(),
});

export const DisconnectedOut = Type.Object({
  asOf: Type.String(),
  open: Type.Array(DisconnectionOut, { description: 'Accounts disconnected for fees now (fee-control stage), longest first.' }),
  closed: Type.Array(DisconnectionOut, { description: 'Disconnections reconnected within [from, to), newest first.' }),
});

export const ReconnectionOut = Type.Object({
  accountId: Type.String(), areaId: Area, disconnectedAt: Type.String(), paidAt: Type.String(), paymentId: Nullable(Type.String()),
  reconnectedAt: Type.String(), durationMs: Type.Integer(),
});

export const ReconnectionTimesOut = Type.Object({
  from: Type.String(), to: Type.String(), count: Type.Integer(),
  medianMs: Nullable(Type.Integer()), p95Ms: Nullable(Type.Integer({ description: 'Nearest-rank 95th percentile.' })),
  truncated: Type.Boolean({ description: 'True when the period held more reconnections than one report reads; the figures cover the first ones.' }),
  items: Type.Array(ReconnectionOut, { description: 'The first `limit` reconnections, oldest first.' }),
});

export const WatchedAccountOut = Type.Object({
  accountId: Type.String(), name: Type.String(), areaId: Area, stage: Type.String(),
  balanceMinor: Type.Integer(), currency: Type.String(), warnFirstMinor: Type.Integer(), creditLimitMinor: Type.Integer(), reconnectMinor: Type.Integer(),
  nextWindowAt: Nullable(Type.String({ description: 'While `disconnect-pending`: the next allowed disconnection window.' })),
  disconnectedAt: Nullable(Type.String()), updatedAt: Type.String(),
});

export const WatchedOut = Type.Object({ asOf: Type.String(), items: Type.Array(WatchedAccountOut) });
