/**
 * The work-order routes through the station's own API (buildApi) on a real socket, with the
 * real access service: a field crew logs in to the dashboard with its password, sees and works
 * only its own orders (404 for any other, 403 for what operators do), and passes no other
 * access level; operators create, assign and cancel; results are checked against their forms;
 * lists page by keyset under filters; the CSV export streams the same filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.js';
import { ACCESS_LEVELS, permits } from '../../../src/auth/roles.js';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { Value } from 'typebox/value';
import { WorkOrdersConfig } from '../../../src/config/workOrders.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { createLogger } from '../../../src/observe/logger.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { WorkOrderService } from '../../../src/workOrders/service.js';
import { SqliteWorkOrderStore } from '../../../src/workOrders/sqliteStore.js';

const PASSWORD = 'crew-Pw-8812';
let db: Db;
let url: string;
let close: () => Promise<void>;
let operatorToken: string;
let viewerToken: string;
/** The session cookie of the field users zhang and wang, logged in through /auth/login. */
const cookies: Record<string, string> = {};

beforeAll(async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  const auth = new AuthService(new SqliteAuthStore(db), { ...DEFAULT_AUTH_OPTIONS, scryptCost: { log2N: 10, r: 8, p: 1 } });
  operatorToken = (await auth.createToken({ name: 'dispatch', role: 'operator' }, 'test')).token;
  viewerToken = (await auth.createToken({ name: 'wall', role: 'viewer' }, 'test')).token;
  for (const name of ['zhang', 'wang']) await auth.createUser({ name, role: 'field', password: PASSWORD });
  const audit = new SqliteAuditLog(db);
  const limits = { ...Value.Default(WorkOrdersConfig, {}) as WorkOrdersConfig, exportBatch: 2 };
  const app = await buildApi({
    logger: createLogger('silent'), bodyLimitBytes: 1 << 20, registryImportLimitBytes: 1 << 20, registry,
    readings: { latest: () => Promise.resolve([]), series: () => Promise.resolve([]) },
    stats: { perTerminal: () => Promise.resolve([]), areaDays: () => Promise.resolve([]), today: () => '2026-01-05' },
    terminalState: () => undefined,
    health: () => ({ status: 'ok', node: { id: 'test', roles: ['api'], leader: true, duties: 'active', leaderDuties: 'active', shards: [] }, components: {} }),
    metrics: createMetrics([]),
    audit,
    auth: { service: auth, sessionMaxMs: 3_600_000 },
    workOrders: new WorkOrderService({ store: new SqliteWorkOrderStore(db), audit, limits }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  close = async () => { await app.close(); await auth.close(); db.close(); };
  for (const name of ['zhang', 'wang']) {
    const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password: PASSWORD }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name, role: 'field' });
    cookies[name] = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  }
});
afterAll(async () => { await close(); });

type Who = 'operator' | 'viewer' | 'zhang' | 'wang';
interface Answer { status: number; type: string | null; text: string; json: Record<string, unknown> & { items?: Record<string, unknown>[]; next?: string | null } }

async function call(who: Who, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (who === 'operator' || who === 'viewer') headers.authorization = `Bearer ${who === 'operator' ? operatorToken : viewerToken}`;
  else Object.assign(headers, { cookie: cookies[who] ?? '', 'x-gridhead-csrf': '1' });
  const res = await fetch(`${url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: (text !== '' && res.headers.get('content-type')?.includes('json') === true ? JSON.parse(text) : {}) as Answer['json'] };
}

async function create(body: Record<string, unknown>): Promise<{ id: string; number: string }> {
  const res = await call('operator', 'POST', '/work-orders', body);
  expect(res.status).toBe(201);
  return res.json as unknown as { id: string; number: string };
}

describe('the field role', () => {
  it('passes the work-order access level and no other', () => {
    const granted = ACCESS_LEVELS.filter((a) => permits(a, 'field'));
    expect(granted).toEqual(['public', 'authenticated', 'work-orders']);
    expect(permits('work-orders', 'billing')).toBe(false);
    expect(['viewer', 'operator', 'admin'].every((r) => permits('work-orders', r as 'viewer'))).toBe(true);
  });

  it('logs in to the dashboard, and is refused what a viewer may read', async () => {
    expect((await call('zhang', 'GET', '/auth/me')).status).toBe(200);
    expect((await call('zhang', 'GET', '/meters')).status).toBe(403);
    expect((await call('zhang', 'GET', '/terminals')).status).toBe(403);
    expect((await call('zhang', 'GET', '/audit')).status).toBe(403);
  });
});

describe('work-order routes', () => {
  it('takes an order from creation to done, with its form checked and its history', async () => {
    const types = await call('zhang', 'GET', '/work-orders/types');
    expect(types.status).toBe(200);
    const forms = types.json.types as { type: string; label: { zh: string }; fields: { name: string; required: boolean }[] }[];
    expect(forms.map((t) => t.type)).toEqual(['field-check', 'repair', 'meter-replacement', 'arrears', 'general']);
    expect(forms.find((t) => t.type === 'meter-replacement')?.fields.filter((f) => f.required).map((f) => f.name)).toEqual(['newMeterId', 'finalRead', 'initialRead']);

    const order = await create({ type: 'meter-replacement', title: 'Replace m1', meterId: 'm1', areaId: 'tx1', role: 'field', dueAt: '2026-01-06T08:00:00Z' });
    expect(order).toMatchObject({ state: 'open', dueAt: '2026-01-06T08:00:00.000Z', role: 'field' });
    expect((await call('operator', 'POST', `/work-orders/${order.id}/assign`, { assignee: 'zhang' })).json).toMatchObject({ state: 'assigned', assignee: 'zhang' });
    expect((await call('zhang', 'POST', `/work-orders/${order.id}/complete`, { result: { newMeterId: 'm1b', finalRead: 1, initialRead: 0 } })).json).toMatchObject({ code: 'WORK_ORDER_STATE', status: 409 });
    expect((await call('zhang', 'POST', `/work-orders/${order.id}/start`)).json).toMatchObject({ state: 'in-progress' });
    const bad = await call('zhang', 'POST', `/work-orders/${order.id}/complete`, { result: { newMeterId: 'm1b', initialRead: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'WORK_ORDER_RESULT_INVALID', errors: [{ path: 'result.finalRead' }] });
    const nested = await call('zhang', 'POST', `/work-orders/${order.id}/complete`, { result: { newMeterId: { id: 'm1b' }, finalRead: 1, initialRead: 0 } });
    expect(nested.json).toMatchObject({ status: 400, errors: [{ path: 'result.newMeterId' }] });
    const comment = await call('zhang', 'POST', `/work-orders/${order.id}/comments`, { text: 'old meter seal broken' });
    expect(comment.status).toBe(201);
    expect(comment.json.comments).toEqual([expect.objectContaining({ by: 'user:zhang', text: 'old meter seal broken' })]);
    // A meter id of digits stays text, a read stays a number.
    const done = await call('zhang', 'POST', `/work-orders/${order.id}/complete`, { result: { oldMeterId: 'm1', newMeterId: '4401', finalRead: 20345.7, initialRead: 0.1 }, resultText: 'done' });
    expect(done.json).toMatchObject({ state: 'done', result: { newMeterId: '4401', finalRead: 20345.7 }, resultText: 'done' });
    const detail = await call('operator', 'GET', `/work-orders/${order.id}`);
    expect((detail.json.history as { event: string; by: string }[]).map((h) => `${h.event} ${h.by}`)).toEqual([
      'created token:dispatch', 'assigned token:dispatch', 'started user:zhang', 'commented user:zhang', 'completed user:zhang',
    ]);
    expect((await call('operator', 'POST', `/work-orders/${order.id}/cancel`, { reason: 'late' })).status).toBe(409);
  });

  it('answers a field crew 404 for orders not its own and 403 for what only operators do', async () => {
    const theirs = await create({ type: 'repair', title: 'Terminal t9 silent', assignee: 'wang' });
    const own = await create({ type: 'repair', title: 'Terminal t8 silent', assignee: 'zhang' });
    for (const [method, path, body] of [
      ['GET', `/work-orders/${theirs.id}`, undefined], ['POST', `/work-orders/${theirs.id}/start`, undefined],
      ['POST', `/work-orders/${theirs.id}/complete`, { result: { outcome: 'repaired' } }], ['POST', `/work-orders/${theirs.id}/comments`, { text: 'hi' }],
    ] as const) {
      const res = await call('zhang', method, path, body);
      expect({ path, status: res.status, code: res.json.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
    }
    expect((await call('zhang', 'GET', `/work-orders/${own.id}`)).status).toBe(200);
    expect((await call('zhang', 'POST', '/work-orders', { type: 'general', title: 'mine' })).status).toBe(403);
    expect((await call('zhang', 'POST', `/work-orders/${own.id}/assign`, { assignee: 'zhang' })).status).toBe(403);
    expect((await call('zhang', 'POST', `/work-orders/${own.id}/cancel`, { reason: 'no' })).status).toBe(403);
    expect((await call('viewer', 'POST', '/work-orders', { type: 'general', title: 'x' })).status).toBe(403);
    expect((await call('viewer', 'POST', `/work-orders/${own.id}/start`)).status).toBe(403);
    const list = await call('zhang', 'GET', '/work-orders?limit=100');
    expect(list.json.items?.every((o) => o.assignee === 'zhang')).toBe(true);
    expect(list.json.items?.map((o) => o.id)).toContain(own.id);
    expect((await call('zhang', 'GET', '/work-orders?assignee=wang')).json.items).toEqual([]);
    expect((await call('operator', 'POST', '/work-orders', { type: 'photo', title: 'x' })).json).toMatchObject({ status: 400, code: 'UNKNOWN_WORK_ORDER_TYPE' });
    expect((await call('operator', 'GET', '/work-orders/nope')).status).toBe(404);
  });

  it('pages newest first under filters and exports the same orders as CSV', async () => {
    const made: { id: string; number: string }[] = [];
    for (let i = 0; i < 5; i++) made.push(await create({ type: 'field-check', title: `Check, "cover" ${i}`, areaId: 'tx-page', meterId: `m${i}`, assignee: i % 2 === 0 ? 'wang' : null }));
    const seen: string[] = [];
    let next: string | null | undefined = null;
    do {
      const page = await call('viewer', 'GET', `/work-orders?area=tx-page&limit=2${next === null ? '' : `&after=${encodeURIComponent(next)}`}`);
      expect(page.status).toBe(200);
      seen.push(...(page.json.items ?? []).map((o) => o.number as string));
      next = page.json.next;
    } while (next !== null && next !== undefined);
    expect(seen).toEqual(made.map((o) => o.number).reverse());
    expect((await call('viewer', 'GET', '/work-orders?area=tx-page&state=assigned')).json.items?.map((o) => o.number)).toEqual([made[4], made[2], made[0]].map((o) => o?.number));
    expect((await call('viewer', 'GET', '/work-orders?after=garbage')).json).toMatchObject({ status: 400, code: 'VALIDATION' });

    const csv = await call('viewer', 'GET', '/work-orders/export.csv?area=tx-page');
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    const lines = csv.text.split('\r\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^number,type,state,title,meter_id,/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(made.map((o) => o.number).reverse());
    expect(lines[1]).toContain('"Check, ""cover"" 4"');
    const own = await call('wang', 'GET', '/work-orders/export.csv?area=tx-page');
    expect(own.text.split('\r\n').filter((l) => l !== '').slice(1).map((l) => l.split(',')[0])).toEqual([made[4], made[2], made[0]].map((o) => o?.number));
  });

  it('declares every route in the OpenAPI document with its access', async () => {
    const res = await fetch(`${url}/docs/json`);
    const spec = await res.json() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const paths = Object.keys(spec.paths).filter((p) => p.startsWith('/api/v1/work-orders'));
    expect(paths.sort()).toEqual([
      '/api/v1/work-orders', '/api/v1/work-orders/export.csv', '/api/v1/work-orders/types', '/api/v1/work-orders/{id}',
      '/api/v1/work-orders/{id}/assign', '/api/v1/work-orders/{id}/cancel', '/api/v1/work-orders/{id}/comments', '/api/v1/work-orders/{id}/complete', '/api/v1/work-orders/{id}/start',
    ]);
  });
});
