/**
 * The wire shapes of the command routes: the request body and the command as the API shows
 * it. The dashboard derives its types from these (src/web/types.ts), so a command's row is
 * declared once for the wire; the service's own shape is `Command` in src/control/commandModel.ts.
 * Types only from here on the browser side: this module must not import Node code.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../config/schema.js';
import { COMMAND_TYPES, TARGET_STATUSES } from '../control/commandModel.js';
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
  }, { additionalProperties: false })),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
  override: Type.Optional(Type.Object({ reason: Type.String({ minLength: 3, maxLength: 500 }) }, { additionalProperties: false })),
  confirmationToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false, description: 'Exactly one of `meterIds` and `areaId`.' });

const StateOut = Type.Object({ connected: Type.Optional(Type.Boolean()), limitKw: Type.Optional(Nullable(Type.Number())), clock: Type.Optional(Type.Number()) });
export const TargetOut = Type.Object({
  meterId: Type.String(), terminalId: Type.String(), status: OneOf(TARGET_STATUSES),
  transitions: Type.Array(Type.Object({ status: Type.String(), at: Type.String() })),
  state: Nullable(StateOut), error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
});
export const CommandOut = Type.Object({
  id: Type.String(), type: Type.String(), status: Type.String({ description: 'open | verified | partial | failed | cancelled' }),
  params: Type.Object({ limitKw: Type.Optional(Type.Number()), time: Type.Optional(Type.String()) }),
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
