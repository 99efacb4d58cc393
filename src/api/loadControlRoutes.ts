/**
 * Load-control programs: their state, the actions they took with results, enable/disable,
 * and a preview of what a program would do now (nothing is sent by a preview).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { NotFoundError } from '../domain/errors.js';
import type { LoadControlEvaluator } from '../rules/loadControl/evaluator.js';
import { problemResponses } from './problem.js';
import { IdParam } from './schemas.js';

export type LoadControlService = Pick<LoadControlEvaluator, 'list' | 'get' | 'enable' | 'disable' | 'preview'>;

export interface LoadControlRoutesOptions {
  readonly programs: LoadControlService;
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const ControlError = Type.Object({ code: Type.String(), message: Type.String() });

const ProgramView = Type.Object({
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
  basisData: Type.Unknown({ description: 'The basis as explanation data (template and arguments), for the reader\'s language.' }),
  overSince: Nullable(Type.Number()),
  nextRound: Nullable(Type.Object({ round: Type.Integer(), dueAt: Nullable(Type.Number()) })),
});

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

const ProgramDetail = Type.Intersect([ProgramView, Type.Object({ tripped: Type.Array(Tripped), actions: Type.Array(Action) })]);

const Preview = Type.Object({
  programId: Type.String(), at: Type.Number(), dryRun: Type.Boolean(), phase: Type.String(),
  value: Nullable(Type.Number()), limit: Nullable(Type.Number()), unit: Type.String(), basis: Type.String(), basisData: Type.Unknown(), over: Type.Boolean(),
  rounds: Type.Array(Type.Object({
    round: Type.Integer(), afterMs: Type.Integer(), action: Type.String(), limitKw: Type.Optional(Type.Number()),
    dueAt: Nullable(Type.Number()), done: Type.Boolean(),
    meters: Type.Array(Type.Object({ meterId: Type.String(), outcome: Type.String({ description: 'would-act | skipped-protected | unknown-meter | already-done' }) })),
  })),
  restore: Type.Array(Type.Object({ meterId: Type.String(), command: Type.String() })),
});

export const loadControlRoutes: FastifyPluginAsyncTypebox<LoadControlRoutesOptions> = async (app, { programs }) => {
  const found = <T>(id: string, v: T | undefined): T => {
    if (v === undefined) throw new NotFoundError('load-control program', id);
    return v;
  };
  const tags = ['load control'];
  app.get('/load-control/programs', { config: { access: 'viewer' }, schema: { summary: 'Lists the load-control programs with their state, load and limit.', tags, response: { 200: Type.Object({ items: Type.Array(ProgramView) }) } } }, () => ({ items: programs.list() }));
  app.get('/load-control/programs/:id', { config: { access: 'viewer' }, schema: { summary: 'One program: state, round, load, limit, actions in force and the action log.', tags, params: IdParam, response: { 200: ProgramDetail, ...problemResponses } } },
    (req) => found(req.params.id, programs.get(req.params.id)));
  app.post('/load-control/programs/:id/enable', { config: { access: 'operator' }, schema: { summary: 'Arms a program.', tags, params: IdParam, response: { 200: ProgramDetail, ...problemResponses } } },
    async (req) => found(req.params.id, await programs.enable(req.params.id)));
  app.post('/load-control/programs/:id/disable', {
    config: { access: 'operator' },
    schema: { tags, params: IdParam, description: 'Restores what the program tripped (reverse order), clears its alarm and disables it.', response: { 200: ProgramDetail, ...problemResponses } },
  }, async (req) => found(req.params.id, await programs.disable(req.params.id)));
  app.post('/load-control/programs/:id/preview', {
    config: { access: 'viewer' },
    schema: { tags, params: IdParam, description: 'What the program would do now: rounds, meters, actions, protected meters skipped. Sends nothing.', response: { 200: Preview, ...problemResponses } },
  }, (req) => found(req.params.id, programs.preview(req.params.id)));
  await Promise.resolve();
};
