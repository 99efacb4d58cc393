import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import { RuleOut, ruleRoutes } from '../../../src/api/ruleRoutes.js';
import type { AlarmSignal } from '../../../src/domain/index.js';
import { RuleEngine } from '../../../src/rules/engine.js';
import { RuleService } from '../../../src/rules/service.js';
import { SqliteRuleStore } from '../../../src/rules/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { FakeTopology, T0, area, meter, reading } from '../rules/fixture.js';

const base = { id: 'p1', name: 'Power', subject: { meter: 'm1' }, detector: 'power-over-limit', params: { limitKw: 10 } };

describe('rules API', () => {
  let db: Db;
  let signals: AlarmSignal[];
  let engine: RuleEngine;
  let service: RuleService;
  let app: FastifyInstance;

  beforeEach(async () => {
    db = openDatabase(':memory:');
    signals = [];
    const topology = new FakeTopology([area('tx1', null, 400)], [meter('m1', 'tx1'), meter('m2', 'tx1')]);
    engine = new RuleEngine({ topology, onSignal: (s) => signals.push(s), now: () => T0 });
    service = new RuleService({ store: new SqliteRuleStore(db), engine, refs: { meterExists: (id) => topology.meterMap.has(id), areaExists: (id) => topology.areaMap.has(id) }, now: () => T0 });
    const server = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
    server.addSchema(Problem);
    server.addSchema(RuleOut);
    installProblemHandlers(server);
    await server.register(ruleRoutes, { prefix: '/api/v1', rules: service });
    app = server;
  });
  afterEach(async () => {
    await app.close();
    db.close();
  });

  const send = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url: `/api/v1${url}`, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, type: res.headers['content-type'], body: res.body === '' ? null : res.json<Record<string, unknown>>() };
  };

  it('creates, reads, lists with filters, replaces and deletes a rule, applied to the engine at once', async () => {
    expect((await send('POST', '/rules', base)).status).toBe(201);
    await send('POST', '/rules', { ...base, id: 'c1', detector: 'clock-drift', params: { maxDriftS: 30 }, enabled: false });
    expect((await send('GET', '/rules/p1')).body).toMatchObject({ id: 'p1', enabled: true, severity: 'major', params: { limitKw: 10, forMs: 0 } });
    expect(((await send('GET', '/rules?detector=clock-drift')).body?.items as { id: string }[]).map((r) => r.id)).toEqual(['c1']);
    expect(((await send('GET', '/rules?enabled=true')).body?.items as { id: string }[]).map((r) => r.id)).toEqual(['p1']);

    engine.write([reading('m1', 'power.active', 12, T0)]);
    expect(signals.map((s) => s.kind)).toEqual(['raise']);
    const put = await send('PUT', '/rules/p1', { ...base, id: undefined, params: { limitKw: 20 } });
    expect(put.body).toMatchObject({ params: { limitKw: 20 } });
    engine.write([reading('m1', 'power.active', 15, T0 + 1000)]);
    expect(signals.map((s) => s.kind)).toEqual(['raise', 'clear']);

    expect((await send('DELETE', '/rules/p1')).status).toBe(204);
    expect((await send('GET', '/rules/p1')).status).toBe(404);
    expect(service.list().map((r) => r.id)).toEqual(['c1']);
  });

  it('enables and disables a rule without a restart, and keeps it across a reload', async () => {
    await send('POST', '/rules', base);
    expect((await send('POST', '/rules/p1/disable')).body).toMatchObject({ enabled: false });
    engine.write([reading('m1', 'power.active', 12, T0)]);
    expect(signals).toEqual([]);
    await send('POST', '/rules/p1/enable');
    engine.write([reading('m1', 'power.active', 12, T0 + 1000)]);
    expect(signals.map((s) => s.kind)).toEqual(['raise']);
    const again = new RuleService({ store: new SqliteRuleStore(db), engine: { upsert: () => undefined, restart: () => undefined, remove: () => undefined }, refs: { meterExists: () => true, areaExists: () => true } });
    expect(await again.load()).toEqual({ loaded: 1, invalid: [] });
    expect(again.get('p1')).toEqual(service.get('p1'));
  });

  it('answers 400 problem+json naming the field for bad parameters and unknown subject ids', async () => {
    const bad = await send('POST', '/rules', { ...base, params: { limitKw: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect(bad.body).toMatchObject({ code: 'VALIDATION', errors: [{ path: 'body.params.limitKw' }] });
    const unknown = await send('POST', '/rules', { ...base, subject: { meters: ['m1', 'nope'] } });
    expect(unknown.body).toMatchObject({ status: 400, errors: [{ path: 'body.subject.meters[1]', message: 'no meter with id "nope"' }] });
    const area = await send('POST', '/rules', { ...base, subject: { area: 'tx9' } });
    expect(area.body).toMatchObject({ errors: [{ path: 'body.subject.area' }] });
    expect((await send('PUT', '/rules/p1', base)).status).toBe(404);
  });

  it('answers 409 for a duplicate id, 404 for an unknown one, 400 for a mismatched id', async () => {
    await send('POST', '/rules', base);
    expect((await send('POST', '/rules', base)).status).toBe(409);
    expect((await send('POST', '/rules/zz/enable')).status).toBe(404);
    expect((await send('DELETE', '/rules/zz')).status).toBe(404);
    expect((await send('PUT', '/rules/p1', { ...base, id: 'other' })).body).toMatchObject({ status: 400, errors: [{ path: 'body.id' }] });
    expect((await send('GET', '/rules?detector=nope')).status).toBe(400);
  });

  it('seeds a rule set without touching rules the operator already has', async () => {
    await send('POST', '/rules', base);
    await send('POST', '/rules/p1/disable');
    const seeded = await service.seed([{ ...service.get('p1'), enabled: true, params: { limitKw: 1 } }, { ...service.get('p1'), id: 'p2' }]);
    expect(seeded).toEqual({ added: ['p2'], kept: ['p1'] });
    expect(service.get('p1')).toMatchObject({ enabled: false, params: { limitKw: 10 } });
  });
});
