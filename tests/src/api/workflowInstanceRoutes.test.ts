/**
 * The workflow instance routes over a real socket, in front of the runtime on the embedded
 * store: operators start (from the API or the dashboard), cancel and send messages, viewers
 * list and read an instance with its history and its version's XML, and may not start one.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installAccessControl } from '../../../src/api/access.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import { workflowInstanceRoutes } from '../../../src/api/workflowInstanceRoutes.js';
import type { Principal } from '../../../src/auth/roles.js';
import { LogThrottle, createLogger } from '../../../src/observe/logger.js';
import { openDatabase } from '../../../src/storage/db.js';
import { WorkflowRuntime } from '../../../src/workflows/runtime/runtime.js';
import { SqliteWorkflowInstanceStore } from '../../../src/workflows/runtime/sqliteStore.js';
import { EffectLog, FixtureDefinitions, FixtureWorkOrders, fixtureActions, stored } from '../../helpers/workflowFixtures.js';
import { CHECK } from '../workflows/runtime/processes.js';

const TOKENS: Readonly<Record<string, Principal>> = {
  operator: { subject: 'user:olga', role: 'operator', via: 'token' },
  viewer: { subject: 'token:view', role: 'viewer', via: 'token' },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve() {
  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  const store = new SqliteWorkflowInstanceStore(db);
  const definitions = new FixtureDefinitions();
  definitions.deploy('check', CHECK);
  const orders = new FixtureWorkOrders();
  const runtime = new WorkflowRuntime({
    store, definitions, actions: fixtureActions(new EffectLog()), workOrders: orders, logger: createLogger('silent'), throttle: new LogThrottle(60_000),
    config: { pollMs: 60_000, changesPerPoll: 100, maxRunning: 100, maxHistoryPerInstance: 100, maxVariablesBytes: 4_096, variables: {} },
  });
  await runtime.begin();
  cleanups.push(() => runtime.end());
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(Problem);
  installProblemHandlers(app);
  installAccessControl(app, { auth: { authenticateToken: (t) => Promise.resolve(TOKENS[t]), authenticateSession: () => Promise.resolve(undefined), noteRefusal: () => undefined } });
  await app.register(workflowInstanceRoutes, { prefix: '/api/v1', runtime });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const call = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  return { call, store, orders };
}

describe('workflow instance routes', () => {
  it('starts an instance for an operator, lists and shows it to a viewer with its history and XML, and takes a message', async () => {
    const s = await serve();
    expect((await s.call('POST', '/workflows/instances', 'viewer', { processKey: 'check' })).status).toBe(403);
    const started = await s.call('POST', '/workflows/instances', 'operator', { processKey: 'check', variables: { meterId: 'm-7' }, businessKey: 'm-7' });
    expect(started).toMatchObject({ status: 201, body: { processKey: 'check', version: 1, status: 'running', trigger: { kind: 'api', ref: 'user:olga' }, businessKey: 'm-7' } });
    const fromDashboard = await s.call('POST', '/workflows/instances', 'operator', { processKey: 'check' }, { 'x-gridhead-source': 'dashboard' });
    expect(fromDashboard.body.trigger).toEqual({ kind: 'dashboard', ref: 'user:olga' });
    const id = String(started.body.id);
    await stored(s.store, id, (i) => i.waiting.some((w) => w.elementId === 'visit' && w.detail !== null));

    const list = await s.call('GET', '/workflows/instances?businessKey=m-7', 'viewer');
    expect((list.body.items as Record<string, unknown>[]).map((i) => i.id)).toEqual([id]);
    const detail = await s.call('GET', `/workflows/instances/${id}`, 'viewer');
    expect(detail.body.waiting).toEqual(expect.arrayContaining([
      expect.objectContaining({ elementId: 'visit', elementType: 'bpmn:UserTask', detail: 'WO-000001' }),
      expect.objectContaining({ elementId: 'cleared', elementType: 'bpmn:BoundaryEvent', detail: 'alarm-cleared' }),
    ]));
    expect(String(detail.body.xml)).toContain('<process id="check"');
    expect((detail.body.history as Record<string, unknown>[]).map((h) => `${String(h.elementId)}:${String(h.event)}`)).toContain('visit:wait');

    expect((await s.call('POST', `/workflows/instances/${id}/messages`, 'operator', { name: 'payment' })).body).toEqual({ delivered: false });
    expect((await s.call('POST', `/workflows/instances/${id}/messages`, 'operator', { name: 'alarm-cleared', variables: { note: 'back' } })).body).toEqual({ delivered: true });
    await stored(s.store, id, (i) => i.status === 'completed');
  });

  it('cancels an instance with its order, and answers problems for an unknown process, a bad body and an ended instance', async () => {
    const s = await serve();
    const id = String((await s.call('POST', '/workflows/instances', 'operator', { processKey: 'check' })).body.id);
    await stored(s.store, id, (i) => i.waiting.some((w) => w.elementId === 'visit' && w.detail !== null));
    const cancelled = await s.call('POST', `/workflows/instances/${id}/cancel`, 'operator', { reason: 'duplicate' });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled', waiting: [] } });
    expect([...s.orders.orders.values()][0]?.state).toBe('cancelled');
    expect((await s.call('POST', `/workflows/instances/${id}/cancel`, 'operator', { reason: 'again' })).body).toMatchObject({ code: 'WORKFLOW_NOT_RUNNING' });
    expect(await s.call('POST', '/workflows/instances', 'operator', { processKey: 'nope' })).toMatchObject({ status: 404, body: { code: 'WORKFLOW_UNKNOWN_PROCESS' } });
    expect((await s.call('POST', '/workflows/instances', 'operator', { processKey: 'check', extra: 1 })).status).toBe(400);
    const big = await s.call('POST', '/workflows/instances', 'operator', { processKey: 'check', variables: { blob: 'x'.repeat(5_000) } });
    expect(big).toMatchObject({ status: 400, body: { code: 'WORKFLOW_VARIABLES_TOO_LARGE' } });
    expect((await s.call('GET', '/workflows/instances/none', 'viewer')).status).toBe(404);
  });
});
