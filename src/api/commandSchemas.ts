/**
 * The wire shapes of the command routes: the request body and the command as the API shows
 * it. The dashboard derives its types from these (src/web/types.ts), so a command's row is
 * declared once for the wire; the service's own shape is `Command` in src/control/commandModel.ts.
 * Types only from here on the browser side: this module must not import Node code.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../config/schema.js';
import { COMMAND_TYPES, MAX_CREDIT_MINOR, TARGET_STATUSES } from '../control/commandModel.js';
import { Nullable } from './schemas.js';

export const MeterIdString = Type.String({ minLength: 1, maxLength: 64 });
const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

export const CommandBody = Type.Object({
  type: OneOf(COMMAND_TYPES),
  meterIds: Type.Optional(Type.Array(MeterIdString, { minItems: 1, maxItems: 100_000 })),
  areaId: Type.Optional(MeterIdString),
  params: Type.Optional(Type.Object({
    limitKw: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
    time: Type.Optional(Timestamp),
    amountMinor: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CREDIT_MINOR, description: 'add-credit: the credit to add, in minor units of `currency` (fen for CNY): 5000 is 50.00 CNY.' })),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'add-credit: ISO 4217 code; the meter\'s account must count in it.' })),
    token: Type.Optional(Type.String({ pattern: '^([0-9A-Fa-f]{2}){1,512}$', description: 'add-credit: the vending system\'s token (hex), for meters that take credit through a token gateway.' })),
  }, { additionalProperties: false })),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
  override: Type.Optional(Type.Object({ reason: Type.String({ minLength: 3, maxLength: 500 }) }, { additionalProperties: false })),
  confirmationToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false, description: 'Exactly one of `meterIds` and `areaId`.' });

const AmountOut = Type.Object({
  raw: Type.Integer(), scale: Type.Integer(), value: Type.Number(), currency: Type.String(),
}, { description: 'An amount of the meter\'s account: raw × 10^scale = value in currency.' });
const AccountOut = Type.Object({
  account: Type.String(), mode: Type.String({ description: 'credit | prepayment' }), status: Type.String({ description: 'new | active | closed' }),
  unit: Type.String({ description: 'monetary | time | consumption' }),
  availableCredit: AmountOut, amountToClear: AmountOut, aggregatedDebt: AmountOut, lowCreditThreshold: AmountOut,
  creditStatus: Type.Array(Type.String()),
  credits: Type.Array(Type.Object({ credit: Type.String(), amount: AmountOut, type: Type.String(), status: Type.String(), priority: Type.Integer() })),
  charges: Type.Array(Type.Object({ charge: Type.String(), type: Type.String(), priority: Type.Integer(), totalAmountPaid: AmountOut })),
}, { description: 'The meter\'s own account (DLMS payment metering), as read.' });
const StateOut = Type.Object({
  connected: Type.Optional(Type.Boolean()), limitKw: Type.Optional(Nullable(Type.Number())), clock: Type.Optional(Type.Number()),
  account: Type.Optional(AccountOut), availableCreditBefore: Type.Optional(AmountOut),
});
export const TargetOut = Type.Object({
  meterId: Type.String(), terminalId: Type.String(), status: OneOf(TARGET_STATUSES),
  transitions: Type.Array(Type.Object({ status: Type.String(), at: Type.String() })),
  state: Nullable(StateOut), error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
});
export const CommandOut = Type.Object({
  id: Type.String(), type: Type.String(), status: Type.String({ description: 'open | verified | partial | failed | cancelled' }),
  params: Type.Object({
    limitKw: Type.Optional(Type.Number()), time: Type.Optional(Type.String()),
    amountMinor: Type.Optional(Type.Integer()), currency: Type.Optional(Type.String()), token: Type.Optional(Type.String()),
  }),
  scope: Type.Object({ meterIds: Type.Optional(Type.Array(Type.String())), areaId: Type.Optional(Type.String()) }),
  reason: Nullable(Type.String()), overrideReason: Nullable(Type.String()),
  origin: Type.Object({ kind: Type.String(), actor: Type.Optional(Type.String()), id: Type.Optional(Type.String()), round: Type.Optional(Type.Integer()) }),
  createdAt: Type.String(),
  counts: Type.Record(Type.String(), Type.Integer()),
  targets: Type.Array(TargetOut),
});
export const PreviewOut = Type.Object({
  confirmationRequired: Type.Literal(true),
  confirmationToken: Type.String(), expiresAt: Type.String(), type: Type.String(),
  meters: Type.Array(Type.Object({ meterId: Type.String(), terminalId: Type.String(), customerRef: Nullable(Type.String()) })),
  skippedProtected: Type.Array(Type.String()),
});

/** A command as the API shows it. */
export type CommandView = Static<typeof CommandOut>;
export type CommandTargetView = Static<typeof TargetOut>;
