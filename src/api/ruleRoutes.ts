/**
 * Rules: list, read, create, replace, delete, enable and disable. Every change is validated
 * by the rule service (detector parameters against the detector's schema, subject ids against
 * the registry) and applied to the running engine at once.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { OneOf } from '../config/schema.js';
import { DETECTOR_NAMES, type DetectorName } from '../rules/catalogue.js';
import { RuleValidationError, type Rule } from '../rules/model.js';
import type { RuleService } from '../rules/service.js';
import { problemResponses, sendProblem } from './problem.js';
import { IdParam, PageQuery, page } from './schemas.js';

export interface RuleRoutesOptions {
  readonly rules: RuleService;
}

export const RuleOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    enabled: Type.Boolean(),
    severity: Type.String(),
    subject: Type.Unknown({ description: '{ meter } | { meters: [...] } | { area, includeDescendants } | { all: true }' }),
    detector: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'Rule' },
);

/** The body is checked by the rule service, so that a YAML rule and an API rule fail alike. */
const RuleBody = Type.Object({}, {
  additionalProperties: true,
  description: 'A rule: { id, name, description?, enabled?, severity?, subject, detector, params }; params follow the detector\'s schema.',
});

export const ruleRoutes: FastifyPluginAsyncTypebox<RuleRoutesOptions> = async (app, { rules }) => {
  const one = { 200: Type.Ref('Rule'), ...problemResponses };
  app.get('/rules', {
    config: { access: 'viewer' },
    schema: { summary: 'Lists the rules the engine runs, filterable by detector and enabled.',
      tags: ['rules'],
      querystring: Type.Object({
        ...PageQuery,
        detector: Type.Optional(OneOf<DetectorName>(DETECTOR_NAMES)),
        enabled: Type.Optional(Type.Boolean()),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('Rule')), next: Type.Union([Type.String(), Type.Null()]) }), ...problemResponses },
    },
  }, (req) => {
    const { detector, enabled } = req.query;
    const list = rules.list({ ...(detector === undefined ? {} : { detector }), ...(enabled === undefined ? {} : { enabled }) });
    return page(list, req.query.limit, req.query.cursor);
  });

  app.get('/rules/:id', { config: { access: 'viewer' }, schema: { summary: 'One rule.', tags: ['rules'], params: IdParam, response: one } }, (req) => rules.get(req.params.id));

  app.post('/rules', { config: { access: 'admin' }, schema: { summary: 'Creates a rule; validated against its detector\'s parameters and applied at once.', tags: ['rules'], body: RuleBody, response: { 201: Type.Ref('Rule'), ...problemResponses } } },
    async (req, reply) => validated(reply, () => rules.create(req.body), 201));

  app.put('/rules/:id', { config: { access: 'admin' }, schema: { summary: 'Replaces a rule; its open alarms clear and it is applied at once.', tags: ['rules'], params: IdParam, body: RuleBody, response: one } }, async (req, reply) => {
    const body = req.body as Record<string, unknown>;
    if (body.id !== undefined && body.id !== req.params.id) {
      return sendProblem(reply, 400, 'VALIDATION', 'body.id must match the rule id in the URL, or be left out', [{ path: 'body.id', message: 'must match the URL' }]);
    }
    return validated(reply, () => rules.update(req.params.id, body), 200);
  });

  app.delete('/rules/:id', { config: { access: 'admin' }, schema: { summary: 'Deletes a rule; its open alarms clear.', tags: ['rules'], params: IdParam, response: { 204: Type.Null(), ...problemResponses } } }, async (req, reply) => {
    await rules.delete(req.params.id);
    return reply.code(204).send(null);
  });

  app.post('/rules/:id/enable', { config: { access: 'admin' }, schema: { summary: 'Enables a rule.', tags: ['rules'], params: IdParam, response: one } }, async (req) => rules.setEnabled(req.params.id, true));
  app.post('/rules/:id/disable', { config: { access: 'admin' }, schema: { summary: 'Disables a rule; its open alarms clear.', tags: ['rules'], params: IdParam, response: one } }, async (req) => rules.setEnabled(req.params.id, false));
  await Promise.resolve();
};

async function validated(reply: FastifyReply, change: () => Promise<Rule>, status: number): Promise<FastifyReply> {
  let rule: Rule;
  try {
    rule = await change();
  } catch (err) {
    if (!(err instanceof RuleValidationError)) throw err;
    const errors = err.issues.map((i) => ({ path: i.path === '' ? 'body' : `body.${i.path}`, message: i.message }));
    return sendProblem(reply, 400, 'VALIDATION', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
  }
  return reply.code(status).send(rule);
}
