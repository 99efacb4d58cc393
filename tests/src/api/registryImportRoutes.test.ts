/**
 * POST /api/v1/registry/import/{kind} on the real API (access control, audit) over a real
 * socket, in front of a real registry: a CSV body streamed in chunks is imported into the
 * running registry, the summary answered as JSON, the change audited with its actor; a body
 * over http.registryImportLimitBytes is refused with 413, a viewer with 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.js';
import { AuthService } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { createLogger } from '../../../src/observe/logger.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const LIMIT = 64 * 1024;
const TERMINALS = 'id,protocol\nq1,mqtt\n';
const METERS = 'id,terminalId,address,ctRatio\nm1,q1,1,1\nm2,q1,2,40\nm3,q1,2,1\n';

let db: Db;
let registry: Registry;
let audit: SqliteAuditLog;
let url: string;
let admin: string;
let viewer: string;
let close: () => Promise<void>;

beforeAll(async () => {
  db = openDatabase(':memory:');
  registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  const auth = new AuthService(new SqliteAuthStore(db));
  admin = (await auth.createToken({ name: 'importer', role: 'admin' }, 'test')).token;
  viewer = (await auth.createToken({ name: 'watcher', role: 'viewer' }, 'test')).token;
  audit = new SqliteAuditLog(db);
  const app = await buildApi({
    logger: createLogger('silent'), bodyLimitBytes: 1024, registryImportLimitBytes: LIMIT, registry,
    readings: { latest: () => Promise.resolve([]), series: () => Promise.resolve([]) },
    stats: { perTerminal: () => Promise.resolve([]), areaDays: () => Promise.resolve([]), today: () => '2025-01-01' },
    terminalState: () => undefined,
    health: () => ({ status: 'ok', node: { id: 'test', roles: ['api'], leader: true, duties: 'active', leaderDuties: 'active', shards: [] }, components: {} }),
    metrics: createMetrics([]),
    audit,
    auth: { service: auth, sessionMaxMs: 3_600_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/registry/import`;
  close = async () => { await app.close(); db.close(); };
});
afterAll(async () => { await close(); });

/** The CSV sent in small chunks without a length, as a large upload streams. */
function post(path: string, csv: string, token = admin, type = 'text/csv'): Promise<Response> {
  const bytes = Buffer.from(csv);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.subarray(i, i + 1000));
      controller.close();
    },
  });
  return fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body, duplex: 'half' });
}

describe('registry import API', () => {
  it('imports a streamed CSV body larger than the JSON body limit into the running registry, answers the summary, audits it', async () => {
    expect((await post('/terminals', TERMINALS)).status).toBe(200);
    const many = `id,terminalId,address\n${Array.from({ length: 500 }, (_, i) => `bulk${i},q1,b${i}`).join('\n')}\n`;
    expect(many.length).toBeGreaterThan(1024);
    const bulk = await post('/meters', many);
    expect(await bulk.json()).toMatchObject({ kind: 'meters', read: 500, created: 500, rejected: 0 });
    expect(registry.meterAt('q1', 'b499')?.id).toBe('bulk499');

    const res = await post('/meters', METERS);
    expect(res.status).toBe(200);
    const summary = await res.json() as { created: number; rejected: number; errors: { line: number; column: string | null; code: string }[] };
    expect(summary).toMatchObject({ created: 2, rejected: 1 });
    expect(summary.errors).toMatchObject([{ line: 4, column: null, code: 'CONFLICT' }]);
    expect(registry.findMeter('m2')?.ctRatio).toBe(40);

    const entries = await audit.query({ action: 'registry.import', limit: 10 });
    expect(entries.items[0]).toMatchObject({ actor: 'token:importer', target: 'registry:meters', outcome: 'ok', detail: { created: 2, rejected: 1, dryRun: false } });
  });

  it('checks a dry run without writing, whatever the charset parameter of the content type', async () => {
    const res = await post('/meters?dryRun=true', 'id,terminalId,address\ndry1,q1,d1\n', admin, 'text/csv; charset=utf-8');
    expect(await res.json()).toMatchObject({ dryRun: true, created: 1 });
    expect(registry.findMeter('dry1')).toBeUndefined();
  });

  it('refuses a body over http.registryImportLimitBytes with 413, keeping the rows read before the limit', async () => {
    const rows = Array.from({ length: 4000 }, (_, i) => `big${i},q1,x${i}`);
    const res = await post('/meters', `id,terminalId,address\n${rows.join('\n')}\n`);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'REGISTRY_IMPORT_TOO_LARGE' });
    expect(registry.findMeter('big0')).toBeDefined();
    expect(registry.findMeter('big3999')).toBeUndefined();
  });

  it('answers 400 for a header that does not fit the kind in the URL, and 403 to a viewer', async () => {
    const wrong = await post('/areas', METERS);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ code: 'REGISTRY_IMPORT_HEADER' });
    expect((await post('/meters', METERS, viewer)).status).toBe(403);
    expect((await post('/pumps', METERS)).status).toBe(400);
  });
});
