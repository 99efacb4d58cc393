/**
 * Browser security headers on every response (the dashboard, the API, /docs): the page may
 * load scripts, styles, images and connections only from its own origin, may not be framed,
 * and does not leak its URLs in a Referer. The dashboard bundle has no inline script or
 * `<style>` element (Vite writes both to files), so the policy needs no 'unsafe-inline'.
 */
import type { FastifyInstance } from 'fastify';

/** `data:` images: the dashboard's empty favicon and Swagger UI's icons. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
};

/** Adds the headers to every response of `app` (call on the root instance, before routes). */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
    return Promise.resolve(payload);
  });
}
