/**
 * Keys, security events and audit over HTTP: the real API on a real socket, a real store,
 * and every log line captured so the test can prove no secret reaches it.
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
import { SqliteKeyStore } from '../../../src/security/keyStore.js';
import { MasterKey } from '../../../src/security/masterKey.js';
import { SecurityEventLog, SqliteSecurityEventStore } from '../../../src/security/securityEvents.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const EK = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf';
const AK = 'b0b1b2b3b4b5b6b7b8b9babbbcbdbebf';
const BK = 'c0c1c2c3c4c5c6c7c8c9cacbcccdcecf';
const PASSWORD = 'pw-Zq81xK';
const SECRETS = [EK, AK, BK, PASSWORD, EK.toUpperCase()];

let db: Db;
let events: SecurityEventLog;
let url: string;
let close: () => Promise<void>;
const logLines: string[] = [];
let token: string;

beforeAll(async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({
    areas: [],
    terminals: [{ id: 't1', protocol: 'dlms', enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: 4059, framing: 'wrapper', clientSap: 48, auth: 'high-gmac', security: 'auth-enc' } }],
    meters: [{ id: 'm1', terminalId: 't1', address: '1', ctRatio: 1, ptRatio: 1, protected: false }],
  });
  const logger = createLogger('trace', { write: (s: string) => { logLines.push(s); } });
  events = new SecurityEventLog(new SqliteSecurityEventStore(db), { logger });
  const keys = new SqliteKeyStore(db, new MasterKey(Buffer.alloc(32, 9), 'environment'));
  const auth = new AuthService(new SqliteAuthStore(db));
  token = (await auth.createToken({ name: 'test-admin', role: 'admin' }, 'test')).token;
  const app = await buildApi({
    logger, bodyLimitBytes: 1 << 20, registryImportLimitBytes: 1 << 20, registry,
    readings: { latest: () => Promise.resolve([]), series: () => Promise.resolve([]) },
    stats: { perTerminal: () => Promise.resolve([]), areaDays: () => Promise.resolve([]), today: () => '2025-01-01' },
    terminalState: () => undefined,
    health: () => ({ status: 'ok', node: { id: 'test', roles: ['api'], leader: true, duties: 'active', leaderDuties: 'active', shards: [] }, components: {} }),
    metrics: createMetrics(events.metricSources()),
    audit: new SqliteAuditLog(db),
    security: { keys, events },
    auth: { service: auth, sessionMaxMs: 3_600_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  close = async () => { await app.close(); db.close(); };
});
afterAll(async () => { await close(); });

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; type: string | null; text: string; json: unknown }> {
  const headers = { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: text === '' ? undefined : JSON.parse(text) as unknown };
}

describe('DLMS keys API', () => {
  it('stores keys and answers only whether each is set, never the value', async () => {
    const put = await call('PUT', '/api/v1/meters/m1/keys', { ek: EK, ak: AK, password: PASSWORD });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ ekSet: true, akSet: true, bkSet: false, passwordSet: true, generation: 1 });
    const get = await call('GET', '/api/v1/meters/m1/keys');
    expect(get.status).toBe(200);
    expect(Object.keys(get.json as object).sort()).toEqual(['akSet', 'bkSet', 'ekSet', 'generation', 'passwordSet', 'updatedAt']);
    for (const s of SECRETS) expect(put.text + get.text).not.toContain(s);
  });

  it('starts a new key generation when a key changes', async () => {
    const put = await call('PUT', '/api/v1/meters/m1/keys', { bk: BK });
    expect(put.json).toMatchObject({ bkSet: true, ekSet: true, generation: 2 });
  });

  it.each([
    ['a short key', { ek: EK.slice(2) }, 'body.ek'],
    ['a non-hex key', { ak: 'zz'.repeat(16) }, 'body.ak'],
    ['an unknown field', { ek: EK, kek: EK }, 'body.kek'],
    ['an empty password', { password: '' }, 'body.password'],
  ])('answers 400 problem+json to %s, without echoing the value', async (_what, body, path) => {
    const res = await call('PUT', '/api/v1/meters/m1/keys', body);
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.json).toMatchObject({ code: 'VALIDATION', status: 400 });
    expect((res.json as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(path);
    expect(res.text).not.toContain(EK);
  });

  it('answers 400 to an empty change and 404 to an unknown meter', async () => {
    expect((await call('PUT', '/api/v1/meters/m1/keys', {})).status).toBe(400);
    const missing = await call('PUT', '/api/v1/meters/nope/keys', { ek: EK });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps key groups apart from meters, and deletes them', async () => {
    expect((await call('GET', '/api/v1/key-groups/east/keys')).json).toMatchObject({ ekSet: false, generation: 0, updatedAt: null });
    expect((await call('PUT', '/api/v1/key-groups/east/keys', { ek: AK, ak: EK })).status).toBe(200);
    expect((await call('GET', '/api/v1/key-groups/east/keys')).json).toMatchObject({ ekSet: true, akSet: true, generation: 1 });
    expect((await call('DELETE', '/api/v1/key-groups/east/keys')).status).toBe(204);
    expect((await call('DELETE', '/api/v1/key-groups/east/keys')).status).toBe(404);
  });
});

describe('audit of API changes', () => {
  it('records every key change with the names of the keys, not their values', async () => {
    const res = await call('GET', '/api/v1/audit?action=keys.set&target=meter:m1');
    expect(res.status).toBe(200);
    const items = (res.json as { items: { actor: string; outcome: string; detail: { keys?: string[]; status: number } }[] }).items;
    const ok = items.filter((e) => e.outcome === 'ok');
    expect(ok.map((e) => e.detail.keys)).toEqual([['bk'], ['ek', 'ak', 'password']]);
    expect(ok.every((e) => e.actor === 'token:test-admin')).toBe(true);
    expect(items.some((e) => e.outcome === 'failed' && e.detail.status === 400)).toBe(true);
    for (const s of SECRETS) expect(res.text).not.toContain(s);
    const deleted = await call('GET', '/api/v1/audit?action=keys.delete&target=key-group:east');
    expect((deleted.json as { items: { outcome: string }[] }).items.map((e) => e.outcome)).toEqual(['failed', 'ok']);
  });

  it('records registry changes made through the API, refused ones included', async () => {
    expect((await call('POST', '/api/v1/areas', { id: 'a9', name: 'Area 9', kind: 'region' })).status).toBe(201);
    expect((await call('DELETE', '/api/v1/meters/ghost')).status).toBe(404);
    const created = await call('GET', '/api/v1/audit?action=area.create');
    expect((created.json as { items: unknown[] }).items).toMatchObject([{ target: 'area:a9', outcome: 'ok', source: '127.0.0.1' }]);
    const failed = await call('GET', '/api/v1/audit?target=meter:ghost');
    expect((failed.json as { items: unknown[] }).items).toMatchObject([{ action: 'meter.delete', outcome: 'failed', detail: { status: 404 } }]);
  });

  it('pages with a cursor and rejects a reversed range', async () => {
    const first = (await call('GET', '/api/v1/audit?limit=2')).json as { items: { id: number }[]; next: number };
    expect(first.items).toHaveLength(2);
    const second = (await call('GET', `/api/v1/audit?limit=2&cursor=${first.next}`)).json as { items: { id: number }[] };
    expect(Math.max(...second.items.map((e) => e.id))).toBeLessThan(Math.min(...first.items.map((e) => e.id)));
    const bad = await call('GET', '/api/v1/audit?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z');
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
  });
});

describe('security events API', () => {
  it('lists recorded events by meter and kind, and counts them in /metrics', async () => {
    events.record({ kind: 'replay', detail: 'counter 7 not above 9', systemTitle: '4752440000000001', counter: 7 }, { meterId: 'm1', terminalId: 't1' });
    events.record({ kind: 'tag-mismatch', detail: 'GCM tag does not verify' }, { meterId: 'm1', terminalId: 't1' });
    events.record({ kind: 'replay', detail: 'counter 1 not above 2' }, { meterId: 'm2', terminalId: 't2' });
    const res = await call('GET', '/api/v1/security-events?meter=m1&kind=replay');
    expect(res.status).toBe(200);
    expect((res.json as { items: unknown[] }).items).toEqual([{
      id: expect.any(Number) as number, ts: expect.any(String) as string, meterId: 'm1', terminalId: 't1', kind: 'replay',
      detail: 'counter 7 not above 9', systemTitle: '4752440000000001', counter: 7,
    }]);
    expect((await call('GET', '/api/v1/security-events')).json).toMatchObject({ items: [{ meterId: 'm2' }, { kind: 'tag-mismatch' }, { kind: 'replay' }] });
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    expect(metrics).toContain('gridhead_security_events_total{kind="replay"} 2');
  });

  it('pages newest first with the previous page\'s next as cursor, every event once, next null on the last page', async () => {
    // One kind each: a meter's events of one kind are stored within a budget per minute.
    for (const kind of ['tag-mismatch', 'bad-header', 'policy-violation', 'system-title-mismatch', 'replay'] as const) {
      events.record({ kind, detail: kind }, { meterId: 'm-paged', terminalId: 't1' });
    }
    const seen: number[] = [];
    let cursor: number | null | undefined;
    for (let pages = 0; pages < 10 && cursor !== null; pages++) {
      const res = await call('GET', `/api/v1/security-events?meter=m-paged&limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      expect(res.status).toBe(200);
      const page = res.json as { items: { id: number }[]; next: number | null };
      seen.push(...page.items.map((e) => e.id));
      cursor = page.next;
    }
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  it('answers 400 problem+json to an unknown kind, a bad time, a reversed range and a malformed cursor', async () => {
    for (const q of ['kind=nonsense', 'from=yesterday', 'from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', 'limit=0', 'cursor=abc', 'cursor=0']) {
      const res = await call('GET', `/api/v1/security-events?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.type).toContain('application/problem+json');
    }
  });

  it('logs each (meter, kind) at most once a minute', () => {
    const before = logLines.filter((l) => l.includes('DLMS security event')).length;
    for (let i = 0; i < 5; i++) events.record({ kind: 'hls-failed', detail: 'f(StoC) does not verify' }, { meterId: 'm3' });
    expect(logLines.filter((l) => l.includes('DLMS security event')).length - before).toBe(1);
  });
});

describe('logs', () => {
  it('carry no key and no password, at trace level, after all of the above', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join('\n');
    for (const s of SECRETS) expect(all).not.toContain(s);
  });
});
