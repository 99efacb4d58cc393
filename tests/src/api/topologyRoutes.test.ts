/**
 * The meter routes over a real socket, in front of a real registry on an in-memory store:
 * CT/PT ratios and ratings outside their sane ranges are answered with 400 problem+json.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installProblemHandlers, Problem } from '../../../src/api/problem.js';
import { MeterOut } from '../../../src/api/schemas.js';
import { meterRoutes } from '../../../src/api/topologyRoutes.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase } from '../../../src/storage/db.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface ProblemBody { readonly code: string; readonly errors?: readonly { readonly path: string }[] }

async function serve() {
  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.createTerminal({ id: 'q1', protocol: 'mqtt', enabled: true, profiles: [] });
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  for (const s of [Problem, MeterOut]) app.addSchema(s);
  installProblemHandlers(app);
  await app.register(meterRoutes, { prefix: '/api/v1', registry, terminalState: () => undefined });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/meters`;
  const send = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) };
  };
  return { registry, send };
}

describe('meter API', () => {
  it('answers 400 problem+json for CT/PT ratios outside 1 … 100,000, and stores nothing', async () => {
    const { registry, send } = await serve();
    for (const [field, value] of [['ctRatio', 1e308], ['ctRatio', 0.5], ['ptRatio', 100_001], ['ptRatio', 0]] as const) {
      const res = await send('POST', '', { id: 'm1', terminalId: 'q1', address: '1', [field]: value });
      expect(res.status, `${field} ${value}`).toBe(400);
      expect(res.type).toContain('application/problem+json');
      const problem = res.body as ProblemBody;
      expect(problem.code).toBe('VALIDATION');
      expect(problem.errors?.map((e) => e.path)).toContain(`body.${field}`);
    }
    expect(registry.findMeter('m1')).toBeUndefined();
  });

  it('answers 400 for a rating outside its range, on create and on replace', async () => {
    const { send } = await serve();
    const bad = await send('POST', '', { id: 'm1', terminalId: 'q1', address: '1', maxCurrent: 1e6 });
    expect((bad.body as ProblemBody).errors?.map((e) => e.path)).toContain('body.maxCurrent');
    expect((await send('POST', '', { id: 'm1', terminalId: 'q1', address: '1' })).status).toBe(201);
    const put = await send('PUT', '/m1', { terminalId: 'q1', address: '1', ctRatio: 1e308, nominalVoltage: -230 });
    expect(put.status).toBe(400);
    expect((put.body as ProblemBody).errors?.map((e) => e.path).sort()).toEqual(['body.ctRatio', 'body.nominalVoltage']);
  });

  it('takes ratios and a rating inside the ranges and answers them back', async () => {
    const { registry, send } = await serve();
    const res = await send('POST', '', { id: 'm1', terminalId: 'q1', address: '1', ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 });
    expect(registry.getMeter('m1')).toMatchObject({ ctRatio: 40, ptRatio: 100, nominalVoltage: 57.7, maxCurrent: 6 });
  });
});
