/**
 * Access control on every route. Each route declares `config: { access }`; an
 * onRoute hook refuses, at start-up, any route that does not (fail closed), and an
 * onRequest hook enforces the declaration:
 *
 * - credentials: `Authorization: Bearer <API token>`, else the dashboard's session cookie
 *   (EventSource cannot set headers, so the SSE stream works with the cookie too);
 * - none or bad → 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3); wrong role → 403;
 * - CSRF: a state-changing request authenticated by the cookie must carry
 *   `X-Gridhead-CSRF: 1`. A cross-site page cannot add a custom header without a CORS
 *   preflight, which this server never grants; SameSite=Strict on the cookie is the
 *   second line. Bearer-token requests need no such header (a browser never adds them).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CsrfError, ForbiddenError, UnauthenticatedError, UnprotectedRouteError } from '../auth/errors.js';
import { isAccess, permits, type Access, type Principal } from '../auth/roles.js';
import type { AuthService } from '../auth/service.js';
import './actor.js';

export const SESSION_COOKIE = 'gridhead_session';
export const CSRF_HEADER = 'x-gridhead-csrf';

export interface RouteAccess {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
}

export interface AccessControlOptions {
  readonly auth: Pick<AuthService, 'authenticateToken' | 'authenticateSession' | 'noteRefusal'>;
  /** Routes that plugins we do not write register (Swagger UI): URL prefixes treated as public. */
  readonly publicPrefixes?: readonly string[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Installs the hooks on `app`; call it before any route is registered. Returns the list of
 * routes with their access, filled as routes are registered.
 */
export function installAccessControl(app: FastifyInstance, { auth, publicPrefixes = [] }: AccessControlOptions): readonly RouteAccess[] {
  const routes: RouteAccess[] = [];
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let access: unknown = route.config?.access;
    if (access === undefined && publicPrefixes.some((p) => route.url.startsWith(p))) {
      access = 'public';
      route.config = { ...route.config, access: 'public' };
    }
    if (!isAccess(access)) throw new UnprotectedRouteError(methods.join(','), route.url, access);
    for (const method of methods) routes.push({ method, url: route.url, access });
  });
  app.addHook('onRequest', async (req, reply) => {
    // Unknown URLs have no route config and go on to the 404 handler.
    const access = req.routeOptions.config.access;
    if (access === undefined || access === 'public') return;
    const principal = await identify(req, auth);
    if (principal === 'bad-token' || principal === undefined) {
      auth.noteRefusal('UNAUTHENTICATED');
      reply.header('www-authenticate', principal === 'bad-token' ? 'Bearer realm="gridhead", error="invalid_token"' : 'Bearer realm="gridhead"');
      throw new UnauthenticatedError(principal === 'bad-token' ? 'the bearer token is unknown, expired or revoked' : 'credentials required: a bearer token or a session');
    }
    // Set before the checks below, so a refused attempt is audited with who made it.
    req.principal = principal;
    if (principal.via === 'session' && !SAFE_METHODS.has(req.method) && req.headers[CSRF_HEADER] !== '1') {
      auth.noteRefusal('CSRF');
      throw new CsrfError('a request authenticated by the session cookie must carry the header X-Gridhead-CSRF: 1');
    }
    if (!permits(access, principal.role)) {
      auth.noteRefusal('FORBIDDEN');
      throw new ForbiddenError(`role ${principal.role} may not ${req.method} ${req.routeOptions.url ?? ''} (it needs ${access})`);
    }
  });
  return routes;
}

/** The session id from the Cookie header, if any. */
export function sessionIdOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function identify(req: FastifyRequest, auth: AccessControlOptions['auth']): Promise<Principal | 'bad-token' | undefined> {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    // RFC 6750 §2.1: the scheme is case-insensitive. A present but bad header never falls back to the cookie.
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
    return (match?.[1] === undefined ? undefined : await auth.authenticateToken(match[1])) ?? 'bad-token';
  }
  const sessionId = sessionIdOf(req);
  return sessionId === undefined ? undefined : auth.authenticateSession(sessionId);
}
