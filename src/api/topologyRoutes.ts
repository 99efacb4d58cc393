/** CRUD for areas, terminals and meters: one resource each, all validated by the registry. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AreaSeed, MeterSeed, TerminalSeed } from '../config/schema.js';
import type { Terminal } from '../domain/index.js';
import type { Registry } from '../registry/registry.js';
import { problemResponses } from './problem.js';
import { IdParam, PageQuery } from './schemas.js';

export interface TerminalStateView {
  readonly online: boolean;
  readonly lastSuccessTs: number | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly ts: number } | null;
}

export interface TopologyRoutesOptions {
  readonly registry: Registry;
  readonly terminalState: (id: string) => TerminalStateView | undefined;
}

const pageOf = (ref: string) => Type.Object({ items: Type.Array(Type.Ref(ref)), next: Type.Union([Type.String(), Type.Null()]) });

export const areaRoutes: FastifyPluginAsyncTypebox<TopologyRoutesOptions> = async (app, { registry }) => {
  app.get('/areas', {
    config: { access: 'viewer' },
    schema: { summary: 'Lists areas (region, substation, feeder, transformer), paged with a cursor.', tags: ['topology'], querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }), response: { 200: pageOf('Area'), ...problemResponses } },
  }, (req) => registry.pageAreas(req.query.cursor, req.query.limit));
  app.get('/areas/:id', { config: { access: 'viewer' }, schema: { summary: 'One area.', tags: ['topology'], params: IdParam, response: { 200: Type.Ref('Area'), ...problemResponses } } }, (req) => registry.getArea(req.params.id));
  app.post('/areas', { config: { access: 'admin' }, schema: { summary: 'Creates an area under its parent (level rules and cycles are checked).', tags: ['topology'], body: AreaSeed, response: { 201: Type.Ref('Area'), ...problemResponses } } }, async (req, reply) => {
    return reply.code(201).send(await registry.createArea(req.body));
  });
  app.put('/areas/:id', { config: { access: 'admin' }, schema: { summary: 'Replaces an area.', tags: ['topology'], params: IdParam, body: Type.Omit(AreaSeed, ['id']), response: { 200: Type.Ref('Area'), ...problemResponses } } },
    (req) => registry.updateArea(req.params.id, req.body));
  app.delete('/areas/:id', { config: { access: 'admin' }, schema: { summary: 'Deletes an area that has no child areas and no meters.', tags: ['topology'], params: IdParam, response: { 204: Type.Null(), ...problemResponses } } }, async (req, reply) => {
    await registry.deleteArea(req.params.id);
    return reply.code(204).send(null);
  });
  await Promise.resolve();
};

export const terminalRoutes: FastifyPluginAsyncTypebox<TopologyRoutesOptions> = async (app, { registry, terminalState }) => {
  // An endpoint holds no secret: keys and the LLS password are under /meters/:id/keys.
  const view = (t: Terminal) => ({ ...t, state: terminalState(t.id) });
  app.get('/terminals', {
    config: { access: 'viewer' },
    schema: { summary: 'Lists terminals with their endpoint and collection state, paged.', tags: ['topology'], querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }), response: { 200: pageOf('Terminal'), ...problemResponses } },
  }, (req) => {
    const p = registry.pageTerminals(req.query.cursor, req.query.limit);
    return { items: p.items.map(view), next: p.next };
  });
  app.get('/terminals/:id', { config: { access: 'viewer' }, schema: { summary: 'One terminal with its collection state.', tags: ['topology'], params: IdParam, response: { 200: Type.Ref('Terminal'), ...problemResponses } } },
    (req) => view(registry.getTerminal(req.params.id)));
  app.post('/terminals', { config: { access: 'admin' }, schema: { summary: 'Creates a terminal; the collector picks it up without a restart. A DLMS endpoint takes no password: it goes to the meter\'s (or key group\'s) keys.', tags: ['topology'], body: TerminalSeed, response: { 201: Type.Ref('Terminal'), ...problemResponses } } }, async (req, reply) => {
    return reply.code(201).send(view(await registry.createTerminal(req.body)));
  });
  app.put('/terminals/:id', { config: { access: 'admin' }, schema: { summary: 'Replaces a terminal; its collection schedule is rebuilt.', tags: ['topology'], params: IdParam, body: Type.Omit(TerminalSeed, ['id']), response: { 200: Type.Ref('Terminal'), ...problemResponses } } },
    async (req) => view(await registry.updateTerminal(req.params.id, req.body)));
  app.delete('/terminals/:id', { config: { access: 'admin' }, schema: { summary: 'Deletes a terminal that has no meters.', tags: ['topology'], params: IdParam, response: { 204: Type.Null(), ...problemResponses } } }, async (req, reply) => {
    await registry.deleteTerminal(req.params.id);
    return reply.code(204).send(null);
  });
  await Promise.resolve();
};

export const meterRoutes: FastifyPluginAsyncTypebox<TopologyRoutesOptions> = async (app, { registry }) => {
  app.get('/meters', {
    config: { access: 'viewer' },
    schema: { summary: 'Lists meters, filterable by terminal and area, paged with a cursor.',
      tags: ['topology'],
      querystring: Type.Object({ ...PageQuery, area: Type.Optional(Type.String({ maxLength: 64 })), terminal: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
      response: { 200: pageOf('Meter'), ...problemResponses },
    },
  }, (req) => {
    const filter = { ...(req.query.area === undefined ? {} : { areaId: req.query.area }), ...(req.query.terminal === undefined ? {} : { terminalId: req.query.terminal }) };
    return registry.pageMeters(filter, req.query.cursor, req.query.limit);
  });
  app.get('/meters/:id', { config: { access: 'viewer' }, schema: { summary: 'One meter.', tags: ['topology'], params: IdParam, response: { 200: Type.Ref('Meter'), ...problemResponses } } }, (req) => registry.getMeter(req.params.id));
  app.post('/meters', { config: { access: 'admin' }, schema: { summary: 'Creates a meter behind a terminal.', tags: ['topology'], body: MeterSeed, response: { 201: Type.Ref('Meter'), ...problemResponses } } }, async (req, reply) => {
    return reply.code(201).send(await registry.createMeter(req.body));
  });
  app.put('/meters/:id', { config: { access: 'admin' }, schema: { summary: 'Replaces a meter (address, CT/PT ratios, area, protected flag, customer references).', tags: ['topology'], params: IdParam, body: Type.Omit(MeterSeed, ['id']), response: { 200: Type.Ref('Meter'), ...problemResponses } } },
    (req) => registry.updateMeter(req.params.id, req.body));
  app.delete('/meters/:id', { config: { access: 'admin' }, schema: { summary: 'Deletes a meter; its readings stay in the store.', tags: ['topology'], params: IdParam, response: { 204: Type.Null(), ...problemResponses } } }, async (req, reply) => {
    await registry.deleteMeter(req.params.id);
    return reply.code(204).send(null);
  });
  await Promise.resolve();
};
