/**
 * Login limits over HTTP on a whole head-end: failures from one address slow it down without
 * locking out the right password of an account that is not itself limited; a user name is
 * still locked after its own failures; X-Forwarded-For counts only from a trusted proxy;
 * refused logins reach the station log, one line per address a minute.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const PASSWORD = 'olga-password-correct-1';
const LOGIN = { maxFailuresPerUser: 5, maxFailuresPerAddress: 20, windowMs: 15 * 60_000, maxKeys: 1_000, addressSlowdownMs: 50 };

interface LogLine { msg: string; address?: string; user?: string; suppressed?: number }

async function started(trustProxy: boolean | string[]): Promise<{ he: TestHeadEnd; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const logger = createLogger('info', { write: (s: string) => { lines.push(JSON.parse(s) as LogLine); } });
  const he = await startTestHeadEnd({ http: { trustProxy }, auth: { login: LOGIN } }, { logger, env: { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') } });
  expect((await he.send('POST', '/api/v1/users', { name: 'olga', role: 'viewer', password: PASSWORD })).status).toBe(201);
  expect((await he.send('POST', '/api/v1/users', { name: 'pat', role: 'viewer', password: PASSWORD })).status).toBe(201);
  return { he, lines };
}

function login(he: TestHeadEnd, username: string, password: string, forwardedFor?: string): Promise<Response> {
  return fetch(`${he.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) },
    body: JSON.stringify({ username, password }),
  });
}

const refusals = (lines: readonly LogLine[]) => lines.filter((l) => l.msg === 'login refused');

describe('login limits, no proxy trusted (the default)', () => {
  let he: TestHeadEnd;
  let lines: LogLine[];
  beforeAll(async () => { ({ he, lines } = await started(false)); }, 30_000);
  afterAll(async () => { await he.stop(); });

  it('lets another user in with the right password after 20 failures from the same address under other names', async () => {
    for (let i = 0; i < 25; i++) expect((await login(he, `someone-${i}-${Math.random().toString(36).slice(2)}`, 'wrong-password')).status).toBe(401);
    const res = await login(he, 'olga', PASSWORD);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'olga' });
  });

  it('still locks a user name after its own failures, even with the right password', async () => {
    for (let i = 0; i < 5; i++) expect((await login(he, 'pat', `wrong-password-${i}`)).status).toBe(401);
    const res = await login(he, 'pat', PASSWORD);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).not.toBeNull();
  });

  it('logs refused logins once per address, ignoring an X-Forwarded-For from an untrusted peer', async () => {
    expect((await login(he, 'olga', 'wrong-password', '203.0.113.7')).status).toBe(401);
    const logged = refusals(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ address: '127.0.0.1', reason: 'unknown-user' });
  });
});

describe('login limits behind a trusted proxy', () => {
  let he: TestHeadEnd;
  let lines: LogLine[];
  beforeAll(async () => { ({ he, lines } = await started(['127.0.0.1'])); }, 30_000);
  afterAll(async () => { await he.stop(); });

  it('counts and logs failures under the forwarded client address, so one client does not slow the others', async () => {
    for (let i = 0; i < 3; i++) expect((await login(he, 'olga', 'wrong-password', `203.0.113.${i + 1}`)).status).toBe(401);
    expect(refusals(lines).map((l) => l.address)).toEqual(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  });
});
