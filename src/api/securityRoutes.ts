/**
 * DLMS keys (per meter and per key group) and security events.
 *
 * Keys go in as hex and never come out: GET answers only which keys are set, their
 * generation and when they changed. Every change is audited (AUDITED_ROUTES in
 * auditRoutes.ts) with the names of the keys changed as detail, never their values.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { NotFoundError } from '../domain/errors.js';
import type { Registry } from '../registry/registry.js';
import type { KeyInput, KeyScope, KeySetStatus, KeyStore } from '../security/keyStore.js';
import { SECURITY_EVENT_KINDS, type SecurityEventLog } from '../security/securityEvents.js';
import { noteAudit, timeRange } from './auditRoutes.js';
import { problemResponses } from './problem.js';
import { IdParam } from './schemas.js';

export interface SecurityRoutesOptions {
  readonly registry: Registry;
  readonly keys: KeyStore;
  readonly events: SecurityEventLog;
}

const Key128 = Type.String({ pattern: '^[0-9A-Fa-f]{32}$', description: '16 octets as 32 hex digits (security suite 0, AES-128)' });
const KeysBody = Type.Object({
  ek: Type.Optional(Key128),
  ak: Type.Optional(Key128),
  bk: Type.Optional(Key128),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Low-level security password' })),
}, { additionalProperties: false, minProperties: 1, description: 'Keys given replace the stored ones; keys left out are kept.' });

const KeysStatusOut = Type.Object({
  ekSet: Type.Boolean(), akSet: Type.Boolean(), bkSet: Type.Boolean(), passwordSet: Type.Boolean(),
  generation: Type.Integer({ description: 'Grows with every change of EK, AK or BK; the invocation counters restart with it. 0: no key set.' }),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
});
const GroupParam = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export const securityRoutes: FastifyPluginAsyncTypebox<SecurityRoutesOptions> = async (app, { registry, keys, events }) => {
  const keyRoutes = (path: string, params: typeof IdParam | typeof GroupParam, scopeOf: (p: Record<string, string>) => KeyScope) => {
    const tags = ['security'];
    app.get(path, { config: { access: 'admin' }, schema: { tags, params, summary: 'Which DLMS keys are set (never the keys themselves).', response: { 200: KeysStatusOut, ...problemResponses } } }, async (req) => view(await keys.status(scopeOf(req.params as Record<string, string>))));
    app.put(path, { config: { access: 'admin' }, schema: { tags, params, summary: 'Sets DLMS keys (EK, AK, BK as 32 hex digits) and the LLS password; sealed under the master key, audited.', body: KeysBody, response: { 200: KeysStatusOut, ...problemResponses } } }, async (req) => {
      const b = req.body;
      const input: KeyInput = {
        ...(b.ek === undefined ? {} : { ek: Buffer.from(b.ek, 'hex') }),
        ...(b.ak === undefined ? {} : { ak: Buffer.from(b.ak, 'hex') }),
        ...(b.bk === undefined ? {} : { bk: Buffer.from(b.bk, 'hex') }),
        ...(b.password === undefined ? {} : { password: b.password }),
      };
      noteAudit(req, { keys: Object.keys(input) });
      const status = await keys.set(scopeOf(req.params), input);
      noteAudit(req, { generation: status.generation });
      return view(status);
    });
    app.delete(path, { config: { access: 'admin' }, schema: { tags, params, summary: 'Removes the DLMS key set; audited.', response: { 204: Type.Null(), ...problemResponses } } }, async (req, reply) => {
      const scope = scopeOf(req.params);
      if (!(await keys.delete(scope))) throw new NotFoundError('key set', scope.kind === 'meter' ? scope.id : scope.name);
      return reply.code(204).send(null);
    });
  };
  keyRoutes('/meters/:id/keys', IdParam, (p) => ({ kind: 'meter', id: registry.getMeter(p.id ?? '').id }));
  keyRoutes('/key-groups/:name/keys', GroupParam, (p) => ({ kind: 'group', name: p.name ?? '' }));

  app.get('/security-events', {
    config: { access: 'admin' },
    schema: {
      tags: ['security'],
      description: 'DLMS security events, newest first: wrong key (tag mismatch), wrong system title, replayed counter, failed HLS, … Page with `cursor` = the previous page\'s `next`.',
      querystring: Type.Object({
        meter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        kind: Type.Optional(Type.Unsafe<(typeof SECURITY_EVENT_KINDS)[number]>({ type: 'string', enum: [...SECURITY_EVENT_KINDS] })),
        from: Type.Optional(Type.String({ format: 'date-time' })),
        to: Type.Optional(Type.String({ format: 'date-time' })),
        cursor: Type.Optional(Type.Integer({ minimum: 1 })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({
            id: Type.Integer(), ts: Type.String(), meterId: Type.Union([Type.String(), Type.Null()]), terminalId: Type.Union([Type.String(), Type.Null()]),
            kind: Type.String(), detail: Type.String(), systemTitle: Type.Union([Type.String(), Type.Null()]), counter: Type.Union([Type.Integer(), Type.Null()]),
          })),
          next: Type.Union([Type.Integer(), Type.Null()]),
        }),
        ...problemResponses,
      },
    },
  }, async (req) => {
    const q = req.query;
    // One more than asked tells whether another page exists.
    const rows = await events.query({
      ...timeRange(q.from, q.to),
      ...(q.meter === undefined ? {} : { meterId: q.meter }),
      ...(q.kind === undefined ? {} : { kind: q.kind }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      limit: q.limit + 1,
    });
    const items = rows.slice(0, q.limit);
    const last = items.at(-1);
    return { items: items.map((e) => ({ ...e, ts: new Date(e.ts).toISOString() })), next: rows.length > q.limit && last !== undefined ? last.id : null };
  });
  await Promise.resolve();
};

function view(s: KeySetStatus | undefined) {
  if (s === undefined) return { ekSet: false, akSet: false, bkSet: false, passwordSet: false, generation: 0, updatedAt: null };
  return { ...s, updatedAt: new Date(s.updatedAt).toISOString() };
}
