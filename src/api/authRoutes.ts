/**
 * Logging in and out of the dashboard, and who am I. A login sets the session cookie
 * (HttpOnly, SameSite=Strict, Secure over HTTPS); every login attempt, good or bad, is
 * audited with its source address and never with the password; refused ones are also logged
 * (throttled per address).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { LoginThrottledError, UnauthenticatedError } from '../auth/errors.js';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.js';
import type { AuthService } from '../auth/service.js';
import type { AuditLog } from '../control/audit.js';
import { LogThrottle } from '../observe/logger.js';
import { ANONYMOUS } from './actor.js';
import { SESSION_COOKIE, sessionIdOf, type RouteAccess } from './access.js';
import { setAuditTarget } from './auditRoutes.js';
import { LoginOut, MeOut } from './authSchemas.js';

export interface AuthRoutesOptions {
  readonly auth: Pick<AuthService, 'login' | 'logout'>;
  /** Absolute session lifetime, for the cookie's Max-Age. */
  readonly sessionMaxMs: number;
  /** Every route with its declared access (GET /auth/routes). */
  readonly routes: readonly RouteAccess[];
  readonly audit?: AuditLog;
  /** An audit entry could not be written: the caller counts and logs it. */
  readonly onAuditError?: (err: unknown) => void;
}

const UserName = Type.String({ minLength: 1, maxLength: 64 });
const tags = ['access'];
const REFUSED_LOGIN_LOG_INTERVAL_MS = 60_000;
const refusals = { 401: Type.Ref('Problem'), 403: Type.Ref('Problem') } as const;

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, options) => {
  const { auth, routes, audit } = options;
  // Refused logins also reach the station log, where an operator watches: one line per
  // address a minute, with the count held back, so a spray cannot flood it.
  const refusedLog = new LogThrottle(REFUSED_LOGIN_LOG_INTERVAL_MS);
  const record = async (req: FastifyRequest, actor: string, username: string, outcome: 'ok' | 'refused', detail: Record<string, unknown>): Promise<void> => {
    try {
      await audit?.append({ actor, source: req.ip, action: 'auth.login', target: `user:${username}`, outcome, detail });
    } catch (err) {
      options.onAuditError?.(err);
    }
    if (outcome !== 'refused') return;
    const suppressed = refusedLog.pass(req.ip);
    if (suppressed >= 0) req.log.warn({ address: req.ip, user: username, ...detail, suppressed }, 'login refused');
  };

  app.post('/auth/login', {
    config: { access: 'public' },
    schema: {
      tags,
      description: 'Dashboard login. Sets the session cookie and answers the user\'s role. Failed attempts are limited per user name (429 with Retry-After); past the limit per address, logins from it are slowed to one at a time (429 meanwhile).',
      body: Type.Object({ username: UserName, password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }) }, { additionalProperties: false }),
      response: { 200: LoginOut, 400: Type.Ref('Problem'), 401: Type.Ref('Problem'), 429: Type.Ref('Problem') },
    },
  }, async (req, reply) => {
    const { username, password } = req.body;
    const result = await auth.login(username, password, req.ip).catch(async (err: unknown) => {
      if (err instanceof LoginThrottledError) {
        await record(req, ANONYMOUS, username, 'refused', { reason: 'throttled', retryAfterMs: err.retryAfterMs });
        void reply.header('retry-after', String(Math.ceil(err.retryAfterMs / 1000)));
      }
      throw err;
    });
    if (!result.ok) {
      await record(req, ANONYMOUS, username, 'refused', { reason: result.reason });
      // One answer for every reason, so it does not tell which user names exist.
      throw new UnauthenticatedError('user name or password is wrong');
    }
    await record(req, `user:${result.user.name}`, username, 'ok', { role: result.user.role });
    setSessionCookie(req, reply, result.sessionId, options.sessionMaxMs);
    return { name: result.user.name, role: result.user.role, expiresAt: new Date(result.expiresAt).toISOString() };
  });

  app.post('/auth/logout', {
    config: { access: 'authenticated' },
    schema: { tags, description: 'Ends the session of the cookie (nothing to end for a bearer token).', response: { 204: Type.Null(), ...refusals } },
  }, async (req, reply) => {
    if (req.principal !== null) setAuditTarget(req, req.principal.subject);
    const sessionId = sessionIdOf(req);
    if (req.principal?.via === 'session' && sessionId !== undefined) await auth.logout(sessionId);
    setSessionCookie(req, reply, '', 0);
    return reply.code(204).send(null);
  });

  app.get('/auth/me', {
    config: { access: 'authenticated' },
    schema: { tags, description: 'Who the credentials of this request belong to.', response: { 200: MeOut, ...refusals } },
  }, (req) => {
    const p = req.principal;
    if (p === null) throw new UnauthenticatedError('no principal');
    return { subject: p.subject, role: p.role, via: p.via };
  });

  app.get('/auth/routes', {
    config: { access: 'admin' },
    schema: {
      tags, description: 'Every route of the API with the access it declares: the role matrix, as enforced.',
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ method: Type.String(), url: Type.String(), access: Type.String() })) }), ...refusals },
    },
  }, () => ({ items: routes.filter((r) => r.method !== 'HEAD') }));
  await Promise.resolve();
};

function setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeMs: number): void {
  const attributes = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(maxAgeMs / 1000)}`];
  // Browsers drop Secure cookies on plain HTTP, and the one-machine demo serves plain HTTP on 127.0.0.1.
  if (req.protocol === 'https') attributes.push('Secure');
  void reply.header('set-cookie', attributes.join('; '));
}
