import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { UnprotectedRouteError } from '../../../src/auth/errors.js';
import type { Principal } from '../../../src/auth/roles.js';
import { installAccessControl } from '../../../src/api/access.js';
import { installProblemHandlers } from '../../../src/api/problem.js';

const auth = {
  authenticateToken: (t: string): Promise<Principal | undefined> => Promise.resolve(t === 'v'.repeat(40) ? { subject: 'token:v', role: 'viewer', via: 'token' } : undefined),
  authenticateSession: (): Promise<Principal | undefined> => Promise.resolve(undefined),
  noteRefusal: (): void => undefined,
};

describe('route access declarations', () => {
  it('refuses to start with a route that declares no access, naming the route', async () => {
    const app = Fastify();
    installAccessControl(app, { auth });
    let caught: unknown;
    try {
      app.get('/open', () => 'x');
      await app.ready();
    } catch (err) {
      caught = err;
    } finally {
      await app.close();
    }
    expect(caught).toBeInstanceOf(UnprotectedRouteError);
    expect((caught as Error).message).toContain('GET /open');
  });

  it('refuses an access level that does not exist', async () => {
    const app = Fastify();
    installAccessControl(app, { auth });
    expect(() => app.get('/typo', { config: { access: 'viewr' as 'viewer' } }, () => 'x')).toThrow(UnprotectedRouteError);
    await app.close();
  });

  it('treats routes under a public prefix as public and lists every route with its access', async () => {
    const app = Fastify();
    installProblemHandlers(app);
    const routes = installAccessControl(app, { auth, publicPrefixes: ['/docs'] });
    app.get('/docs/json', () => 'spec');
    app.get('/secret', { config: { access: 'admin' } }, () => 'secret');
    await app.ready();
    expect(routes.filter((r) => r.method === 'GET')).toEqual([
      { method: 'GET', url: '/docs/json', access: 'public' },
      { method: 'GET', url: '/secret', access: 'admin' },
    ]);
    expect((await app.inject({ url: '/docs/json' })).statusCode).toBe(200);
    const anonymous = await app.inject({ url: '/secret' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    const viewer = await app.inject({ url: '/secret', headers: { authorization: `Bearer ${'v'.repeat(40)}` } });
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json()).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    await app.close();
  });
});
