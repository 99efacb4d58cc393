/**
 * Access control over real sockets on a whole head-end: every registered route × every
 * kind of caller proves the 401/403 matrix; then logins, sessions (REST and SSE), CSRF,
 * revocation, the audit of it all, and that no password or token leaks into replies or logs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_FILE } from '../../src/auth/bootstrap.js';
import { BootstrapTokenError } from '../../src/auth/errors.js';
import { ACCESS_LEVELS, ROLES, permits, type Access, type Role } from '../../src/auth/roles.js';
import { buildConfig } from '../../src/config/load.js';
import { startHeadEnd } from '../../src/main.js';
import { createLogger } from '../../src/observe/logger.js';
import { fetchApi } from '../helpers/api.js';
import { TEST_ADMIN_TOKEN, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const MASTER_KEY = randomBytes(32).toString('hex');
const ALICE_PASSWORD = 'alice-Secret-pw-4711';
const BOB_PASSWORD = 'bob-Secret-pw-0815';
const logLines: string[] = [];
/** Every reply body seen, except the one reply that hands out each new token. */
const replies: string[] = [];
const secrets: string[] = [ALICE_PASSWORD, BOB_PASSWORD, TEST_ADMIN_TOKEN];

let h: TestHeadEnd;
const tokens = new Map<Role, string>();

async function call(path: string, init: RequestInit & { token?: string | null } = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const { token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token ?? h.token}`);
  const res = await fetch(`${h.url}${path}`, { ...rest, headers });
  const text = await res.text();
  replies.push(text);
  return { status: res.status, text, headers: res.headers };
}

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function newToken(name: string, role: Role): Promise<{ id: number; token: string }> {
  const res = await fetchApi(h, '/api/v1/tokens', json({ name, role }));
  expect(res.status).toBe(201);
  const body = await res.json() as { id: number; token: string };
  secrets.push(body.token);
  return body;
}

beforeAll(async () => {
  h = await startTestHeadEnd({ mqtt: { embeddedBroker: { enabled: true, port: 0 } } }, {
    env: { GRIDHEAD_MASTER_KEY: MASTER_KEY },
    logger: createLogger('trace', { write: (s: string) => { logLines.push(s); } }),
  });
  for (const role of ROLES) tokens.set(role, (await newToken(`matrix-${role}`, role)).token);
});
afterAll(async () => { await h.stop(); });

describe('the role matrix', () => {
  it('answers every route for every caller as its declared access says', async () => {
    const listed = await call('/api/v1/auth/routes');
    expect(listed.status).toBe(200);
    const routes = (JSON.parse(listed.text) as { items: { method: string; url: string; access: string }[] }).items;
    // Every route the API registered is listed (onRoute), and only valid access levels exist.
    expect(routes.length).toBeGreaterThan(50);
    for (const r of routes) expect(ACCESS_LEVELS, `${r.method} ${r.url}`).toContain(r.access);
    const find = (method: string, url: string) => routes.find((r) => r.method === method && r.url === url)?.access;
    expect(find('GET', '/health')).toBe('public');
    expect(find('POST', '/api/v1/auth/login')).toBe('public');
    expect(find('GET', '/metrics')).toBe('viewer');
    expect(find('GET', '/api/v1/alarms/stream')).toBe('viewer');
    expect(find('POST', '/api/v1/alarms/:id/ack')).toBe('operator');
    expect(find('GET', '/api/v1/audit')).toBe('admin');
    expect(find('PUT', '/api/v1/meters/:id/keys')).toBe('admin');
    expect(find('POST', '/api/v1/users')).toBe('admin');
    // A purchase is loaded by the billing system or a dispatcher, not by a viewer.
    expect(find('POST', '/api/v1/load-control/programs/:id/purchases')).toBe('billing-or-operator');
    // The firmware download's token in the path is its capability (docs/mqtt-ota.md).
    const PUBLIC = ['/health', '/api/v1/auth/login', '/', '/assets/*', '/api/v1/firmware/ota/:token'];
    expect(routes.filter((r) => r.access === 'public').every((r) => PUBLIC.includes(r.url) || r.url.startsWith('/docs'))).toBe(true);

    const callers: { name: string; token: string | null; role?: Role }[] = [
      { name: 'no token', token: null },
      { name: 'bad token', token: `ght_${'x'.repeat(43)}` },
      ...ROLES.map((role) => ({ name: role, token: tokens.get(role) ?? '', role })),
    ];
    const wrong: string[] = [];
    for (const r of routes) {
      // Ids that exist nowhere: an allowed call reaches the handler and ends in 4xx/2xx without changing anything.
      const path = r.url.replace(/:[A-Za-z]+/g, '999999').replace('*', 'none');
      for (const c of callers) {
        const headers = new Headers(c.token === null ? {} : { authorization: `Bearer ${c.token}` });
        const res = await fetch(`${h.url}${path}`, { method: r.method, headers });
        // Fetch resolves at the headers: the SSE stream's body is never read, only cancelled.
        await res.body?.cancel();
        const expected = expectedStatus(r.access as Access, c.role);
        const ok = expected === 'allowed' ? res.status !== 401 && res.status !== 403 : res.status === expected;
        if (!ok) wrong.push(`${r.method} ${r.url} as ${c.name}: ${res.status}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

function expectedStatus(access: Access, role: Role | undefined): 401 | 403 | 'allowed' {
  if (access === 'public') return 'allowed';
  if (role === undefined) return 401;
  return permits(access, role) ? 'allowed' : 403;
}

describe('dashboard login and sessions', () => {
  let cookie = '';

  it('creates users without echoing their passwords, and logs one in with a strict HttpOnly cookie', async () => {
    const created = await call('/api/v1/users', { ...json({ name: 'alice', role: 'operator', password: ALICE_PASSWORD }) });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.text)).toMatchObject({ name: 'alice', role: 'operator', disabled: false });
    expect((await call('/api/v1/users', json({ name: 'bob', role: 'viewer', password: BOB_PASSWORD }))).status).toBe(201);
    const list = await call('/api/v1/users');
    expect(list.text).not.toContain('scrypt');

    const wrong = await call('/api/v1/auth/login', { ...json({ username: 'alice', password: 'not-her-password' }), token: null });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const unknown = await call('/api/v1/auth/login', { ...json({ username: 'nobody', password: 'not-her-password' }), token: null });
    expect(JSON.parse(unknown.text)).toMatchObject({ code: 'UNAUTHENTICATED', detail: (JSON.parse(wrong.text) as { detail: string }).detail });

    const login = await call('/api/v1/auth/login', { ...json({ username: 'alice', password: ALICE_PASSWORD }), token: null });
    expect(login.status).toBe(200);
    expect(JSON.parse(login.text)).toMatchObject({ name: 'alice', role: 'operator' });
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^gridhead_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    cookie = setCookie.split(';')[0] ?? '';
    secrets.push(cookie.split('=')[1] ?? '');
  });

  it('serves GET requests and the SSE stream to the session cookie', async () => {
    expect(JSON.parse((await call('/api/v1/auth/me', { headers: { cookie }, token: null })).text)).toEqual({ subject: 'user:alice', role: 'operator', via: 'session' });
    expect((await call('/api/v1/alarms', { headers: { cookie }, token: null })).status).toBe(200);
    const stream = await fetch(`${h.url}/api/v1/alarms/stream`, { headers: { cookie } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    await stream.body?.cancel();
    const anonymous = await fetch(`${h.url}/api/v1/alarms/stream`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
  });

  it('refuses a state-changing request by cookie without the CSRF header, and passes it with the header', async () => {
    const refused = await call('/api/v1/alarms/999999/ack', { method: 'POST', headers: { cookie }, token: null });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toMatchObject({ code: 'CSRF' });
    const passed = await call('/api/v1/alarms/999999/ack', { method: 'POST', headers: { cookie, 'x-gridhead-csrf': '1' }, token: null });
    expect(passed.status).toBe(404);
  });

  it('ends the session at logout', async () => {
    expect((await call('/api/v1/auth/logout', { method: 'POST', headers: { cookie, 'x-gridhead-csrf': '1' }, token: null })).status).toBe(204);
    expect((await call('/api/v1/alarms', { headers: { cookie }, token: null })).status).toBe(401);
  });

  it('throttles a user name after 5 failed logins with 429 and Retry-After, even for the right password', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call('/api/v1/auth/login', { ...json({ username: 'bob', password: `wrong-password-${i}` }), token: null })).status).toBe(401);
    }
    const throttled = await call('/api/v1/auth/login', { ...json({ username: 'bob', password: BOB_PASSWORD }), token: null });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.parse(throttled.text)).toMatchObject({ code: 'LOGIN_THROTTLED', status: 429 });
  });
});

describe('tokens, audit and secrecy', () => {
  it('refuses a revoked token on the very next request', async () => {
    const { id, token } = await newToken('short-lived', 'viewer');
    expect((await call('/api/v1/meters', { token })).status).toBe(200);
    expect((await call(`/api/v1/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    const after = await call('/api/v1/meters', { token });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('invalid_token');
    const listed = JSON.parse((await call('/api/v1/tokens')).text) as { items: { id: number; revokedAt: string | null; prefix: string }[] };
    expect(listed.items.find((t) => t.id === id)?.revokedAt).not.toBeNull();
  });

  it('audits logins, good and bad, and user and token changes, with who and from where', async () => {
    const logins = JSON.parse((await call('/api/v1/audit?action=auth.login&target=user:alice')).text) as { items: { actor: string; outcome: string; source: string; detail: Record<string, unknown> }[] };
    expect(logins.items).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor: 'user:alice', outcome: 'ok', source: '127.0.0.1' }),
      expect.objectContaining({ actor: 'anonymous', outcome: 'refused', detail: { reason: 'bad-password' } }),
    ]));
    const bob = JSON.parse((await call('/api/v1/audit?action=auth.login&target=user:bob')).text) as { items: { detail: { reason?: string } }[] };
    expect(bob.items.map((e) => e.detail.reason)).toContain('throttled');
    const users = JSON.parse((await call('/api/v1/audit?action=user.create')).text) as { items: { actor: string; target: string; outcome: string }[] };
    expect(users.items).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'token:bootstrap', target: 'user:alice', outcome: 'ok' })]));
    const revoked = JSON.parse((await call('/api/v1/audit?action=token.revoke')).text) as { items: { target: string; detail: { name?: string } }[] };
    expect(revoked.items[0]).toMatchObject({ detail: { name: 'short-lived' } });
    expect(revoked.items[0]?.target).toMatch(/^token:\d+$/);
    const refused = await call('/api/v1/users', { ...json({ name: 'eve', role: 'admin', password: 'eve-password-123' }), token: tokens.get('operator') ?? '' });
    expect(refused.status).toBe(403);
    // Refused before the body is read: the entry names who tried, not what they sent.
    const attempts = JSON.parse((await call('/api/v1/audit?action=user.create&actor=token:matrix-operator')).text) as { items: { outcome: string; detail: { status: number } }[] };
    expect(attempts.items[0]).toMatchObject({ outcome: 'refused', detail: { status: 403 } });
  });

  it('counts logins and refusals in /metrics', async () => {
    const metrics = (await call('/metrics', { token: tokens.get('viewer') ?? '' })).text;
    expect(metrics).toMatch(/gridhead_logins_total\{outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/gridhead_logins_total\{outcome="throttled"\} [1-9]/);
    for (const code of ['UNAUTHENTICATED', 'FORBIDDEN', 'CSRF']) expect(metrics).toMatch(new RegExp(`gridhead_api_refusals_total\\{code="${code}"\\} [1-9]`));
  });

  it('never shows a password, token or session id in a reply or a log line', () => {
    expect(logLines.length).toBeGreaterThan(100);
    const leaks = secrets.filter((s) => s.length > 0 && (replies.some((r) => r.includes(s)) || logLines.some((l) => l.includes(s))));
    expect(leaks).toEqual([]);
  });
});

describe('bootstrap at first start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-boot-'));
  afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });
  const config = buildConfig({ dataDir, http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, mqtt: { embeddedBroker: { enabled: true, port: 0 } } }, 'test');

  it('generates an admin token, logs it once, writes it mode 0600, and keeps it across a restart', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (s: string) => { lines.push(s); } });
    const first = await startHeadEnd(config, { logger, env: { GRIDHEAD_MASTER_KEY: MASTER_KEY } });
    const file = join(dataDir, BOOTSTRAP_FILE);
    let token = '';
    try {
      token = readFileSync(file, 'utf8').trim();
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(lines.filter((l) => l.includes(token))).toHaveLength(1);
      expect(JSON.parse(lines.find((l) => l.includes(token)) ?? '{}')).toMatchObject({ level: 40 });
      expect((await fetchApi({ url: first.url, token }, '/api/v1/users')).status).toBe(200);
    } finally {
      await first.close();
    }
    const again = await startHeadEnd(config, { logger, env: { GRIDHEAD_MASTER_KEY: MASTER_KEY } });
    try {
      expect(readFileSync(file, 'utf8').trim()).toBe(token);
      expect(lines.filter((l) => l.includes('no admin exists'))).toHaveLength(1);
      expect((await fetchApi({ url: again.url, token }, '/api/v1/auth/me').then((r) => r.json()))).toMatchObject({ subject: 'token:bootstrap', role: 'admin' });
    } finally {
      await again.close();
    }
  });

  it('refuses to start with a GRIDHEAD_BOOTSTRAP_TOKEN shorter than 32 characters', async () => {
    const other = mkdtempSync(join(tmpdir(), 'gridhead-boot-'));
    try {
      await expect(startHeadEnd({ ...config, dataDir: other }, { logger: createLogger('silent'), env: { GRIDHEAD_MASTER_KEY: MASTER_KEY, GRIDHEAD_BOOTSTRAP_TOKEN: 'short' } }))
        .rejects.toBeInstanceOf(BootstrapTokenError);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
