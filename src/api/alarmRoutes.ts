/**
 * Alarms: list with filters and cursor paging, one alarm, acknowledge, comment, and the
 * live stream (server-sent events, WHATWG HTML §9.2).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServerResponse } from 'node:http';
import Type, { type Static } from 'typebox';
import { SEVERITIES } from '../domain/index.js';
import { OneOf } from '../config/schema.js';
import type { AlarmFeed, SequencedChange } from '../alarms/feed.js';
import type { AlarmService } from '../alarms/service.js';
import { alarmView } from '../alarms/view.js';
import type { ExplanationLang } from '../rules/explanation.js';
import { actorOf } from './actor.js';
import { readerLanguage } from './language.js';
import { problemResponses, sendProblem } from './problem.js';
import { AlarmOut, AlarmPageOut, type AlarmEventOut } from './alarmSchemas.js';
import { IdParam } from './schemas.js';

export interface AlarmRoutesOptions {
  readonly alarms: AlarmService;
  readonly feed: AlarmFeed;
  /** Comment line sent to every stream this often, so proxies keep it open. Default 15 s. */
  readonly heartbeatMs?: number;
  /** Reconnect delay the stream asks browsers to use. Default 3 s. */
  readonly retryMs?: number;
  /** Bytes a stream may have unsent before the client is judged too slow and cut off. Default 1 MiB. */
  readonly maxBacklogBytes?: number;
  /** Concurrent streams, at most; more get 503. Default 100. */
  readonly maxStreams?: number;
  /** Counters the plugin keeps up to date, owned by the caller (metrics, tests). */
  readonly counters?: AlarmStreamCounters;
}

export interface AlarmStreamCounters {
  /** Streams open now. */
  streams: number;
  /** Streams cut off because their unsent backlog passed `maxBacklogBytes`. */
  slowClientsDropped: number;
}

const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

const ListQuery = Type.Object({
  state: Type.Optional(OneOf(['raised', 'acknowledged', 'cleared'] as const)),
  severity: Type.Optional(OneOf(SEVERITIES)),
  area: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Alarms of this area and every area below it.' })),
  meter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  rule: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  cursor: Type.Optional(Type.String({ maxLength: 32, description: 'The `next` value of the previous page.' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
}, { additionalProperties: false });

export const alarmRoutes: FastifyPluginAsyncTypebox<AlarmRoutesOptions> = async (app, options) => {
  const { alarms, feed } = options;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const retryMs = options.retryMs ?? 3_000;
  const maxBacklogBytes = options.maxBacklogBytes ?? 1024 * 1024;
  const maxStreams = options.maxStreams ?? 100;
  const stats: AlarmStreamCounters = options.counters ?? { streams: 0, slowClientsDropped: 0 };
  const open = new Set<ServerResponse>();

  app.get('/alarms', {
    config: { access: 'viewer' },
    schema: {
      tags: ['alarms'],
      description: 'Alarms, newest first. `area` includes every area below it; `from`/`to` bound the raise time.',
      querystring: ListQuery,
      response: { 200: AlarmPageOut, ...problemResponses },
    },
  }, async (req) => {
    const q = req.query;
    const page = await alarms.list({
      limit: q.limit,
      ...(q.state === undefined ? {} : { state: q.state }),
      ...(q.severity === undefined ? {} : { severity: q.severity }),
      ...(q.area === undefined ? {} : { areaId: q.area }),
      ...(q.meter === undefined ? {} : { meterId: q.meter }),
      ...(q.rule === undefined ? {} : { ruleId: q.rule }),
      ...(q.from === undefined ? {} : { from: Date.parse(q.from) }),
      ...(q.to === undefined ? {} : { to: Date.parse(q.to) }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    const lang = readerLanguage(req.headers['accept-language']);
    return { items: page.items.map((a) => alarmView(a, lang)), next: page.next };
  });

  app.get('/alarms/stream', {
    config: { access: 'viewer' },
    schema: {
      tags: ['alarms'],
      description: 'Server-sent events: `event: alarm` with `{ change, alarm }` on every raise, update, acknowledgement, comment and clear. '
        + 'Send `Last-Event-ID` to resume; `event: reset` means changes were missed and the list must be re-read. A heartbeat comment comes every 15 s.',
    },
  }, (req, reply) => {
    if (open.size >= maxStreams) return sendProblem(reply, 503, 'TOO_MANY_STREAMS', `already serving ${maxStreams} alarm streams`);
    const lastId = parseLastEventId(req.headers['last-event-id']);
    const lang = readerLanguage(req.headers['accept-language']);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    open.add(res);
    stats.streams = open.size;
    const send = (text: string) => {
      if (res.destroyed) return;
      if (res.writableLength > maxBacklogBytes) {
        // A client that does not read would grow our memory without bound: cut it off; it reconnects with Last-Event-ID.
        stats.slowClientsDropped += 1;
        req.log.warn({ backlog: res.writableLength }, 'alarm stream client too slow; disconnected');
        res.destroy();
        return;
      }
      res.write(text);
    };
    send(`retry: ${retryMs}\n\n`);
    if (lastId !== undefined) {
      const replay = feed.since(lastId);
      if (replay.ok) for (const c of replay.changes) send(frame(c, lang));
      else send('event: reset\ndata: {}\n\n');
    }
    const unsubscribe = feed.subscribe((c) => { send(frame(c, lang)); });
    const heartbeat = setInterval(() => { send(': heartbeat\n\n'); }, heartbeatMs);
    res.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
      stats.streams = open.size;
    });
    return reply;
  });

  app.get('/alarms/:id', {
    config: { access: 'viewer' },
    schema: { summary: 'One alarm with its comments.', tags: ['alarms'], params: IdParam, response: { 200: AlarmOut, ...problemResponses } },
  }, async (req) => alarmView(await alarms.get(req.params.id), readerLanguage(req.headers['accept-language'])));

  app.post('/alarms/:id/ack', {
    config: { access: 'operator' },
    schema: {
      tags: ['alarms'],
      description: 'Acknowledges a raised alarm (an acknowledged one stays as it is); 409 for a cleared alarm.',
      params: IdParam,
      body: Type.Object({ comment: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false }),
      response: { 200: AlarmOut, ...problemResponses },
    },
    // A bodiless POST is an acknowledgement without comment.
    preValidation: (req, _reply, done) => {
      const request = req as { body: unknown };
      request.body ??= {};
      done();
    },
  }, async (req) => alarmView(await alarms.acknowledge(req.params.id, actorOf(req), req.body.comment), readerLanguage(req.headers['accept-language'])));

  app.post('/alarms/:id/comments', {
    config: { access: 'operator' },
    schema: { summary: 'Adds an operator comment to an alarm.',
      tags: ['alarms'],
      params: IdParam,
      body: Type.Object({ text: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
      response: { 201: AlarmOut, ...problemResponses },
    },
  }, async (req, reply) => reply.code(201).send(alarmView(await alarms.comment(req.params.id, actorOf(req), req.body.text), readerLanguage(req.headers['accept-language']))));

  // Streams never end by themselves: end them before the server waits for its connections.
  app.addHook('preClose', (done) => {
    for (const res of open) res.destroy();
    done();
  });
  await Promise.resolve();
};

function frame(c: SequencedChange, lang: ExplanationLang): string {
  return `id: ${c.seq}\nevent: alarm\ndata: ${JSON.stringify({ change: c.kind, alarm: alarmView(c.alarm, lang) } satisfies Static<typeof AlarmEventOut>)}\n\n`;
}

function parseLastEventId(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}
