/** Device events: what meters and terminals reported (power down/up, cover open, tamper, relay changes). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { OneOf } from '../config/schema.js';
import { DEVICE_EVENT_CODES, ValidationError } from '../domain/index.js';
import type { EventRecorder } from '../events/recorder.js';
import { DeviceEventPageOut } from './eventSchemas.js';
import { problemResponses } from './problem.js';

export interface EventRoutesOptions {
  readonly events: Pick<EventRecorder, 'list'>;
}

const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, { events }) => {
  app.get('/events', {
    config: { access: 'viewer' },
    schema: {
      tags: ['events'],
      description: 'Device events, newest first by device time; `from`/`to` bound the device time, `cursor` is the previous page\'s `next`.',
      querystring: Type.Object({
        meter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        terminal: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        code: Type.Optional(OneOf(DEVICE_EVENT_CODES)),
        from: Type.Optional(Timestamp),
        to: Type.Optional(Timestamp),
        cursor: Type.Optional(Type.String({ maxLength: 40 })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      }, { additionalProperties: false }),
      response: { 200: DeviceEventPageOut, ...problemResponses },
    },
  }, async (req) => {
    const q = req.query;
    const from = q.from === undefined ? undefined : Date.parse(q.from);
    const to = q.to === undefined ? undefined : Date.parse(q.to);
    if (from !== undefined && to !== undefined && from >= to) throw new ValidationError('`from` must be before `to`', 'from');
    const page = await events.list({
      limit: q.limit,
      ...(q.meter === undefined ? {} : { meterId: q.meter }),
      ...(q.terminal === undefined ? {} : { terminalId: q.terminal }),
      ...(q.code === undefined ? {} : { code: q.code }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    return {
      items: page.items.map((e) => ({ ...e, ts: new Date(e.ts).toISOString(), receivedAt: new Date(e.receivedAt).toISOString() })),
      next: page.next,
    };
  });
  await Promise.resolve();
};
