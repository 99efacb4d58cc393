/**
 * The wire shapes of the load-control routes: a program, its detail with trips and actions,
 * and a preview. The dashboard derives its types from these (src/web/types.ts).
 * Types only from here on the browser side: this module must not import Node code.
 */
import Type from 'typebox';
import type { ExplanationPart } from '../domain/explanation.js';
import { Nullable } from './schemas.js';

const ControlError = Type.Object({ code: Type.String(), message: Type.String() });

export const ProgramOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  dryRun: Type.Boolean(),
  state: Type.String({ description: 'disabled | armed | alarming | round | restoring' }),
  round: Type.Integer({ description: 'Last round executed, 0 for none.' }),
  since: Type.Number({ description: 'When the present state began, ms since the epoch.' }),
  load: Nullable(Type.Number()),
  limit: Nullable(Type.Number()),
  unit: Type.String(),
  basis: Type.String({ description: 'What set the limit, e.g. "period 08:00–12:00".' }),
  basisData: Type.Unsafe<ExplanationPart>({ description: 'The basis as explanation data (template and arguments), for the reader\'s language.' }),
  overSince: Nullable(Type.Number()),
  nextRound: Nullable(Type.Object({ round: Type.Integer(), dueAt: Nullable(Type.Number()) })),
});

export const ProgramListOut = Type.Object({ items: Type.Array(ProgramOut) });

const Tripped = Type.Object({
  meterId: Type.String(), command: Type.String(), limitKw: Type.Optional(Type.Number()), round: Type.Integer(),
  status: Type.String({ description: 'verified | failed | refused | dry-run' }), at: Type.Number(), error: Type.Optional(ControlError),
});

const Action = Type.Object({
  id: Type.Integer(), meterId: Type.String(), command: Type.String(), limitKw: Nullable(Type.Number()),
  origin: Type.Object({ kind: Type.String(), id: Type.Optional(Type.String()), round: Type.Optional(Type.Integer()), actor: Type.Optional(Type.String()) }),
  reason: Type.String(), requestedAt: Type.Number(), status: Type.String(), finishedAt: Nullable(Type.Number()),
  state: Nullable(Type.Object({ connected: Type.Optional(Type.Boolean()), limitKw: Type.Optional(Nullable(Type.Number())), clock: Type.Optional(Type.Number()) })),
  error: Nullable(ControlError),
});

const PurchaseOut = Type.Object({
  purchaseId: Type.String(), kwh: Type.Number(), actor: Type.String({ description: 'Who recorded it.' }), at: Type.Number({ description: 'When it was recorded, ms since the epoch.' }),
});

const PurchaseState = Type.Object({
  purchasedKwh: Type.Number({ description: 'The configured load (`purchasedKwh`) and every top-up.' }),
  initialKwh: Type.Number(),
  consumedKwh: Type.Number({ description: 'energy.active.import counted from register deltas since the program started.' }),
  remainingKwh: Type.Number({ description: 'purchased − consumed; at or under 0 the rounds run.' }),
  warnKwh: Type.Array(Type.Number()),
  warned: Type.Array(Type.Number(), { description: 'The thresholds the remaining energy is at or under, each warned once.' }),
  heldMeters: Type.Array(Type.String(), { description: 'Meters whose register went back without a recorded replacement: they count nothing until one is recorded.' }),
  purchaseCount: Type.Integer(),
  purchases: Type.Array(PurchaseOut, { description: 'The latest 100 top-ups, newest first.' }),
});

export const ProgramDetailOut = Type.Intersect([ProgramOut, Type.Object({
  tripped: Type.Array(Tripped), actions: Type.Array(Action),
  purchase: Type.Optional(PurchaseState),
})]);

export const PurchaseBody = Type.Object({
  purchaseId: Type.String({ minLength: 1, maxLength: 64, description: 'The purchase in the seller\'s system, unique per program: the same id again loads nothing.' }),
  kwh: Type.Number({ exclusiveMinimum: 0, description: 'kWh bought, at most 3 decimals, at most `loadControl.maxPurchaseKwh`.' }),
}, { additionalProperties: false });

export const PurchaseResult = Type.Object({
  created: Type.Boolean({ description: 'False: this purchase was loaded before (a retry) and nothing was added.' }),
  purchase: PurchaseOut,
  program: ProgramDetailOut,
});

export const PreviewOut = Type.Object({
  programId: Type.String(), at: Type.Number(), dryRun: Type.Boolean(), phase: Type.String(),
  value: Nullable(Type.Number()), limit: Nullable(Type.Number()), unit: Type.String(), basis: Type.String(), basisData: Type.Unsafe<ExplanationPart>({}), over: Type.Boolean(),
  rounds: Type.Array(Type.Object({
    round: Type.Integer(), afterMs: Type.Integer(), action: Type.String(), limitKw: Type.Optional(Type.Number()),
    dueAt: Nullable(Type.Number()), done: Type.Boolean(),
    meters: Type.Array(Type.Object({ meterId: Type.String(), outcome: Type.String({ description: 'would-act | skipped-protected | unknown-meter | already-done' }) })),
  })),
  restore: Type.Array(Type.Object({ meterId: Type.String(), command: Type.String() })),
});
