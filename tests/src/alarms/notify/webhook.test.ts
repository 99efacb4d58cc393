import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier, severityAtLeast, type WebhookProblem, type WebhookTarget } from '../../../../src/alarms/notify/webhook.js';
import { notice } from './notice.js';

interface Received {
  readonly body: string;
  readonly signature: string | undefined;
  readonly delivery: string | undefined;
}

/** A real HTTP receiver; `answer` decides each response (status, or a promise to hold it). */
async function receiver(answer: (n: number, req: IncomingMessage) => number | Promise<number>) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ body, signature: req.headers['x-gridhead-signature'] as string | undefined, delivery: req.headers['x-gridhead-delivery'] as string | undefined });
      void Promise.resolve(answer(received.length, req)).then((status) => { res.writeHead(status).end(); });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const servers: Server[] = [];
const notifiers: WebhookNotifier[] = [];

/** A started notifier (`started: false`: as built, before its duty starts it). */
function notifier(target: Partial<WebhookTarget> & { url: string }, problems: WebhookProblem[] = [], started = true) {
  const n = new WebhookNotifier({ secret: 's3cret', minSeverity: 'info', timeoutMs: 2_000, retryMinMs: 5, retryMaxMs: 20, ...target }, { onProblem: (p) => problems.push(p) });
  notifiers.push(n);
  if (started) n.start();
  return n;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => { resolve(); }));
  }
});

describe('webhook notifier', () => {
  it('signs the raw body with HMAC-SHA256 and retries after a 500 with the same delivery id until it succeeds', async () => {
    const { url, received } = await receiver((n) => (n === 1 ? 500 : 204));
    const problems: WebhookProblem[] = [];
    const n = notifier({ url }, problems);
    n.notify(notice('41'));
    await until(() => n.stats().delivered === 1, 'delivery');
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(r.signature).toBe(`sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`);
      expect(JSON.parse(r.body)).toMatchObject({ change: 'raised', alarm: { id: '41', severity: 'major' } });
    }
    expect(received[0]?.delivery).toMatch(/^[0-9a-f-]{36}$/);
    expect(received[1]?.delivery).toBe(received[0]?.delivery);
    expect(n.stats()).toMatchObject({ delivered: 1, failedAttempts: 1, rejected: 0 });
    expect(problems.map((p) => p.code)).toEqual(['ATTEMPT_FAILED']);
  });

  it('posts nothing until started, delivers what waited once started, and delivers again when started after a stop', async () => {
    const { url, received } = await receiver(() => 204);
    const n = notifier({ url }, [], false);
    n.notify(notice('1'));
    expect(n.stats()).toMatchObject({ queued: 1, delivered: 0 });
    n.start();
    await until(() => n.stats().delivered === 1, 'the waiting notification');
    // Stepping down and leading again, as the leader's duty roster does.
    await n.close();
    n.notify(notice('2'));
    expect(received).toHaveLength(1);
    n.start();
    await until(() => n.stats().delivered === 2, 'the notification after the restart');
    expect(received.map((r) => (JSON.parse(r.body) as { alarm: { id: string } }).alarm.id)).toEqual(['1', '2']);
  });

  it('does not retry a 400, and goes on with the next notification', async () => {
    const { url, received } = await receiver((n) => (n === 1 ? 400 : 200));
    const problems: WebhookProblem[] = [];
    const n = notifier({ url }, problems);
    n.notify(notice('1'));
    n.notify(notice('2'));
    await until(() => n.stats().delivered === 1, 'second delivery');
    expect(received.map((r) => (JSON.parse(r.body) as { alarm: { id: string } }).alarm.id)).toEqual(['1', '2']);
    expect(n.stats()).toMatchObject({ rejected: 1, failedAttempts: 0 });
    expect(problems.map((p) => p.code)).toEqual(['REJECTED']);
  });

  it('retries a 429 and gives up after maxAttempts', async () => {
    const { url, received } = await receiver(() => 429);
    const problems: WebhookProblem[] = [];
    const n = notifier({ url, maxAttempts: 3 }, problems);
    n.notify(notice('1'));
    await until(() => n.stats().gaveUp === 1, 'giving up');
    expect(received).toHaveLength(3);
    expect(problems.map((p) => p.code)).toEqual(['ATTEMPT_FAILED', 'ATTEMPT_FAILED', 'GAVE_UP']);
  });

  it('bounds its queue: while one delivery is held, the oldest waiting notifications are dropped and counted', async () => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const { url, received } = await receiver(async (n) => { if (n === 1) await held; return 200; });
    const problems: WebhookProblem[] = [];
    const n = notifier({ url, queueCapacity: 2 }, problems);
    n.notify(notice('1'));
    await until(() => received.length === 1, 'first request');
    for (const id of ['2', '3', '4', '5']) n.notify(notice(id));
    expect(n.stats()).toMatchObject({ queued: 2, dropped: 3 });
    release?.();
    await until(() => n.stats().delivered === 2, 'deliveries');
    expect(received.map((r) => (JSON.parse(r.body) as { alarm: { id: string } }).alarm.id)).toEqual(['1', '5']);
    expect(problems.filter((p) => p.code === 'QUEUE_FULL')).toHaveLength(3);
  });

  it('sends only alarms at or above minSeverity', async () => {
    const { url, received } = await receiver(() => 200);
    const n = notifier({ url, minSeverity: 'major' });
    n.notify(notice('1', 'warning'));
    n.notify(notice('2', 'critical'));
    n.notify(notice('3', 'major'));
    await until(() => n.stats().delivered === 2, 'deliveries');
    expect(received.map((r) => (JSON.parse(r.body) as { alarm: { id: string } }).alarm.id)).toEqual(['2', '3']);
    expect(severityAtLeast('critical', 'info')).toBe(true);
    expect(severityAtLeast('info', 'critical')).toBe(false);
  });

  it('retries when the receiver drops the connection, then gives up after maxAttempts', async () => {
    const server = createServer((req) => { req.socket.destroy(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const n = notifier({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, maxAttempts: 2 });
    n.notify(notice('1'));
    await until(() => n.stats().gaveUp === 1, 'giving up');
    expect(n.stats()).toMatchObject({ failedAttempts: 2, delivered: 0 });
  });

  it('treats a receiver that does not answer within timeoutMs as a failed attempt', async () => {
    const { url, received } = await receiver(() => new Promise<number>(() => undefined));
    const n = notifier({ url, timeoutMs: 100, maxAttempts: 2 });
    n.notify(notice('1'));
    await until(() => n.stats().gaveUp === 1, 'giving up');
    expect(received).toHaveLength(2);
  });
});
