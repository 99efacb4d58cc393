import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, installSecurityHeaders } from '../../../src/api/securityHeaders.js';
import { webRoutes } from '../../../src/api/webRoutes.js';

const apps: FastifyInstance[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function serve(files: Record<string, string>): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'gridhead-webroot-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  const app = Fastify();
  apps.push(app);
  installSecurityHeaders(app);
  await webRoutes(app, { root });
  return app.listen({ host: '127.0.0.1', port: 0 });
}

describe('dashboard static routes', () => {
  it('serves index.html at / to be revalidated, and hashed assets to be cached for a year', async () => {
    const url = await serve({ 'index.html': '<!doctype html><title>gridhead</title>', 'assets/index-abc.js': 'console.log(1)' });
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('<title>gridhead</title>');
    const asset = await fetch(`${url}/assets/index-abc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('sends a same-origin content security policy, no framing, nosniff and no referrer on pages, assets and errors', async () => {
    const url = await serve({ 'index.html': '<!doctype html><title>gridhead</title>', 'assets/index-abc.js': 'console.log(1)' });
    for (const path of ['/', '/assets/index-abc.js', '/assets/missing.js']) {
      const res = await fetch(`${url}${path}`);
      expect(res.headers.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
    const csp = CONTENT_SECURITY_POLICY.split('; ');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp.join(' ')).not.toContain('unsafe');
  });

  it('answers 404 for a missing asset and never serves a file outside the root', async () => {
    const url = await serve({ 'index.html': 'x', 'secret.txt': 'no' });
    expect((await fetch(`${url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${url}/assets/..%2fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${url}/assets/..%2f..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect((await fetch(`${url}/secret.txt`)).status).toBe(404);
  });

  it('explains with 503 that the dashboard is not built when index.html is missing', async () => {
    const url = await serve({});
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
  });
});
