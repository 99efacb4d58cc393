/** POST /meters/:id/read: read a meter now (src/live/meterRead.ts). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static } from 'typebox';
import type { MeterReader, MeterReadRequest } from '../live/meterRead.js';
import { QuantityName } from '../config/schema.js';
import { ValidationError } from '../domain/errors.js';
import { MeterReadOut } from './meterReadSchemas.js';
import { problemResponses } from './problem.js';
import { IdParam } from './schemas.js';

const Obis = Type.String({ pattern: '^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$', description: 'OBIS code A.B.C.D.E.F' });
const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

const ReadBody = Type.Object({
  quantities: Type.Optional(Type.Array(QuantityName, { minItems: 1, maxItems: 64 })),
  obis: Type.Optional(Obis),
  attribute: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
  classId: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  profile: Type.Optional(Type.Union([Type.Literal('load'), Type.Literal('daily'), Type.Literal('billing')])),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
}, { additionalProperties: false, description: 'Exactly one of: `quantities`; `obis` with `attribute` (DLMS); `profile` with `from` and `to`.' });

/** The longest profile range one request may ask for. */
export const MAX_PROFILE_RANGE_MS = 31 * 86_400_000;

export const meterReadRoutes: FastifyPluginAsyncTypebox<{ readonly reader: Pick<MeterReader, 'read'> }> = async (app, { reader }) => {
  app.post('/meters/:id/read', {
    config: { access: 'operator' },
    schema: {
      tags: ['readings'],
      description: 'Reads the meter now, queued behind the request in flight on its terminal. Values also enter the pipeline as polled readings. 504 when the meter does not answer in time.',
      params: IdParam,
      body: ReadBody,
      response: { 200: MeterReadOut, ...problemResponses, 409: Type.Ref('Problem'), 502: Type.Ref('Problem'), 503: Type.Ref('Problem'), 504: Type.Ref('Problem') },
    },
  }, async (req) => {
    const result = await reader.read(req.params.id, toRequest(req.body));
    return {
      meterId: result.meterId,
      values: result.values.map((v) => ({ quantity: v.quantity, value: v.value, unit: v.unit, ts: new Date(v.ts).toISOString(), quality: v.quality })),
      failures: [...result.failures],
      durationMs: result.durationMs,
    };
  });
  await Promise.resolve();
};

function toRequest(b: Static<typeof ReadBody>): MeterReadRequest {
  const kinds = [b.quantities !== undefined, b.obis !== undefined, b.profile !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new ValidationError('give exactly one of `quantities`, `obis` (with `attribute`) or `profile` (with `from` and `to`)', 'body');
  if (b.quantities !== undefined) return { kind: 'quantities', quantities: [...new Set(b.quantities)] };
  if (b.obis !== undefined) {
    if (b.attribute === undefined) throw new ValidationError('`obis` needs `attribute`', 'body.attribute');
    return { kind: 'obis', obis: b.obis, attribute: b.attribute, ...(b.classId === undefined ? {} : { classId: b.classId }) };
  }
  if (b.from === undefined || b.to === undefined) throw new ValidationError('`profile` needs `from` and `to`', 'body.from');
  const from = Date.parse(b.from);
  const to = Date.parse(b.to);
  if (from > to) throw new ValidationError('`from` must not be after `to`', 'body.from');
  if (to - from > MAX_PROFILE_RANGE_MS) throw new ValidationError(`a profile read covers at most ${MAX_PROFILE_RANGE_MS / 86_400_000} days`, 'body.to');
  return { kind: 'profile', profile: b.profile ?? 'load', from, to };
}
