/**
 * Process definitions under /api/v1/workflows: list, read, version history, the `.bpmn`
 * download, deploy and check (role admin), and the modeler's catalogue of actions, roles and
 * work order types.
 *
 * A definition is posted as the `.bpmn` file itself (`application/xml` or `text/xml`, parsed
 * as text by this plugin only, within `workflows.definitions.maxBytes`) or as JSON `{ xml }`.
 * A refused one answers 400 problem+json `DEFINITION_INVALID` with its `problems`, each naming
 * the BPMN element at fault. The catalogue's parts come in as functions, so this plugin knows
 * nothing of the modules that own actions and work order types.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { NotFoundError } from '../domain/errors.js';
import type { DefinitionSummary, ProcessDefinition } from '../workflows/model.js';
import { DefinitionInvalidError, type DefinitionService } from '../workflows/definitions/service.js';
import { actorOf } from './actor.js';
import { problemResponses, sendProblem } from './problem.js';
import {
  CatalogueOut, CheckOut, DefinitionBody, DefinitionInvalidOut, DefinitionKeyParam, DefinitionListOut, DefinitionOut, DefinitionVersionsOut,
  DeployedOut, VersionQuery, type WorkflowCatalogue,
} from './workflowDefinitionSchemas.js';

export interface WorkflowDefinitionRoutesOptions {
  readonly definitions: DefinitionService;
  /** `workflows.definitions.maxBytes`: the largest `.bpmn` body taken. */
  readonly maxBytes: number;
  /** The station actions a service task may call, as the modeler shows them. */
  readonly actions: () => WorkflowCatalogue['actions'];
  /** The roles a user task may be for. */
  readonly roles: () => WorkflowCatalogue['roles'];
  /** The work order types a user task may open, with their result forms. */
  readonly workOrderTypes: () => WorkflowCatalogue['workOrderTypes'];
}

const XML_TYPES = ['application/xml', 'text/xml'];

export const workflowDefinitionRoutes: FastifyPluginAsyncTypebox<WorkflowDefinitionRoutesOptions> = async (app, o) => {
  const tags = ['workflows'];
  // JSON escapes the XML's quotes: its envelope may take up to twice the XML's bytes. The
  // service bounds the XML itself to maxBytes, whichever way it came.
  const bodyLimit = 2 * o.maxBytes + 1024;
  app.addContentTypeParser(XML_TYPES, { parseAs: 'string', bodyLimit }, (_req, body, done) => { done(null, body); });
  const refused = { 400: DefinitionInvalidOut, 413: Type.Ref('Problem') };
  const bodySchema = { consumes: ['application/xml', 'text/xml', 'application/json'], body: DefinitionBody };

  const found = async (key: string, version: number | undefined): Promise<ProcessDefinition> => {
    const d = version === undefined ? await o.definitions.latest(key) : await o.definitions.get(key, version);
    if (d === undefined) throw new NotFoundError('process definition', version === undefined ? key : `${key} v${version}`);
    return d;
  };

  app.get('/workflows/definitions', {
    config: { access: 'viewer' },
    schema: { summary: 'The latest version of every deployed process, with its count of versions.', tags, response: { 200: DefinitionListOut } },
  }, async () => ({ items: (await o.definitions.list()).map((d) => ({ ...summaryOut(d), versions: d.versions })) }));

  app.get('/workflows/definitions/:key', {
    config: { access: 'viewer' },
    schema: {
      summary: 'A process definition with its XML: the latest version, or the one asked for.', tags,
      params: DefinitionKeyParam, querystring: VersionQuery, response: { 200: DefinitionOut, ...problemResponses },
    },
  }, async (req) => {
    const d = await found(req.params.key, req.query.version);
    return { ...summaryOut(d), xml: d.xml };
  });

  app.get('/workflows/definitions/:key/versions', {
    config: { access: 'viewer' },
    schema: { summary: 'Every version of a process, newest first.', tags, params: DefinitionKeyParam, response: { 200: DefinitionVersionsOut, ...problemResponses } },
  }, async (req) => {
    const versions = await o.definitions.versions(req.params.key);
    if (versions.length === 0) throw new NotFoundError('process definition', req.params.key);
    return { items: versions.map(summaryOut) };
  });

  app.get('/workflows/definitions/:key/bpmn', {
    config: { access: 'viewer' },
    schema: {
      summary: 'The .bpmn file of a version (the latest without `version`), as an attachment `<key>-v<version>.bpmn`.', tags,
      params: DefinitionKeyParam, querystring: VersionQuery, produces: ['application/xml'],
      response: { 200: { description: 'The BPMN 2.0 XML as deployed.', content: { 'application/xml': { schema: Type.String() } } }, ...problemResponses },
    },
  }, async (req, reply) => {
    const d = await found(req.params.key, req.query.version);
    // The key matches DefinitionKeyParam's pattern: nothing in it needs quoting in the header.
    return reply.type('application/xml; charset=utf-8').header('content-disposition', `attachment; filename="${d.key}-v${d.version}.bpmn"`).send(d.xml);
  });

  app.post('/workflows/definitions', {
    config: { access: 'admin' },
    bodyLimit,
    schema: {
      summary: 'Deploys a process definition after the check: 201 with the new version, 200 with the latest when the XML is unchanged; '
        + '400 DEFINITION_INVALID with the problems (each with its element id) when refused.',
      tags, ...bodySchema, response: { 200: DeployedOut, 201: DeployedOut, ...refused },
    },
  }, async (req, reply) => {
    try {
      const { definition, created, warnings } = await o.definitions.deploy(xmlOf(req.body), actorOf(req), { source: req.ip });
      return await reply.code(created ? 201 : 200).send({ ...summaryOut(definition), warnings: [...warnings] });
    } catch (err) {
      if (err instanceof DefinitionInvalidError) return invalid(reply, err);
      throw err;
    }
  });

  app.post('/workflows/check', {
    config: { access: 'admin' },
    bodyLimit,
    schema: { summary: 'Checks a process definition as a deploy would, deploying nothing.', tags, ...bodySchema, response: { 200: CheckOut, 413: Type.Ref('Problem') } },
  }, async (req) => {
    const { ok, problems } = await o.definitions.check(xmlOf(req.body));
    return { ok, problems: [...problems] };
  });

  app.get('/workflows/catalogue', {
    config: { access: 'viewer' },
    schema: { summary: 'What a process may use here, for the modeler: station actions with their parameters, roles, work order types with their result fields.', tags, response: { 200: CatalogueOut } },
  }, () => ({ actions: o.actions(), roles: o.roles(), workOrderTypes: o.workOrderTypes() }));
  await Promise.resolve();
};

function xmlOf(body: string | { xml: string }): string {
  return typeof body === 'string' ? body : body.xml;
}

function invalid(reply: FastifyReply, err: DefinitionInvalidError): FastifyReply {
  return sendProblem(reply, err.status, err.code, err.message, undefined, { problems: err.problems });
}

function summaryOut(d: DefinitionSummary) {
  return {
    key: d.key, version: d.version, name: d.name, hash: d.hash, deployedAt: new Date(d.deployedAt).toISOString(), deployedBy: d.deployedBy, shipped: d.shipped,
  };
}
