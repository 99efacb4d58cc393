/**
 * Workflow instances: started by operators (from the API, or the dashboard with
 * `X-Gridhead-Source: dashboard`), listed and read with their history and their version's
 * XML by viewers (the dashboard's instance view), cancelled and sent messages by operators.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { OneOf } from '../../protocols/config.js';
import { ConflictError } from '../domain/errors.js';
import type { InstanceHistoryEntry, WaitingStep, WorkflowInstance } from '../workflows/model.js';
import type { InstanceDetail, WorkflowRuntime } from '../workflows/runtime/runtime.js';
import { MAX_INSTANCE_PAGE } from '../workflows/runtime/store.js';
import { actorOf } from './actor.js';
import { problemResponses } from './problem.js';

export interface WorkflowInstanceRoutesOptions {
  readonly runtime: Pick<WorkflowRuntime, 'start' | 'list' | 'get' | 'cancel' | 'message'>;
}

const tags = ['workflows'];
const errors = { ...problemResponses, 403: Type.Ref('Problem'), 404: Type.Ref('Problem'), 409: Type.Ref('Problem'), 429: Type.Ref('Problem') };
const Time = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });
const Variables = Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Unknown(), { description: 'Process variables by name' });
const STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;

const WaitingOut = Type.Object({
  elementId: Type.String(), elementType: Type.String(), since: Time,
  detail: Type.Union([Type.String(), Type.Null()], { description: 'A timer\'s due time, the awaited message\'s name, or the work order\'s number' }),
});
const InstanceOut = Type.Object({
  id: Type.String(), processKey: Type.String(), version: Type.Integer(), status: OneOf(STATUSES),
  trigger: Type.Object({ kind: Type.String(), ref: Type.Union([Type.String(), Type.Null()]) }),
  businessKey: Type.Union([Type.String(), Type.Null()]), variables: Variables, waiting: Type.Array(WaitingOut),
  startedAt: Time, updatedAt: Time, endedAt: Type.Union([Time, Type.Null()]), error: Type.Union([Type.String(), Type.Null()]),
});
const HistoryOut = Type.Object({
  seq: Type.Integer(), at: Time, elementId: Type.String(), elementType: Type.String(), event: Type.String(), detail: Type.Union([Type.String(), Type.Null()]),
});
const InstanceDetailOut = Type.Intersect([InstanceOut, Type.Object({ history: Type.Array(HistoryOut), xml: Type.String({ description: 'The BPMN XML of the instance\'s version' }) })]);
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const StartBody = Type.Object({
  processKey: Type.String({ minLength: 1, maxLength: 128 }),
  variables: Type.Optional(Variables),
  businessKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
}, { additionalProperties: false });
const ListQuery = Type.Object({
  process: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  status: Type.Optional(OneOf(STATUSES)),
  businessKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The `next` of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: MAX_INSTANCE_PAGE, default: 50 }),
}, { additionalProperties: false });
const CancelBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
const MessageBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, description: 'The BPMN message\'s name (or id): alarm-cleared, payment, or one of the process\'s own' }),
  variables: Type.Optional(Variables),
}, { additionalProperties: false });

export const workflowInstanceRoutes: FastifyPluginAsyncTypebox<WorkflowInstanceRoutesOptions> = async (app, { runtime }) => {
  app.post('/workflows/instances', {
    config: { access: 'operator' },
    schema: { tags, body: StartBody, description: 'Starts an instance of the process\'s latest version.', response: { 201: InstanceOut, ...errors } },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const kind = req.headers['x-gridhead-source'] === 'dashboard' ? 'dashboard' : 'api';
    const started = await runtime.start(req.body.processKey, req.body.variables ?? {}, { kind, ref: actor }, req.body.businessKey ?? null);
    if (started === undefined) throw new ConflictError(`an instance of ${req.body.processKey} was already started for this trigger`);
    return reply.code(201).header('location', `/api/v1/workflows/instances/${started.id}`).send(instanceView(started));
  });

  app.get('/workflows/instances', {
    config: { access: 'viewer' },
    schema: { tags, querystring: ListQuery, description: 'Instances, newest first, filtered by process, status and business key; keyset pages.', response: { 200: Type.Object({ items: Type.Array(InstanceOut), next: Type.Union([Type.String(), Type.Null()]) }), ...errors } },
  }, async (req) => {
    const q = req.query;
    const page = await runtime.list({
      limit: q.limit, ...(q.process === undefined ? {} : { processKey: q.process }), ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.businessKey === undefined ? {} : { businessKey: q.businessKey }), ...(q.after === undefined ? {} : { after: q.after }),
    });
    return { items: page.items.map(instanceView), next: page.next };
  });

  app.get('/workflows/instances/:id', {
    config: { access: 'viewer' },
    schema: { tags, params: IdParam, description: 'One instance with its history and its version\'s XML (the instance view).', response: { 200: InstanceDetailOut, ...errors } },
  }, async (req) => detailView(await runtime.get(req.params.id)));

  app.post('/workflows/instances/:id/cancel', {
    config: { access: 'operator' },
    schema: { tags, params: IdParam, body: CancelBody, description: 'Stops a running instance for good and cancels the work orders it waits on.', response: { 200: InstanceOut, ...errors } },
  }, async (req) => instanceView(await runtime.cancel(req.params.id, req.body.reason, actorOf(req))));

  app.post('/workflows/instances/:id/messages', {
    config: { access: 'operator' },
    schema: {
      tags, params: IdParam, body: MessageBody,
      description: 'Delivers a message to the events of the instance waiting for it, its variables merged first; `delivered` is false when none waits.',
      response: { 200: Type.Object({ delivered: Type.Boolean() }), ...errors },
    },
  }, (req) => Promise.resolve({ delivered: runtime.message(req.params.id, req.body.name, req.body.variables ?? {}) }));
  await Promise.resolve();
};

function instanceView(i: WorkflowInstance) {
  return {
    id: i.id, processKey: i.processKey, version: i.version, status: i.status, trigger: i.trigger, businessKey: i.businessKey,
    variables: i.variables, waiting: i.waiting.map(waitingView), startedAt: iso(i.startedAt), updatedAt: iso(i.updatedAt),
    endedAt: i.endedAt === null ? null : iso(i.endedAt), error: i.error,
  };
}

function detailView(d: InstanceDetail) {
  return { ...instanceView(d), history: d.history.map(historyView), xml: d.xml };
}

function waitingView(w: WaitingStep) {
  return { ...w, since: iso(w.since) };
}

function historyView(h: InstanceHistoryEntry) {
  return { ...h, at: iso(h.at) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
