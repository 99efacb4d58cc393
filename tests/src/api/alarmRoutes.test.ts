import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmFeed } from '../../../src/alarms/feed.js';
import { AlarmService } from '../../../src/alarms/service.js';
import { SqliteAlarmStore } from '../../../src/alarms/store.js';
import { alarmRoutes, type AlarmStreamCounters } from '../../../src/api/alarmRoutes.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { initialCondition } from '../../../src/rules/detectors/condition.js';
import { detectPowerOverLimit } from '../../../src/rules/detectors/power.js';
import { seededRegistry, signal } from '../alarms/fixtures.js';

let db: Db;
let alarms: AlarmService;
let feed: AlarmFeed;
let app: FastifyInstance;
let base: string;
let counters: AlarmStreamCounters;
const streams: ClientRequest[] = [];

async function startApp(extra: { maxBacklogBytes?: number; heartbeatMs?: number; feedCapacity?: number } = {}) {
  db = openDatabase(':memory:');
  const registry = await seededRegistry(db);
  alarms = await AlarmService.open(new SqliteAlarmStore(db), { areaSubtree: (id) => registry.areaSubtree(id) });
  feed = new AlarmFeed(extra.feedCapacity ?? 100);
  alarms.onChange((c) => feed.publish(c));
  counters = { streams: 0, slowClientsDropped: 0 };
  const fastify = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  fastify.addSchema(Problem);
  installProblemHandlers(fastify);
  await fastify.register(alarmRoutes, {
    prefix: '/api/v1', alarms, feed, counters, retryMs: 2500,
    ...(extra.heartbeatMs === undefined ? {} : { heartbeatMs: extra.heartbeatMs }),
    ...(extra.maxBacklogBytes === undefined ? {} : { maxBacklogBytes: extra.maxBacklogBytes }),
  });
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  app = fastify;
  base = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
}

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() as Record<string, unknown> };
}

interface SseFrame { id?: string; event?: string; data?: string; retry?: string; comment?: string }

/** Opens the stream over a real HTTP connection and collects its frames. */
function openStream(headers: Record<string, string> = {}): Promise<{ frames: SseFrame[]; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = get(`${base}/api/v1/alarms/stream`, { headers }, (res) => {
      const frames: SseFrame[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame: SseFrame = {};
          for (const line of buffer.slice(0, end).split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else {
              const i = line.indexOf(':');
              (frame as Record<string, string>)[line.slice(0, i)] = line.slice(i + 1).trimStart();
            }
          }
          frames.push(frame);
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('error', () => undefined);
      resolve({ frames, res });
    });
    req.on('error', reject);
    streams.push(req);
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

afterEach(async () => {
  for (const s of streams.splice(0)) s.destroy();
  await app.close();
  db.close();
});

describe('alarm API', () => {
  beforeEach(async () => { await startApp(); });

  it('lists with filters and a cursor, and returns one alarm', async () => {
    alarms.onSignal(signal({ meter: 'm1' }));
    const second = alarms.onSignal(signal({ meter: 'm2', severity: 'critical' }));
    const page1 = await call('GET', '/api/v1/alarms?limit=1');
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ items: [{ id: second?.id, raisedAt: '2025-06-15T15:06:40.000Z' }], next: second?.id });
    const page2 = await call('GET', `/api/v1/alarms?limit=1&cursor=${String(page1.body.next)}`);
    expect(page2.body).toMatchObject({ items: [{ subject: { kind: 'meter', id: 'm1' } }], next: null });
    expect((await call('GET', '/api/v1/alarms?area=sub')).body).toMatchObject({ items: [{ subject: { id: 'm1' } }] });
    expect((await call('GET', '/api/v1/alarms?severity=critical&state=raised')).body).toMatchObject({ items: [{ subject: { id: 'm2' } }] });
    expect((await call('GET', `/api/v1/alarms/${second?.id ?? ''}`)).body).toMatchObject({ id: second?.id, state: 'raised' });
  });

  it('writes the explanation in the language Accept-Language asks for, over the list, one alarm and the stream', async () => {
    const data = detectPowerOverLimit(initialCondition(), 12.5, { limitKw: 10, hysteresisKw: 0, forMs: 0, clearForMs: 0 }, 1_750_000_000_000).event;
    const a = alarms.onSignal(signal({ explanation: data?.explanation ?? '', ...(data === undefined ? {} : { explanationData: data.explanationData }) }));
    // An alarm stored before explanations were data: its English text is all there is, in every language.
    alarms.onSignal(signal({ meter: 'm2' }));
    const zh = { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' };
    const list = await (await fetch(`${base}/api/v1/alarms`, { headers: zh })).json() as { items: { subject: { id: string }; explanation: string; explanationData: unknown }[] };
    expect(list.items.find((x) => x.subject.id === 'm1')).toMatchObject({ explanation: '功率 12.5 kW 超过限值 10.0 kW（超出 25%）', explanationData: { parts: [{ id: 'power-over-limit.raise' }] } });
    expect(list.items.find((x) => x.subject.id === 'm2')).toMatchObject({ explanation: 'power 12.4 kW over the 10 kW limit for 60 s', explanationData: null });
    const english = await (await fetch(`${base}/api/v1/alarms/${a?.id ?? ''}`, { headers: { 'accept-language': 'en-GB,zh;q=0.5' } })).json() as { explanation: string };
    expect(english.explanation).toBe('power 12.5 kW is over the limit 10.0 kW (25% over)');
    const { frames } = await openStream(zh);
    alarms.onSignal(signal({ kind: 'clear', explanation: 'x', explanationData: { ref: 0, parts: [{ id: 'reverse-power.clear', en: ['reverse power ended: power ', ' (clears at or above ', ')'], args: [{ v: 1, d: 2, u: 'kW' }, { v: -1, d: 2, u: 'kW' }] }] } }));
    await until(() => frames.some((f) => f.event === 'alarm'), 'an alarm frame');
    const frame = JSON.parse(frames.find((f) => f.event === 'alarm')?.data ?? '{}') as { alarm: { clearExplanation: string } };
    expect(frame.alarm.clearExplanation).toBe('反向功率结束：功率 1.00 kW（恢复条件：不低于 -1.00 kW）');
  });

  it('acknowledges as the anonymous actor, with or without a body, and adds comments', async () => {
    const a = alarms.onSignal(signal());
    const b = alarms.onSignal(signal({ meter: 'm2' }));
    const acked = await call('POST', `/api/v1/alarms/${a?.id ?? ''}/ack`, { comment: 'on it' });
    expect(acked).toMatchObject({ status: 200, body: { state: 'acknowledged', acknowledgedBy: 'anonymous', comments: [{ by: 'anonymous', text: 'on it' }] } });
    const bare = await fetch(`${base}/api/v1/alarms/${b?.id ?? ''}/ack`, { method: 'POST' });
    expect(bare.status, await bare.text()).toBe(200);
    const commented = await call('POST', `/api/v1/alarms/${a?.id ?? ''}/comments`, { text: 'breaker reset' });
    expect(commented).toMatchObject({ status: 201, body: { comments: [{ text: 'on it' }, { text: 'breaker reset' }] } });
  });

  it('answers problem+json: 404 for an unknown id, 409 for acknowledging a cleared alarm, 400 for bad filters and bodies', async () => {
    const a = alarms.onSignal(signal());
    alarms.onSignal(signal({ kind: 'clear' }));
    const missing = await call('GET', '/api/v1/alarms/12345');
    expect(missing).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(missing.type).toMatch(/^application\/problem\+json/);
    expect(await call('POST', '/api/v1/alarms/nope/ack', {})).toMatchObject({ status: 404 });
    expect(await call('POST', `/api/v1/alarms/${a?.id ?? ''}/ack`, {})).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    for (const q of ['state=open', 'severity=huge', 'from=yesterday', 'limit=0', 'cursor=abc', 'area=nowhere', 'colour=red',
      'from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z']) {
      const r = await call('GET', `/api/v1/alarms?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.type, q).toMatch(/^application\/problem\+json/);
    }
    expect(await call('POST', `/api/v1/alarms/${a?.id ?? ''}/comments`, { text: '' })).toMatchObject({ status: 400 });
    expect(await call('POST', `/api/v1/alarms/${a?.id ?? ''}/comments`, { note: 'x' })).toMatchObject({ status: 400 });
  });
});

describe('alarm stream (SSE)', () => {
  it('sends the retry field, then each raised alarm as `event: alarm` with an id', async () => {
    await startApp();
    const { frames, res } = await openStream();
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    await until(() => frames.length >= 1 && counters.streams === 1, 'the retry frame');
    expect(frames[0]).toEqual({ retry: '2500' });
    const a = alarms.onSignal(signal());
    await until(() => frames.length >= 2, 'the alarm event');
    const frame = frames[1];
    expect(frame?.event).toBe('alarm');
    expect(Number(frame?.id)).toBeGreaterThan(0);
    expect(JSON.parse(frame?.data ?? '{}')).toMatchObject({ change: 'raised', alarm: { id: a?.id, state: 'raised', severity: 'major' } });
  });

  it('replays the changes after Last-Event-ID, and sends `reset` when they are no longer held', async () => {
    await startApp({ feedCapacity: 3 });
    const first = await openStream();
    const a = alarms.onSignal(signal());
    await until(() => first.frames.length >= 2, 'the first event');
    const lastId = first.frames[1]?.id ?? '';
    first.res.destroy();
    await alarms.acknowledge(a?.id ?? '', 'op');
    alarms.onSignal(signal({ kind: 'clear' }));

    const resumed = await openStream({ 'last-event-id': lastId });
    await until(() => resumed.frames.length >= 3, 'the replayed events');
    expect(resumed.frames.slice(1).map((f) => (JSON.parse(f.data ?? '{}') as { change: string }).change)).toEqual(['acknowledged', 'cleared']);

    for (let i = 0; i < 4; i++) alarms.onSignal(signal({ ruleId: `r${i}` }));
    const tooOld = await openStream({ 'last-event-id': lastId });
    await until(() => tooOld.frames.length >= 2, 'the reset event');
    expect(tooOld.frames[1]).toMatchObject({ event: 'reset' });
  });

  it('sends heartbeat comments', async () => {
    await startApp({ heartbeatMs: 20 });
    const { frames } = await openStream();
    await until(() => frames.some((f) => f.comment === 'heartbeat'), 'a heartbeat');
  });

  it('disconnects a client that does not read once its backlog passes the bound', async () => {
    await startApp({ maxBacklogBytes: 64 * 1024 });
    const { res } = await openStream();
    await until(() => counters.streams === 1, 'the stream');
    res.pause();
    const big = 'x'.repeat(50_000);
    for (let i = 0; i < 400 && counters.slowClientsDropped === 0; i++) {
      alarms.onSignal(signal({ explanation: `${big} ${i}` }));
      await new Promise((r) => setImmediate(r));
    }
    expect(counters.slowClientsDropped).toBe(1);
    await until(() => counters.streams === 0, 'the stream to close');
  });
});
