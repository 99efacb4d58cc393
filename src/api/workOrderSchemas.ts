/**
 * Schemas of the work-order routes. Times are RFC 3339 strings; a result is the flat object of
 * its type's form (GET /work-orders/types). Like every `*Schemas.ts` module here, no Node
 * code: the dashboard derives its types from it.
 */
import Type, { type Static } from 'typebox';
import { OneOf } from '../../protocols/config.js';
import { ROLES } from '../auth/roles.js';
import { WORK_ORDER_STATES, type WorkOrderState } from '../workOrders/model.js';
import { Nullable } from './schemas.js';

const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });
const Ref = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });
const State = OneOf<WorkOrderState>(WORK_ORDER_STATES);
const Label = Type.Object({ en: Type.String(), zh: Type.String() });
const ResultValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
// A result's values are not typed here: the API coerces types, and a union's string branch
// would turn the read 12.5 into "12.5". The service checks each against its form field's
// kind and names the field of a value of the wrong kind.
const ResultInput = Type.Unsafe<string | number | boolean>({ description: 'text, number or true/false, as the form field\'s kind says' });

/** Filters of the list and of the CSV export. */
export const WorkOrderFilterQuery = {
  area: Type.Optional(Ref('Only orders of this area.')),
  state: Type.Optional(State),
  assignee: Type.Optional(Ref('Only orders assigned to this user.')),
  role: Type.Optional(OneOf(ROLES)),
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  meterId: Type.Optional(Ref('Only orders about this meter.')),
};

export const WorkOrderListQuery = Type.Object({
  ...WorkOrderFilterQuery,
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The `next` value of the previous page.' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Orders per page.' }),
}, { additionalProperties: false });

export const WorkOrderExportQuery = Type.Object(WorkOrderFilterQuery, { additionalProperties: false });

export const WorkOrderBody = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64, description: 'A type of GET /work-orders/types.' }),
  title: Type.String({ minLength: 1, maxLength: 2_000 }),
  meterId: Type.Optional(Nullable(Ref('The meter the job is about.'))),
  customer: Type.Optional(Nullable(Ref('The fee account id, or the customer as free text.'))),
  areaId: Type.Optional(Nullable(Ref('The area (台区) of the job.'))),
  role: Type.Optional(Nullable(OneOf(ROLES))),
  assignee: Type.Optional(Nullable(Ref('A user name: the order starts assigned.'))),
  dueAt: Type.Optional(Nullable(Time)),
}, { additionalProperties: false });

export const AssignBody = Type.Object({ assignee: Ref('The user who takes the order.') }, { additionalProperties: false });
export const ReasonBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 100_000 }) }, { additionalProperties: false });
export const CommentBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 100_000 }) }, { additionalProperties: false });
export const CompleteBody = Type.Object({
  result: Type.Record(Type.String({ maxLength: 64 }), ResultInput, { maxProperties: 50, description: 'The fields of the type\'s form.' }),
  resultText: Type.Optional(Nullable(Type.String({ maxLength: 100_000 }))),
}, { additionalProperties: false });

export const WorkOrderOut = Type.Object({
  id: Type.String(),
  number: Type.String({ description: 'WO-000123' }),
  type: Type.String(),
  title: Type.String(),
  meterId: Nullable(Type.String()),
  customer: Nullable(Type.String()),
  areaId: Nullable(Type.String()),
  role: Nullable(Type.String()),
  assignee: Nullable(Type.String()),
  dueAt: Nullable(Time),
  state: State,
  result: Nullable(Type.Record(Type.String(), ResultValue)),
  resultText: Nullable(Type.String()),
  escalations: Type.Integer(),
  alarmId: Nullable(Type.String()),
  source: Nullable(Type.Object({ instanceId: Type.String(), processKey: Type.String(), elementId: Type.String() })),
  createdAt: Time,
  updatedAt: Time,
  closedAt: Nullable(Time),
  changeSeq: Type.Integer({ description: 'Increases on every change, station-wide.' }),
});

export const WorkOrderDetailOut = Type.Object({
  ...WorkOrderOut.properties,
  comments: Type.Array(Type.Object({ at: Time, by: Type.String(), text: Type.String() })),
  history: Type.Array(Type.Object({ at: Time, by: Type.String(), event: Type.String(), detail: Nullable(Type.String()) })),
});

export const WorkOrderPageOut = Type.Object({ items: Type.Array(WorkOrderOut), next: Nullable(Type.String()) });

export const WorkOrderTypesOut = Type.Object({
  types: Type.Array(Type.Object({
    type: Type.String(),
    label: Label,
    fields: Type.Array(Type.Object({
      name: Type.String(),
      kind: OneOf(['choice', 'text', 'number', 'boolean', 'meter'] as const),
      required: Type.Boolean(),
      choices: Type.Optional(Type.Array(Type.String())),
      choiceLabels: Type.Optional(Type.Record(Type.String(), Label)),
      format: Type.Optional(Type.Literal('date-time')),
      unit: Type.Optional(Type.String()),
      label: Label,
    })),
  })),
});

export type WorkOrderView = Static<typeof WorkOrderOut>;
export type WorkOrderDetailView = Static<typeof WorkOrderDetailOut>;
