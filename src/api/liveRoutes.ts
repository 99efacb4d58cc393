/**
 * Live API for the dashboard: the overview, a meter's operating state, and one
 * server-sent-events stream carrying the overview every few seconds and, with `?meter=`,
 * that meter's new readings (coalesced, at most once a second).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServerResponse } from 'node:http';
import Type, { type Static } from 'typebox';
import type { MeterId, Reading } from '../domain/index.js';
import type { Overview } from '../live/overview.js';
import type { MeterState } from '../live/meterState.js';
import { problemResponses, sendProblem } from './problem.js';
import { MeterStateOut, OverviewOut, type MeterValuesEventOut } from './liveSchemas.js';
import { IdParam } from './schemas.js';

export interface LiveRoutesOptions {
  readonly overview: () => Promise<Overview>;
  readonly meterState: (id: string) => Promise<MeterState>;
  /** Throws NotFoundError for an unknown meter. */
  readonly meterExists: (id: string) => MeterId;
  readonly subscribeMeter: (id: MeterId, listener: (readings: readonly Reading[]) => void) => () => void;
  readonly overviewMs: number;
  readonly maxStreams: number;
  /** Bytes queued for one client before it is cut off; default 256 KiB. */
  readonly maxBacklogBytes?: number;
  readonly heartbeatMs?: number;
  readonly counters?: { streams: number; slowClientsDropped: number };
}

export const liveRoutes: FastifyPluginAsyncTypebox<LiveRoutesOptions> = async (app, o) => {
  const open = new Set<ServerResponse>();
  const maxBacklog = o.maxBacklogBytes ?? 256 * 1024;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const counters = o.counters ?? { streams: 0, slowClientsDropped: 0 };

  app.get('/live/overview', {
    config: { access: 'viewer' },
    schema: {
      tags: ['live'],
      description: 'Total and per-area live load (an area sums its subtree), limits, reporting meters, open alarms and state (abnormal: an open abnormal-area alarm, with its rule and explanation), and today\'s collection success rate.',
      response: { 200: OverviewOut },
    },
  }, async () => overviewJson(await o.overview()));

  app.get('/meters/:id/state', {
    config: { access: 'viewer' },
    schema: {
      tags: ['live'],
      description: 'Online (the terminal\'s link state), last reading time, relay (newest of the last verified command read-back and the relay/limiter events), power limit (last verified read-back), open alarms, customer and protection.',
      params: IdParam,
      response: { 200: MeterStateOut, ...problemResponses },
    },
  }, async (req) => {
    const s = await o.meterState(req.params.id);
    return {
      ...s,
      lastSeen: iso(s.lastSeen),
      relay: s.relay === null ? null : { ...s.relay, at: new Date(s.relay.at).toISOString() },
      limitKw: s.limitKw === null ? null : { value: s.limitKw.value, at: new Date(s.limitKw.at).toISOString() },
    };
  });

  app.get('/live/stream', {
    config: { access: 'viewer' },
    schema: {
      tags: ['live'],
      description: 'Server-sent events: `event: overview` (the /live/overview JSON) at once and every few seconds; with `meter`, `event: meter` with `{ meterId, values: [{ quantity, value, unit, ts }] }` when its readings arrive, at most once a second; a heartbeat comment every 15 s. The session cookie authenticates it (EventSource sends no headers). A client that does not keep up is disconnected.',
      querystring: Type.Object({ meter: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
    },
  }, (req, reply) => {
    const meter = req.query.meter === undefined ? undefined : o.meterExists(req.query.meter);
    if (open.size >= o.maxStreams) return sendProblem(reply, 503, 'TOO_MANY_STREAMS', `already serving ${o.maxStreams} live streams`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    open.add(res);
    counters.streams = open.size;
    const send = (text: string): void => {
      if (res.destroyed) return;
      if (res.writableLength > maxBacklog) {
        // Bounded backlog: a client that stops reading is cut off; EventSource reconnects.
        counters.slowClientsDropped += 1;
        req.log.warn({ backlog: res.writableLength }, 'live stream client too slow; disconnected');
        res.destroy();
        return;
      }
      res.write(text);
    };
    // At most one overview in the making per stream: a slow store skips ticks instead of piling them up.
    let making = false;
    const sendOverview = (): void => {
      if (making) return;
      making = true;
      o.overview()
        .then((overview) => { send(`event: overview\ndata: ${JSON.stringify(overviewJson(overview))}\n\n`); })
        .catch((err: unknown) => { req.log.error({ err }, 'live overview failed'); })
        .finally(() => { making = false; });
    };
    send('retry: 3000\n\n');
    sendOverview();
    const overviewTimer = setInterval(sendOverview, o.overviewMs);
    const heartbeat = setInterval(() => { send(': heartbeat\n\n'); }, heartbeatMs);
    let unsubscribe = (): void => undefined;
    let flushTimer: NodeJS.Timeout | undefined;
    if (meter !== undefined) {
      // Newest value per quantity since the last event: bounded by the catalogue size.
      const pending = new Map<string, Reading>();
      let lastSent = 0;
      const flush = (): void => {
        flushTimer = undefined;
        lastSent = Date.now();
        const values = [...pending.values()].map((r) => ({ quantity: r.quantity, value: r.value, unit: r.unit, ts: new Date(r.ts).toISOString() }));
        pending.clear();
        send(`event: meter\ndata: ${JSON.stringify({ meterId: meter, values } satisfies Static<typeof MeterValuesEventOut>)}\n\n`);
      };
      unsubscribe = o.subscribeMeter(meter, (readings) => {
        for (const r of readings) {
          const prev = pending.get(r.quantity);
          if (prev === undefined || prev.ts <= r.ts) pending.set(r.quantity, r);
        }
        flushTimer ??= setTimeout(flush, Math.max(0, lastSent + 1000 - Date.now()));
      });
    }
    res.once('close', () => {
      clearInterval(overviewTimer);
      clearInterval(heartbeat);
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      unsubscribe();
      open.delete(res);
      counters.streams = open.size;
    });
    return reply;
  });

  // Streams never end by themselves: end them before the server waits for its connections.
  app.addHook('preClose', (done) => {
    for (const res of open) res.destroy();
    done();
  });
  await Promise.resolve();
};

function iso(ts: number | null): string | null {
  return ts === null ? null : new Date(ts).toISOString();
}

function overviewJson(v: Overview): Omit<Overview, 'ts' | 'areas'> & { ts: string; areas: Overview['areas'][number][] } {
  return { ...v, ts: new Date(v.ts).toISOString(), areas: [...v.areas] };
}
