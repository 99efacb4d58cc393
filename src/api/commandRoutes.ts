/**
 * Commands: POST /commands (Idempotency-Key header required; bulk commands answer 202 with a
 * preview and a confirmation token first), GET /commands/:id, GET /commands, POST
 * /commands/:id/cancel. The service (src/control/commands.ts) owns lifecycle and guard rails.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { OneOf } from '../config/schema.js';
import { COMMAND_TYPES, commandStatus, type Command } from '../control/commandModel.js';
import type { CommandService } from '../control/commands.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { actorOf } from './actor.js';
import { isAdmin as noAdmin, type AdminCheck } from './admin.js';
import { noteAudit } from './auditRoutes.js';
import { CommandBody, CommandOut, MeterIdString, PreviewOut, type CommandView } from './commandSchemas.js';
import { problemResponses } from './problem.js';
import { IdParam, IdempotencyHeader, Nullable } from './schemas.js';

export interface CommandRoutesOptions {
  readonly commands: Pick<CommandService, 'submit' | 'get' | 'list' | 'cancel'>;
  /** Who may override a protected meter; src/api/admin.ts by default. */
  readonly isAdmin?: AdminCheck;
}

export const commandRoutes: FastifyPluginAsyncTypebox<CommandRoutesOptions> = async (app, { commands, isAdmin = noAdmin }) => {
  const tags = ['commands'];
  const errors = { ...problemResponses, 403: Type.Ref('Problem'), 503: Type.Ref('Problem') };

  app.post('/commands', {
    config: { access: 'operator' },
    schema: {
      tags, headers: IdempotencyHeader, body: CommandBody,
      description: 'Creates a command (201), returns the one this Idempotency-Key already created (200), or, for more meters than `control.confirmAbove`, a preview with a confirmation token to present in the same request again (202).',
      response: { 200: CommandOut, 201: CommandOut, 202: PreviewOut, ...errors },
    },
  }, async (req, reply) => {
    const b = req.body;
    if ((b.meterIds === undefined) === (b.areaId === undefined)) throw new ValidationError('give exactly one of `meterIds` and `areaId`', 'body');
    const time = b.params?.time === undefined ? undefined : Date.parse(b.params.time);
    const outcome = await commands.submit({
      type: b.type,
      ...(b.meterIds === undefined ? {} : { meterIds: b.meterIds }),
      ...(b.areaId === undefined ? {} : { areaId: b.areaId }),
      params: { ...(b.params?.limitKw === undefined ? {} : { limitKw: b.params.limitKw }), ...(time === undefined ? {} : { time }) },
      ...(b.reason === undefined ? {} : { reason: b.reason }),
      ...(b.override === undefined ? {} : { override: b.override }),
      ...(b.confirmationToken === undefined ? {} : { confirmationToken: b.confirmationToken }),
    }, req.headers['idempotency-key'], { actor: actorOf(req), source: req.ip, isAdmin: isAdmin(req) });
    if (outcome.kind === 'preview') {
      const p = outcome.preview;
      noteAudit(req, { preview: true, meters: p.meters.length });
      return reply.code(202).send({ confirmationRequired: true, ...p, expiresAt: new Date(p.expiresAt).toISOString(), meters: [...p.meters], skippedProtected: [...p.skippedProtected] });
    }
    noteAudit(req, { commandId: outcome.command.id, replay: outcome.kind === 'existing' });
    return reply.code(outcome.kind === 'created' ? 201 : 200).header('location', `/api/v1/commands/${outcome.command.id}`).send(toView(outcome.command));
  });

  app.get('/commands/:id', { config: { access: 'viewer' }, schema: { summary: 'One command with its per-meter outcomes and every transition.', tags, params: IdParam, response: { 200: CommandOut, ...errors } } }, async (req) => {
    const c = await commands.get(req.params.id);
    if (c === undefined) throw new NotFoundError('command', req.params.id);
    return toView(c);
  });

  app.get('/commands', {
    config: { access: 'viewer' },
    schema: {
      tags,
      description: 'Commands, newest first. Page with `before` = the previous page\'s `next`.',
      querystring: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
        type: Type.Optional(OneOf(COMMAND_TYPES)),
        meterId: Type.Optional(MeterIdString),
        actor: Type.Optional(Type.String({ maxLength: 128 })),
        before: Type.Optional(Type.String({ maxLength: 64 })),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(CommandOut), next: Nullable(Type.String()) }), ...errors },
    },
  }, async (req) => {
    const q = req.query;
    const page = await commands.list({
      limit: q.limit,
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.type === undefined ? {} : { type: q.type }),
      ...(q.meterId === undefined ? {} : { meterId: q.meterId }),
      ...(q.actor === undefined ? {} : { actor: q.actor }),
      ...(q.before === undefined ? {} : { before: q.before }),
    });
    return { items: page.items.map(toView), next: page.next };
  });

  app.post('/commands/:id/cancel', {
    config: { access: 'operator' },
    schema: { tags, params: IdParam, description: 'Cancels the meters of the command not sent yet; those in flight finish.', response: { 200: Type.Object({ cancelled: Type.Integer(), command: CommandOut }), ...errors } },
  }, async (req) => {
    const { command, cancelled } = await commands.cancel(req.params.id, { actor: actorOf(req), source: req.ip, isAdmin: isAdmin(req) });
    noteAudit(req, { cancelled });
    return { cancelled, command: toView(command) };
  });
  await Promise.resolve();
};

export function toView(c: Command): CommandView {
  const counts: Record<string, number> = {};
  for (const t of c.targets) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return {
    id: c.id, type: c.type, status: commandStatus(c.targets),
    params: { ...(c.params.limitKw === undefined ? {} : { limitKw: c.params.limitKw }), ...(c.params.time === undefined ? {} : { time: new Date(c.params.time).toISOString() }) },
    scope: 'areaId' in c.scope ? { areaId: c.scope.areaId } : { meterIds: [...c.scope.meterIds] },
    reason: c.reason, overrideReason: c.overrideReason,
    origin: c.origin.kind === 'operator' ? { kind: 'operator', actor: c.origin.actor } : { kind: 'program', id: c.origin.id, round: c.origin.round },
    createdAt: new Date(c.createdAt).toISOString(),
    counts,
    targets: c.targets.map((t) => ({
      meterId: t.meterId, terminalId: t.terminalId, status: t.status,
      transitions: t.transitions.map((x) => ({ status: x.status, at: new Date(x.at).toISOString() })),
      state: t.state, error: t.error,
    })),
  };
}
