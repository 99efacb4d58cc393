/**
 * Work orders (工单) under /work-orders: the list (keyset pages, newest first) and its CSV
 * export with the same filters, the types and their result forms, one order with its comments
 * and history, and the changes people make: create, assign, start, complete, cancel, comment.
 *
 * Access `work-orders` (viewer, operator, admin, field); creating, assigning and cancelling
 * declare `operator`. The service (src/workOrders/service.ts) decides per order: a `field`
 * principal sees and works only the orders assigned to it, and any other is a 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { UnauthenticatedError } from '../auth/errors.js';
import { csvLine } from '../billing/csv.js';
import { ValidationError } from '../domain/errors.js';
import type { WorkOrder, WorkOrderDetail } from '../workOrders/model.js';
import type { Caller, WorkOrderService } from '../workOrders/service.js';
import type { WorkOrderCursor, WorkOrderFilter } from '../workOrders/store.js';
import { sendCsv } from './csvReply.js';
import { problemResponses } from './problem.js';
import { IdParam } from './schemas.js';
import {
  AssignBody, CommentBody, CompleteBody, ReasonBody, WorkOrderBody, WorkOrderDetailOut, WorkOrderExportQuery, WorkOrderListQuery, WorkOrderOut,
  WorkOrderPageOut, WorkOrderTypesOut, type WorkOrderDetailView, type WorkOrderView,
} from './workOrderSchemas.js';

export interface WorkOrderRoutesOptions {
  readonly workOrders: WorkOrderService;
}

const tags = ['work orders'];
const errors = { ...problemResponses, 403: Type.Ref('Problem') };
const FIELD_NOTE = ' A `field` user gets only the orders assigned to it; any other order is answered 404.';

export const workOrderRoutes: FastifyPluginAsyncTypebox<WorkOrderRoutesOptions> = async (app, { workOrders }) => {
  app.get('/work-orders', {
    config: { access: 'work-orders' },
    schema: {
      tags, description: `Work orders, newest first, filtered. Page with \`after\` = the previous page's \`next\`.${FIELD_NOTE}`,
      querystring: WorkOrderListQuery, response: { 200: WorkOrderPageOut, ...errors },
    },
  }, async (req) => {
    const { after, limit, ...filters } = req.query;
    const page = await workOrders.list(callerOf(req), { ...filterOf(filters), limit, ...(after === undefined ? {} : { after: cursorOf(after) }) });
    return { items: page.items.map(orderView), next: page.next === null ? null : cursorText(page.next) };
  });

  app.get('/work-orders/export.csv', {
    config: { access: 'work-orders' },
    schema: {
      tags, description: `Every work order the filters match, newest first, as CSV (RFC 4180, header row, CRLF), streamed.${FIELD_NOTE}`,
      querystring: WorkOrderExportQuery, produces: ['text/csv'],
    },
  }, async (req, reply) => {
    const header = csvLine(['number', 'type', 'state', 'title', 'meter_id', 'customer', 'area_id', 'role', 'assignee', 'due_at', 'escalations',
      'result', 'result_text', 'alarm_id', 'process_key', 'instance_id', 'created_at', 'updated_at', 'closed_at', 'id']);
    const line = (o: WorkOrder) => csvLine([o.number, o.type, o.state, o.title, o.meterId, o.customer, o.areaId, o.role, o.assignee, isoOrNull(o.dueAt), o.escalations,
      o.result === null ? null : JSON.stringify(o.result), o.resultText, o.alarmId, o.source?.processKey ?? null, o.source?.instanceId ?? null,
      iso(o.createdAt), iso(o.updatedAt), isoOrNull(o.closedAt), o.id]);
    return sendCsv(req, reply, header, workOrders.export(callerOf(req), filterOf(req.query)), line);
  });

  app.get('/work-orders/types', {
    config: { access: 'work-orders' },
    schema: { tags, description: 'The work order types and the fields of their result forms, with English and Chinese labels.', response: { 200: WorkOrderTypesOut, ...errors } },
  }, () => Promise.resolve({ types: workOrders.types().map((t) => ({ ...t, fields: t.fields.map((f) => ({ ...f })) })) }));

  app.get('/work-orders/:id', {
    config: { access: 'work-orders' },
    schema: { tags, description: `One work order with its comments and history, oldest first.${FIELD_NOTE}`, params: IdParam, response: { 200: WorkOrderDetailOut, ...errors } },
  }, async (req) => detailView(await workOrders.detail(callerOf(req), req.params.id)));

  app.post('/work-orders', {
    config: { access: 'operator' },
    schema: {
      tags, description: 'Creates a work order by hand: open, or assigned when `assignee` is given.',
      body: WorkOrderBody, response: { 201: WorkOrderOut, ...errors },
    },
  }, async (req, reply) => {
    const { dueAt, ...b } = req.body;
    const created = await workOrders.create(callerOf(req), { ...b, ...(dueAt === undefined ? {} : { dueAt: dueAt === null ? null : Date.parse(dueAt) }) });
    return reply.code(201).header('location', `/api/v1/work-orders/${created.id}`).send(orderView(created));
  });

  app.post('/work-orders/:id/assign', {
    config: { access: 'operator' },
    schema: { tags, description: 'Gives the order to a user (again): it is `assigned` until that user starts it. 409 once closed.', params: IdParam, body: AssignBody, response: { 200: WorkOrderOut, ...errors } },
  }, async (req) => orderView(await workOrders.assign(callerOf(req), req.params.id, req.body.assignee)));

  app.post('/work-orders/:id/start', {
    config: { access: 'work-orders' },
    schema: { tags, description: `The assignee (or an operator) starts an assigned order: \`in-progress\`. 409 from any other state.${FIELD_NOTE}`, params: IdParam, response: { 200: WorkOrderOut, ...errors } },
  }, async (req) => orderView(await workOrders.start(callerOf(req), req.params.id)));

  app.post('/work-orders/:id/complete', {
    config: { access: 'work-orders' },
    schema: {
      tags, description: `The assignee (or an operator) closes an order in progress with its result, checked against the type's form: 400 names the field (\`result.<name>\`). 409 from any other state.${FIELD_NOTE}`,
      params: IdParam, body: CompleteBody, response: { 200: WorkOrderOut, ...errors },
    },
  }, async (req) => orderView(await workOrders.completeAs(callerOf(req), req.params.id, req.body.result, req.body.resultText ?? null)));

  app.post('/work-orders/:id/cancel', {
    config: { access: 'operator' },
    schema: { tags, description: 'Closes an open order without a result. 409 once closed.', params: IdParam, body: ReasonBody, response: { 200: WorkOrderOut, ...errors } },
  }, async (req) => orderView(await workOrders.cancelAs(callerOf(req), req.params.id, req.body.reason)));

  app.post('/work-orders/:id/comments', {
    config: { access: 'work-orders' },
    schema: { tags, description: `The assignee (or an operator) adds a comment; the order is answered with it.${FIELD_NOTE}`, params: IdParam, body: CommentBody, response: { 201: WorkOrderDetailOut, ...errors } },
  }, async (req, reply) => {
    const caller = callerOf(req);
    await workOrders.comment(caller, req.params.id, req.body.text);
    return reply.code(201).send(detailView(await workOrders.detail(caller, req.params.id)));
  });
  await Promise.resolve();
};

/** The principal the access hook set, with the request's address. */
function callerOf(req: FastifyRequest): Caller {
  if (req.principal === null) throw new UnauthenticatedError('credentials required: a bearer token or a session');
  return { ...req.principal, source: req.ip };
}

function filterOf(q: { area?: string; state?: WorkOrderFilter['state']; assignee?: string; role?: string; type?: string; meterId?: string }): WorkOrderFilter {
  return {
    ...(q.area === undefined ? {} : { areaId: q.area }), ...(q.state === undefined ? {} : { state: q.state }),
    ...(q.assignee === undefined ? {} : { assignee: q.assignee }), ...(q.role === undefined ? {} : { role: q.role }),
    ...(q.type === undefined ? {} : { type: q.type }), ...(q.meterId === undefined ? {} : { meterId: q.meterId }),
  };
}

/** A page's `next`: `<createdAt ms>.<id>`. */
function cursorText(c: WorkOrderCursor): string {
  return `${c.createdAt}.${c.id}`;
}

function cursorOf(text: string): WorkOrderCursor {
  const dot = text.indexOf('.');
  const createdAt = Number(text.slice(0, dot));
  if (dot <= 0 || !Number.isSafeInteger(createdAt) || dot === text.length - 1) throw new ValidationError('after must be the `next` of the previous page', 'after');
  return { createdAt, id: text.slice(dot + 1) };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function orderView(o: WorkOrder): WorkOrderView {
  return {
    id: o.id, number: o.number, type: o.type, title: o.title, meterId: o.meterId, customer: o.customer, areaId: o.areaId, role: o.role, assignee: o.assignee,
    dueAt: isoOrNull(o.dueAt), state: o.state, result: o.result === null ? null : { ...o.result }, resultText: o.resultText, escalations: o.escalations,
    alarmId: o.alarmId, source: o.source === null ? null : { ...o.source }, createdAt: iso(o.createdAt), updatedAt: iso(o.updatedAt), closedAt: isoOrNull(o.closedAt),
    changeSeq: o.changeSeq,
  };
}

function detailView(d: WorkOrderDetail): WorkOrderDetailView {
  return {
    ...orderView(d),
    comments: d.comments.map((c) => ({ at: iso(c.at), by: c.by, text: c.text })),
    history: d.history.map((h) => ({ at: iso(h.at), by: h.by, event: h.event, detail: h.detail })),
  };
}
