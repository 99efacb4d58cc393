/**
 * The operators' dashboard (src/web, built by Vite into `http.webRoot`) served from the API's
 * port. Only the bundle is public; every /api route keeps its own access. The dashboard
 * routes with `#/…` fragments, so the server needs no history fallback.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface WebRoutesOptions {
  /** Folder holding index.html and assets/ (Vite's output). */
  readonly root: string;
}

/** Hashed asset names never change content, so browsers may keep them for a year. */
const ASSET_MAX_AGE_MS = 365 * 86_400_000;
const ASSET_PATH = /^[\w.-]+(?:\/[\w.-]+)*$/;

export async function webRoutes(app: FastifyInstance, options: WebRoutesOptions): Promise<void> {
  const root = resolve(options.root);
  const built = existsSync(join(root, 'index.html'));
  // serve: false: we declare the routes ourselves, so each one states its access (src/api/access.ts).
  await app.register(fastifyStatic, { root, serve: false, index: false, dotfiles: 'deny' });

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => {
    if (!built) {
      return reply.code(503).type('text/plain; charset=utf-8')
        .send(`gridhead: the dashboard is not built (no index.html in ${root}); run \`npm run build\`.\n`);
    }
    // index.html names the hashed bundles: always revalidate it so a new build is picked up.
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  });

  app.get('/assets/*', { config: { access: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    // Only plain names below assets/: a decoded `..` or an absolute path is refused, not resolved.
    if (!ASSET_PATH.test(rest) || rest.split('/').includes('..')) {
      reply.callNotFound();
      return reply;
    }
    return reply.sendFile(join('assets', rest), { maxAge: ASSET_MAX_AGE_MS, immutable: true });
  });
}
