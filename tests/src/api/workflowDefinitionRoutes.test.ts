/**
 * The process definition routes over a real socket on the real API server: deploy as XML or
 * JSON with versions, refusals as problem+json with element ids, the .bpmn download, the
 * check, the catalogue, and who may do what.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.js';
import { AuthService } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { ROLES } from '../../../src/auth/roles.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { createLogger } from '../../../src/observe/logger.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { DefinitionService } from '../../../src/workflows/definitions/service.js';
import { SqliteWorkflowDefinitionStore } from '../../../src/workflows/definitions/sqliteStore.js';
import { CATALOGUE, processXml } from '../workflows/definitions/bpmnFixtures.js';

const MAX_BYTES = 32 * 1024;

let db: Db;
let base: string;
let close: () => Promise<void>;
let admin: string;
let viewer: string;
let audit: SqliteAuditLog;

beforeAll(async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  const auth = new AuthService(new SqliteAuthStore(db));
  admin = (await auth.createToken({ name: 'test-admin', role: 'admin' }, 'test')).token;
  viewer = (await auth.createToken({ name: 'test-viewer', role: 'viewer' }, 'test')).token;
  audit = new SqliteAuditLog(db);
  const definitions = new DefinitionService({
    store: new SqliteWorkflowDefinitionStore(db), audit, catalogue: () => CATALOGUE, maxBytes: MAX_BYTES, logger: createLogger('silent'),
  });
  const app = await buildApi({
    logger: createLogger('silent'), bodyLimitBytes: 1 << 20, registryImportLimitBytes: 1 << 20, registry,
    readings: { latest: () => Promise.resolve([]), series: () => Promise.resolve([]) },
    stats: { perTerminal: () => Promise.resolve([]), areaDays: () => Promise.resolve([]), today: () => '2026-03-10' },
    terminalState: () => undefined,
    health: () => ({ status: 'ok', node: { id: 'test', roles: ['api'], leader: true, duties: 'active', leaderDuties: 'active', shards: [] }, components: {} }),
    metrics: createMetrics([]),
    auth: { service: auth, sessionMaxMs: 3_600_000 },
    workflowDefinitions: {
      definitions, maxBytes: MAX_BYTES,
      actions: () => [{ name: 'read-meter', description: 'Reads registers of a meter now.', params: [{ name: 'meterId', required: true, description: 'The meter.' }] }],
      roles: () => [...ROLES],
      workOrderTypes: () => [{ type: 'field-check', fields: [{ name: 'outcome', kind: 'choice', required: true, choices: ['confirmed', 'false-alarm'] }] }],
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/workflows`;
  close = async () => { await app.close(); db.close(); };
});
afterAll(async () => { await close(); });

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown> & { problems?: { elementId: string | null; rule: string; severity: string }[]; items?: Record<string, unknown>[] };
}

async function call(path: string, init: { method?: string; body?: string; type?: string; token?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.type !== undefined) headers['content-type'] = init.type;
  const token = init.token === undefined ? admin : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), headers, ...(init.body === undefined ? {} : { body: init.body }) });
  const text = await res.text();
  const type = res.headers.get('content-type');
  return { status: res.status, type, headers: res.headers, text, json: type?.includes('json') === true ? JSON.parse(text) as Answer['json'] : {} };
}

const deployXml = (xml: string, token?: string | null) => call('/definitions', { body: xml, type: 'application/xml', ...(token === undefined ? {} : { token }) });

describe('POST /api/v1/workflows/definitions', () => {
  it('deploys a .bpmn body as version 1 (201), answers it for the same XML (200), and makes version 2 of a change sent as JSON', async () => {
    const first = await deployXml(processXml({ id: 'api-check' }));
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ key: 'api-check', version: 1, name: 'Field check', deployedBy: 'token:test-admin', shipped: false });
    expect(first.json.deployedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Array.isArray(first.json.warnings)).toBe(true);

    const again = await call('/definitions', { body: processXml({ id: 'api-check' }), type: 'text/xml; charset=utf-8' });
    expect([again.status, again.json.version]).toEqual([200, 1]);

    const changed = await call('/definitions', { body: JSON.stringify({ xml: processXml({ id: 'api-check', due: 'PT2H' }) }), type: 'application/json' });
    expect([changed.status, changed.json.version]).toEqual([201, 2]);
    const entries = (await audit.query({ action: 'workflow-definition.deploy', target: 'workflow-definition:api-check', limit: 10 })).items;
    expect(entries.map((e) => [e.actor, e.outcome, e.source])).toEqual([['token:test-admin', 'ok', '127.0.0.1'], ['token:test-admin', 'ok', '127.0.0.1'], ['token:test-admin', 'ok', '127.0.0.1']]);
  });

  it.each([
    ['an unknown action', processXml({ id: 'bad-action', action: 'launch-rocket' }), { elementId: 'read', rule: 'gridhead/unknown-action' }],
    ['an unknown role', processXml({ id: 'bad-role', role: 'janitor' }), { elementId: 'check', rule: 'gridhead/unknown-role' }],
    ['a gateway without a default', processXml({ id: 'bad-gateway', gateway: '' }), { elementId: 'decide', rule: 'gridhead/gateway-without-default' }],
    ['malformed XML', '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="x">', { elementId: null, rule: 'xml' }],
    ['an unsupported element', processXml({ id: 'bad-element', extra: '<bpmn:scriptTask id="script" name="Script" />' }), { elementId: 'script', rule: 'gridhead/unsupported-element' }],
    ['a bad duration', processXml({ id: 'bad-due', due: 'four hours' }), { elementId: 'check', rule: 'gridhead/bad-duration' }],
  ])('refuses %s with 400 DEFINITION_INVALID naming the element', async (_what, xml, expected) => {
    const r = await deployXml(xml);
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.json).toMatchObject({ code: 'DEFINITION_INVALID', status: 400, title: 'Bad Request' });
    expect(r.json.problems).toContainEqual(expect.objectContaining({ ...expected, severity: 'error' }));
  });

  it('refuses a viewer (403) and a caller without credentials (401), deploying nothing', async () => {
    expect((await deployXml(processXml({ id: 'viewer-try' }), viewer)).status).toBe(403);
    expect((await deployXml(processXml({ id: 'viewer-try' }), null)).status).toBe(401);
    expect((await call('/definitions/viewer-try')).status).toBe(404);
  });

  it('refuses a definition over workflows.definitions.maxBytes with 413, as XML and as JSON', async () => {
    const big = processXml({ id: 'too-big', extra: `<!-- ${'x'.repeat(MAX_BYTES)} -->` });
    const asXml = await deployXml(big);
    expect([asXml.status, asXml.json.code]).toEqual([413, 'DEFINITION_TOO_LARGE']);
    const asJson = await call('/definitions', { body: JSON.stringify({ xml: big }), type: 'application/json' });
    expect([asJson.status, asJson.json.code]).toEqual([413, 'DEFINITION_TOO_LARGE']);
    const huge = await deployXml(`${big}${'x'.repeat(2 * MAX_BYTES)}`);
    expect(huge.status).toBe(413);
  });
});

describe('reading definitions', () => {
  beforeAll(async () => {
    await deployXml(processXml({ id: 'reads', name: 'Reads' }));
    await deployXml(processXml({ id: 'reads', name: 'Reads', due: 'PT9H' }));
  });

  it('lists the latest version of each key with its count, to a viewer', async () => {
    const r = await call('/definitions', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.json.items).toContainEqual(expect.objectContaining({ key: 'reads', version: 2, versions: 2, name: 'Reads' }));
  });

  it('answers the latest version or the one asked for with its XML, and 404 for what does not exist', async () => {
    const latest = await call('/definitions/reads', { token: viewer });
    expect(latest.json).toMatchObject({ key: 'reads', version: 2 });
    expect(String(latest.json.xml)).toContain('PT9H');
    expect((await call('/definitions/reads?version=1', { token: viewer })).json).toMatchObject({ version: 1 });
    expect((await call('/definitions/reads?version=7', { token: viewer })).status).toBe(404);
    expect((await call('/definitions/nothing-here', { token: viewer })).json).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call('/definitions/reads/versions', { token: viewer })).json.items?.map((v) => v.version)).toEqual([2, 1]);
    expect((await call('/definitions/nothing-here/versions', { token: viewer })).status).toBe(404);
  });

  it('downloads a version as a .bpmn attachment of application/xml', async () => {
    const r = await call('/definitions/reads/bpmn?version=1', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.type).toContain('application/xml');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="reads-v1.bpmn"');
    expect(r.text).toBe(processXml({ id: 'reads', name: 'Reads' }));
  });
});

describe('POST /api/v1/workflows/check and GET /api/v1/workflows/catalogue', () => {
  it('checks without deploying, answering the problems', async () => {
    const r = await call('/check', { body: processXml({ id: 'only-checked', action: 'nope' }), type: 'application/xml' });
    expect(r.status).toBe(200);
    expect(r.json.ok).toBe(false);
    expect(r.json.problems).toContainEqual(expect.objectContaining({ elementId: 'read', rule: 'gridhead/unknown-action' }));
    expect((await call('/check', { body: processXml({ id: 'only-checked' }), type: 'application/xml' })).json.ok).toBe(true);
    expect((await call('/definitions/only-checked')).status).toBe(404);
    expect((await call('/check', { body: processXml(), type: 'application/xml', token: viewer })).status).toBe(403);
  });

  it('gives the modeler the actions, roles and work order types', async () => {
    const r = await call('/catalogue', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      actions: [{ name: 'read-meter', description: 'Reads registers of a meter now.', params: [{ name: 'meterId', required: true, description: 'The meter.' }] }],
      roles: [...ROLES],
      workOrderTypes: [{ type: 'field-check', fields: [{ name: 'outcome', kind: 'choice', required: true, choices: ['confirmed', 'false-alarm'] }] }],
    });
  });
});

describe('OpenAPI', () => {
  it('documents every definition route, the download as application/xml', async () => {
    const res = await fetch(base.replace('/api/v1/workflows', '/docs/json'));
    const doc = await res.json() as { paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, { content?: Record<string, unknown> }> }>> };
    for (const path of ['/definitions', '/definitions/{key}', '/definitions/{key}/versions', '/definitions/{key}/bpmn', '/check', '/catalogue']) {
      expect(doc.paths[`/api/v1/workflows${path}`], path).toBeDefined();
    }
    expect(Object.keys(doc.paths['/api/v1/workflows/definitions/{key}/bpmn']?.get?.responses['200']?.content ?? {})).toEqual(['application/xml']);
    expect(doc.paths['/api/v1/workflows/definitions']?.post?.tags).toEqual(['workflows']);
  });
});
