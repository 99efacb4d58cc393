/**
 * Input the API must refuse, as problem+json like every other error: impossible dates,
 * query parameters a route does not take, and URLs past the router's limits.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

let he: TestHeadEnd;
beforeAll(async () => {
  he = await startTestHeadEnd({}, { env: { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') } });
}, 30_000);
afterAll(async () => { await he.stop(); });

describe('API input validation', () => {
  it('refuses a date that does not exist with a typed 400, as billing does', async () => {
    for (const path of ['/api/v1/stats/collection?date=2026-02-30', '/api/v1/billing/daily?date=2026-02-30']) {
      const res = await he.get(path);
      expect([path, res.status, res.type]).toEqual([path, 400, 'application/problem+json; charset=utf-8']);
      expect(res.body).toMatchObject({ code: 'VALIDATION', status: 400 });
    }
    expect((await he.get('/api/v1/stats/collection?date=2024-02-29')).status).toBe(200);
  });

  it('refuses a limit below 1 on every list, and query parameters a route does not take', async () => {
    for (const path of ['/api/v1/tokens?limit=-1', '/api/v1/users?limit=0', '/api/v1/meters?limit=0', '/api/v1/alarms?limit=-1', '/api/v1/audit?limit=0', '/api/v1/events?limit=0', '/api/v1/commands?limit=0', '/api/v1/security-events?limit=0']) {
      const res = await he.get(path);
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.body).toMatchObject({ code: 'VALIDATION' });
    }
    expect((await he.get('/api/v1/tokens')).status).toBe(200);
  });

  it('answers a too-long path segment with a 414 problem+json', async () => {
    const res = await he.get(`/api/v1/meters/${'x'.repeat(500)}`);
    expect(res.status).toBe(414);
    expect(res.type).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toMatchObject({ code: 'URI_TOO_LONG', status: 414, title: 'URI Too Long' });
  });
});
