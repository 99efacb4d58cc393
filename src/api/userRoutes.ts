/**
 * Admin management of dashboard users and API tokens. A new token is in the reply to its
 * creation and nowhere else; listings show only its prefix. Every change is audited
 * (AUDITED_ROUTES in auditRoutes.ts), refused attempts included, without secrets.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import { ROLES } from '../auth/roles.js';
import type { AuthService, TokenView, UserView } from '../auth/service.js';
import { OneOf } from '../config/schema.js';
import { ValidationError } from '../domain/errors.js';
import { actorOf } from './actor.js';
import { noteAudit, setAuditTarget } from './auditRoutes.js';
import { problemResponses } from './problem.js';
import { Nullable } from './schemas.js';

export interface UserRoutesOptions {
  readonly auth: Pick<AuthService, 'listUsers' | 'createUser' | 'updateUser' | 'deleteUser' | 'listTokens' | 'createToken' | 'revokeToken'>;
}

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]*$' });
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH });
const Role = OneOf(ROLES);
const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

const UserOut = Type.Object({
  name: Type.String(), role: Type.String(), disabled: Type.Boolean(), createdAt: Type.String(), updatedAt: Type.String(), lastLoginAt: Nullable(Type.String()),
});
const TokenOut = Type.Object({
  id: Type.Integer(), name: Type.String(), role: Type.String(), prefix: Type.String({ description: 'The token\'s first characters, to recognise it.' }),
  createdAt: Type.String(), createdBy: Type.String(), lastUsedAt: Nullable(Type.String()), expiresAt: Nullable(Type.String()), revokedAt: Nullable(Type.String()),
});
const NewToken = Type.Intersect([TokenOut, Type.Object({ token: Type.String({ description: 'The token itself: shown once, store it now.' }) })]);
const NameParam = Type.Object({ name: Name }, { additionalProperties: false });
const TokenIdParam = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
const admin = { access: 'admin' } as const;
const refusals = { 401: Type.Ref('Problem'), 403: Type.Ref('Problem'), ...problemResponses } as const;

export const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, { auth }) => {
  const tags = ['access'];
  app.get('/users', { config: admin, schema: { summary: 'Lists the dashboard users (never their passwords).', tags, response: { 200: Type.Object({ items: Type.Array(UserOut) }), ...refusals } } },
    async () => ({ items: (await auth.listUsers()).map(userOut) }));

  app.post('/users', {
    config: admin,
    schema: { summary: 'Creates a dashboard user with a role and a password (scrypt-hashed).', tags, body: Type.Object({ name: Name, role: Role, password: Password }, { additionalProperties: false }), response: { 201: UserOut, ...refusals } },
  }, async (req, reply) => {
    setAuditTarget(req, `user:${req.body.name}`);
    noteAudit(req, { role: req.body.role });
    return reply.code(201).send(userOut(await auth.createUser(req.body)));
  });

  app.put('/users/:name', {
    config: admin,
    schema: {
      tags, description: 'Changes the role, resets the password or disables the user; a new password or disabling ends the user\'s sessions.',
      params: NameParam,
      body: Type.Object({ role: Type.Optional(Role), password: Type.Optional(Password), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: UserOut, ...refusals },
    },
  }, async (req) => {
    const b = req.body;
    // Which fields changed, never the password itself.
    noteAudit(req, { ...(b.role === undefined ? {} : { role: b.role }), ...(b.disabled === undefined ? {} : { disabled: b.disabled }), passwordReset: b.password !== undefined });
    return userOut(await auth.updateUser(req.params.name, b));
  });

  app.delete('/users/:name', { config: admin, schema: { summary: 'Deletes a user and ends their sessions; the last admin cannot be removed.', tags, params: NameParam, response: { 204: Type.Null(), ...refusals } } }, async (req, reply) => {
    await auth.deleteUser(req.params.name);
    return reply.code(204).send(null);
  });

  app.get('/tokens', { config: admin, schema: { tags, description: 'API tokens, revoked ones included; never the token itself.', response: { 200: Type.Object({ items: Type.Array(TokenOut) }), ...refusals } } },
    async () => ({ items: (await auth.listTokens()).map(tokenOut) }));

  app.post('/tokens', {
    config: admin,
    schema: {
      tags, description: 'Creates an API token for scripts, billing systems or Prometheus. The reply carries the token once.',
      body: Type.Object({ name: Name, role: Role, expiresAt: Type.Optional(Timestamp) }, { additionalProperties: false }),
      response: { 201: NewToken, ...refusals },
    },
  }, async (req, reply) => {
    const b = req.body;
    const expiresAt = b.expiresAt === undefined ? undefined : Date.parse(b.expiresAt);
    if (expiresAt !== undefined && Number.isNaN(expiresAt)) throw new ValidationError('expiresAt is not a date', 'expiresAt');
    noteAudit(req, { name: b.name, role: b.role, ...(b.expiresAt === undefined ? {} : { expiresAt: b.expiresAt }) });
    const { token, view } = await auth.createToken({ name: b.name, role: b.role, ...(expiresAt === undefined ? {} : { expiresAt }) }, actorOf(req));
    setAuditTarget(req, `token:${view.id}`);
    return reply.code(201).send({ ...tokenOut(view), token });
  });

  app.delete('/tokens/:id', {
    config: admin,
    schema: { tags, description: 'Revokes the token; the next request with it gets 401.', params: TokenIdParam, response: { 204: Type.Null(), ...refusals } },
  }, async (req, reply) => {
    setAuditTarget(req, `token:${req.params.id}`);
    const view = await auth.revokeToken(req.params.id);
    noteAudit(req, { name: view.name, role: view.role });
    return reply.code(204).send(null);
  });
  await Promise.resolve();
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function userOut(u: UserView) {
  return { name: u.name, role: u.role, disabled: u.disabled, createdAt: new Date(u.createdAt).toISOString(), updatedAt: new Date(u.updatedAt).toISOString(), lastLoginAt: iso(u.lastLoginAt) };
}

function tokenOut(t: TokenView) {
  return {
    id: t.id, name: t.name, role: t.role, prefix: t.prefix, createdAt: new Date(t.createdAt).toISOString(), createdBy: t.createdBy,
    lastUsedAt: iso(t.lastUsedAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt),
  };
}
