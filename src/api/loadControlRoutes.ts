/**
 * Load-control programs: their state, the actions they took with results, enable/disable,
 * and a preview of what a program would do now (nothing is sent by a preview).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../domain/errors.js';
import type { LoadControlEvaluator } from '../rules/loadControl/evaluator.js';
import { problemResponses } from './problem.js';
import { PreviewOut, ProgramDetailOut, ProgramListOut } from './loadControlSchemas.js';
import { IdParam } from './schemas.js';

export type LoadControlService = Pick<LoadControlEvaluator, 'list' | 'get' | 'enable' | 'disable' | 'preview'>;

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
  await Promise.resolve();
};
