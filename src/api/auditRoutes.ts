/**
 * GET /api/v1/audit, and the hook that audits changes made through the API: every
 * request to a route listed in AUDITED_ROUTES writes one entry before it is answered, refused
 * ones included (the outcome says which). A handler may add detail with `noteAudit`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { AuditLog, AuditOutcome } from '../control/audit.js';
import { ValidationError } from '../domain/errors.js';
import { actorOf } from './actor.js';
import { problemResponses } from './problem.js';

/** Route (method and URL pattern under the API root) → audited action and target kind. */
export const AUDITED_ROUTES: Readonly<Record<string, { readonly action: string; readonly target: string }>> = {
  'POST /api/v1/areas': { action: 'area.create', target: 'area' },
  'PUT /api/v1/areas/:id': { action: 'area.update', target: 'area' },
  'DELETE /api/v1/areas/:id': { action: 'area.delete', target: 'area' },
  'POST /api/v1/terminals': { action: 'terminal.create', target: 'terminal' },
  'PUT /api/v1/terminals/:id': { action: 'terminal.update', target: 'terminal' },
  'DELETE /api/v1/terminals/:id': { action: 'terminal.delete', target: 'terminal' },
  'POST /api/v1/meters': { action: 'meter.create', target: 'meter' },
  'PUT /api/v1/meters/:id': { action: 'meter.update', target: 'meter' },
  'DELETE /api/v1/meters/:id': { action: 'meter.delete', target: 'meter' },
  'POST /api/v1/registry/import/:kind': { action: 'registry.import', target: 'registry' },
  'PUT /api/v1/meters/:id/keys': { action: 'keys.set', target: 'meter' },
  'DELETE /api/v1/meters/:id/keys': { action: 'keys.delete', target: 'meter' },
  'PUT /api/v1/key-groups/:name/keys': { action: 'keys.set', target: 'key-group' },
  'DELETE /api/v1/key-groups/:name/keys': { action: 'keys.delete', target: 'key-group' },
  // Every command request, refused ones included; the service adds command.create/confirm/override and per-meter outcomes.
  'POST /api/v1/commands': { action: 'command.request', target: 'command' },
  'POST /api/v1/commands/:id/cancel': { action: 'command.cancel.request', target: 'command' },
  'POST /api/v1/meters/:id/read': { action: 'meter.read', target: 'meter' },
  'POST /api/v1/load-control/programs/:id/purchases': { action: 'load-control.purchase', target: 'load-control-program' },
  'POST /api/v1/users': { action: 'user.create', target: 'user' },
  'PUT /api/v1/users/:name': { action: 'user.update', target: 'user' },
  'DELETE /api/v1/users/:name': { action: 'user.delete', target: 'user' },
  'POST /api/v1/tokens': { action: 'token.create', target: 'token' },
  'DELETE /api/v1/tokens/:id': { action: 'token.revoke', target: 'token' },
  'POST /api/v1/auth/logout': { action: 'auth.logout', target: 'session' },
};

const notes = new WeakMap<FastifyRequest, Record<string, unknown>>();
const targets = new WeakMap<FastifyRequest, string>();

/** Names the target of this request's audit entry when the URL does not (e.g. the id of what a POST created). */
export function setAuditTarget(req: FastifyRequest, target: string): void {
  targets.set(req, target);
}

/** Adds detail (never a secret) to the audit entry of this request. */
export function noteAudit(req: FastifyRequest, detail: Record<string, unknown>): void {
  notes.set(req, { ...notes.get(req), ...detail });
}

export interface AuditHookOptions {
  readonly audit: AuditLog;
  /** An entry could not be written: the caller counts and logs it. */
  readonly onError: (err: unknown) => void;
}

export function installAuditHook(app: FastifyInstance, { audit, onError }: AuditHookOptions): void {
  // onSend, not onResponse: the answer leaves only once its entry is stored (or its failure reported).
  app.addHook('onSend', async (req, reply, payload) => {
    const route = AUDITED_ROUTES[`${req.method} ${req.routeOptions.url ?? ''}`];
    if (route === undefined) return payload;
    const params = req.params as Record<string, unknown> | undefined;
    const body = req.body as Record<string, unknown> | undefined;
    const id = params?.id ?? params?.name ?? body?.id;
    const status = reply.statusCode;
    const outcome: AuditOutcome = status < 400 ? 'ok' : status === 401 || status === 403 ? 'refused' : 'failed';
    try {
      await audit.append({
        actor: actorOf(req), source: req.ip, action: route.action,
        target: targets.get(req) ?? (typeof id === 'string' ? `${route.target}:${id}` : null),
        outcome, detail: { status, ...notes.get(req) },
      });
    } catch (err) {
      onError(err);
    }
    return payload;
  });
}

const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

const AuditEntryOut = Type.Object({
  id: Type.Integer(), ts: Type.String(), actor: Type.String(), source: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(), target: Type.Union([Type.String(), Type.Null()]), outcome: Type.String(),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

export const auditRoutes: FastifyPluginAsyncTypebox<{ readonly audit: AuditLog }> = async (app, { audit }) => {
  app.get('/audit', {
    config: { access: 'admin' },
    schema: {
      tags: ['audit'],
      description: 'The audit log, newest first: who did what, when, from where, and how it ended. Page with `cursor` = the previous page\'s `next`.',
      querystring: Type.Object({
        actor: Type.Optional(Type.String({ maxLength: 128 })),
        action: Type.Optional(Type.String({ maxLength: 64 })),
        target: Type.Optional(Type.String({ maxLength: 200 })),
        from: Type.Optional(Timestamp),
        to: Type.Optional(Timestamp),
        cursor: Type.Optional(Type.Integer({ minimum: 1 })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(AuditEntryOut), next: Type.Union([Type.Integer(), Type.Null()]) }), ...problemResponses },
    },
  }, async (req) => {
    const q = req.query;
    const range = timeRange(q.from, q.to);
    const page = await audit.query({
      ...range,
      ...(q.actor === undefined ? {} : { actor: q.actor }),
      ...(q.action === undefined ? {} : { action: q.action }),
      ...(q.target === undefined ? {} : { target: q.target }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      limit: q.limit,
    });
    return { items: page.items.map((e) => ({ ...e, ts: new Date(e.ts).toISOString() })), next: page.next };
  });
  await Promise.resolve();
};

/** `from`/`to` as ms; a reversed range is the caller's mistake, answered with 400. */
export function timeRange(from: string | undefined, to: string | undefined): { from?: number; to?: number } {
  const f = from === undefined ? undefined : Date.parse(from);
  const t = to === undefined ? undefined : Date.parse(to);
  if (f !== undefined && t !== undefined && f > t) throw new ValidationError('`from` must not be after `to`', 'from');
  return { ...(f === undefined ? {} : { from: f }), ...(t === undefined ? {} : { to: t }) };
}
