/**
 * Load-control programs: their state, the actions they took with results, enable/disable,
 * a preview of what a program would do now (nothing is sent by a preview), and the top-ups of
 * a purchase-energy program (Idempotency-Key required, audited; a retry loads nothing).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../domain/errors.js';
import { kwhOf } from '../rules/loadControl/purchases.js';
import { actorOf } from './actor.js';
import { noteAudit } from './auditRoutes.js';
import type { LoadControlEvaluator } from '../rules/loadControl/evaluator.js';
import { problemResponses } from './problem.js';
import { PreviewOut, ProgramDetailOut, ProgramListOut, PurchaseBody, PurchaseResult } from './loadControlSchemas.js';
import { IdempotencyHeader, IdParam } from './schemas.js';

export type LoadControlService = Pick<LoadControlEvaluator, 'list' | 'get' | 'enable' | 'disable' | 'preview' | 'purchase'>;

export interface LoadControlRoutesOptions {
  readonly programs: LoadControlService;
}

export const loadControlRoutes: FastifyPluginAsyncTypebox<LoadControlRoutesOptions> = async (app, { programs }) => {
  const found = <T>(id: string, v: T | undefined): T => {
    if (v === undefined) throw new NotFoundError('load-control program', id);
    return v;
  };
  const tags = ['load control'];
  app.get('/load-control/programs', { config: { access: 'viewer' }, schema: { summary: 'Lists the load-control programs with their state, load and limit.', tags, response: { 200: ProgramListOut } } }, () => ({ items: programs.list() }));
  app.get('/load-control/programs/:id', { config: { access: 'viewer' }, schema: { summary: 'One program: state, round, load, limit, actions in force and the action log.', tags, params: IdParam, response: { 200: ProgramDetailOut, ...problemResponses } } },
    async (req) => found(req.params.id, await programs.get(req.params.id)));
  app.post('/load-control/programs/:id/enable', { config: { access: 'operator' }, schema: { summary: 'Arms a program.', tags, params: IdParam, response: { 200: ProgramDetailOut, ...problemResponses } } },
    async (req) => found(req.params.id, await programs.enable(req.params.id)));
  app.post('/load-control/programs/:id/disable', {
    config: { access: 'operator' },
    schema: { tags, params: IdParam, description: 'Restores what the program tripped (reverse order), clears its alarm and disables it.', response: { 200: ProgramDetailOut, ...problemResponses } },
  }, async (req) => found(req.params.id, await programs.disable(req.params.id)));
  app.post('/load-control/programs/:id/preview', {
    config: { access: 'viewer' },
    schema: { tags, params: IdParam, description: 'What the program would do now: rounds, meters, actions, protected meters skipped. Sends nothing.', response: { 200: PreviewOut, ...problemResponses } },
  }, (req) => found(req.params.id, programs.preview(req.params.id)));
  app.post('/load-control/programs/:id/purchases', {
    config: { access: 'billing-or-operator' },
    schema: {
      tags, params: IdParam, headers: IdempotencyHeader, body: PurchaseBody,
      description: 'Loads purchased kWh into a purchase-energy program (201), or answers with the purchase this Idempotency-Key or purchase id loaded before (200, nothing added). A program whose energy was used up is restored at its next tick once some remains.',
      response: { 200: PurchaseResult, 201: PurchaseResult, ...problemResponses },
    },
  }, async (req, reply) => {
    const { purchaseId, kwh } = req.body;
    noteAudit(req, { purchaseId, kwh });
    const outcome = found(req.params.id, await programs.purchase(req.params.id, { purchaseId, kwh }, req.headers['idempotency-key'], actorOf(req)));
    noteAudit(req, { replay: outcome.kind === 'existing' });
    const { purchase } = outcome;
    void reply.code(outcome.kind === 'created' ? 201 : 200);
    return {
      created: outcome.kind === 'created', program: outcome.program,
      purchase: { purchaseId: purchase.purchaseId, kwh: kwhOf(purchase.wh), actor: purchase.actor, at: purchase.at },
    };
  });
  await Promise.resolve();
};
