import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { InfluxSink, InfluxWriteRejected, systemClock, type InfluxSinkOptions, type SinkClock } from '../../../../src/storage/influx/sink.js';
import { meterId, terminalId } from '../../../../src/domain/ids.js';
import type { Reading } from '../../../../src/domain/reading.js';
import { freePort } from '../../../helpers/victoriaMetrics.js';

interface Received {
  readonly url: string;
  readonly encoding: string | undefined;
  readonly lines: string[];
}

/** A stand-in InfluxDB: records each write and answers with what `reply` decides. */
class FakeInflux {
  readonly received: Received[] = [];
  reply: (lines: string[], n: number) => { status: number; body?: string; hang?: boolean } = () => ({ status: 204 });
  private server: Server | undefined;
  private readonly hanging: ServerResponse[] = [];
  constructor(public port = 0) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => { this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const r of this.hanging.splice(0)) r.destroy();
    const srv = this.server;
    this.server = undefined;
    if (srv === undefined) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => { resolve(); }));
  }

  points(): string[] {
    return this.received.filter((_, i) => this.accepted[i]).flatMap((r) => r.lines);
  }

  private readonly accepted: boolean[] = [];

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const encoding = req.headers['content-encoding'];
      if (encoding === 'gzip') body = gunzipSync(body);
      const lines = body.toString('utf8').split('\n').filter((l) => l !== '');
      const n = this.received.push({ url: req.url ?? '', encoding, lines });
      const r = this.reply(lines, n);
      this.accepted.push(r.status >= 200 && r.status < 300 && r.hang !== true);
      if (r.hang === true) {
        this.hanging.push(res);
        return;
      }
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body ?? '');
    });
  }
}

/** Records requested delays and waits only a moment, so backoff is observable and fast. */
function recordingClock(): SinkClock & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    now: () => Date.now(),
    sleep: (ms, signal) => {
      delays.push(ms);
      return new Promise((resolve) => {
        const t = setTimeout(resolve, Math.min(ms, 5));
        signal.addEventListener('abort', () => { clearTimeout(t); resolve(); });
      });
    },
  };
}

const source = { protocol: 'mqtt', terminalId: terminalId('t-1'), mode: 'push' } as const;
function readings(meter: string, n: number, t0 = 1_700_000_000_000): Reading[] {
  return Array.from({ length: n }, (_, i) => ({ meterId: meterId(meter), quantity: 'power.active' as const, value: i, unit: 'kW', ts: t0 + i, quality: 'good' as const, source }));
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('InfluxSink', () => {
  let dir: string;
  let server: FakeInflux;
  const sinks: InfluxSink[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridhead-sink-'));
    server = new FakeInflux();
    await server.start();
  });
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.close(100);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const sink = (over: Partial<InfluxSinkOptions> = {}): InfluxSink => {
    const s = new InfluxSink({
      url: `http://127.0.0.1:${server.port}`, token: 'tok', org: 'acme', bucket: 'meters',
      batchSize: 100, flushIntervalMs: 20, requestTimeoutMs: 2_000, retryMinMs: 10, retryMaxMs: 80,
      spoolMaxBytes: 1 << 20, dataDir: dir, clock: recordingClock(), ...over,
    });
    sinks.push(s);
    return s;
  };

  it('posts line protocol in batches of at most batchSize to /api/v2/write with ms precision', async () => {
    const s = sink();
    s.start();
    await s.write(readings('m1', 250));
    await until(() => s.stats().sentPoints === 250, 'all points sent');
    expect(server.received.every((r) => r.lines.length <= 100)).toBe(true);
    const url = new URL(server.received[0]!.url, 'http://x');
    expect(url.pathname).toBe('/api/v2/write');
    expect(Object.fromEntries(url.searchParams)).toEqual({ org: 'acme', bucket: 'meters', precision: 'ms' });
    expect(server.points()).toEqual(readings('m1', 250).map((r) => `meter,meter=m1,protocol=mqtt,quality=good,terminal=t-1 power_active=${r.value} ${r.ts}`));
    expect(s.stats()).toMatchObject({ pendingPoints: 0, spooledBytes: 0, connected: true, retries: 0 });
  });

  it('gzips bodies above the threshold', async () => {
    const s = sink({ gzipThreshold: 1_000 });
    s.start();
    await s.write(readings('m1', 100));
    await until(() => s.stats().sentPoints === 100, 'sent');
    expect(server.received[0]!.encoding).toBe('gzip');
    expect(server.points()).toHaveLength(100);
  });

  it('retries the same batch with growing, bounded backoff on 5xx and 429, and sends it once', async () => {
    server.reply = (_lines, n) => (n === 1 ? { status: 503 } : n === 2 ? { status: 429 } : n <= 5 ? { status: 500, body: '{"message":"busy"}' } : { status: 204 });
    const clock = recordingClock();
    const s = sink({ clock, random: () => 0.999, flushIntervalMs: 13 });
    await s.write(readings('m1', 60));
    s.start();
    await until(() => server.received.length >= 1, 'first attempt');
    // Arrives mid-retry and would fit in the batch (batchSize 100): it must not join it.
    await s.write(readings('m2', 30));
    await until(() => s.stats().sentPoints === 90, 'sent after retries');
    expect(server.received).toHaveLength(7);
    expect(new Set(server.received.slice(0, 6).map((r) => r.lines.join('\n'))).size).toBe(1);
    expect(server.received[0]!.lines).toHaveLength(60);
    expect(server.received[6]!.lines.every((l) => l.includes('meter=m2'))).toBe(true);
    expect(server.points()).toHaveLength(90);
    const backoffs = clock.delays.filter((d) => d !== 13); // 13 ms: flush-interval waits
    expect(backoffs).toEqual([10, 20, 40, 80, 80]);
    expect(s.stats()).toMatchObject({ retries: 5, connected: true });
  });

  it('retries while the server is unreachable and delivers once it listens again', async () => {
    const port = server.port;
    await server.stop();
    const s = sink();
    s.start();
    await s.write(readings('m1', 50));
    await until(() => s.stats().retries >= 3, 'retries while down');
    expect(s.stats()).toMatchObject({ connected: false, pendingPoints: 50 });
    expect(s.stats().lastError).toMatch(/ECONNREFUSED|connect/i);
    server = new FakeInflux(port);
    await server.start();
    await until(() => s.stats().sentPoints === 50, 'delivered after recovery');
    expect(server.points()).toHaveLength(50);
  });

  it('retries a request the server never answers once requestTimeoutMs passes', async () => {
    server.reply = (_l, n) => (n === 1 ? { status: 204, hang: true } : { status: 204 });
    const s = sink({ requestTimeoutMs: 200 });
    s.start();
    await s.write(readings('m1', 10));
    await until(() => s.stats().sentPoints === 10, 'sent after timeout');
    expect(server.received).toHaveLength(2);
    expect(s.stats().retries).toBe(1);
  });

  it('moves a batch refused with 400 to rejected/ with the server message and keeps sending later batches', async () => {
    server.reply = (lines) => (lines.some((l) => l.includes('meter=poison')) ? { status: 400, body: '{"code":"invalid","message":"unable to parse"}' } : { status: 204 });
    const rejected: InfluxWriteRejected[] = [];
    const s = sink({ batchSize: 10, onRejected: (e) => rejected.push(e) });
    await s.write(readings('poison', 10));
    await s.write(readings('m1', 30));
    s.start();
    await until(() => s.stats().sentPoints === 30, 'later batches sent');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toBeInstanceOf(InfluxWriteRejected);
    expect(rejected[0]).toMatchObject({ code: 'INFLUX_WRITE_REJECTED', status: 400, points: 10 });
    const files = readdirSync(join(dir, 'influx-spool', 'rejected'));
    expect(files).toHaveLength(1);
    const text = readFileSync(join(dir, 'influx-spool', 'rejected', files[0]!), 'utf8');
    expect(text).toContain('unable to parse');
    expect(text.split('\n').filter((l) => l.includes('meter=poison'))).toHaveLength(10);
    expect(s.stats()).toMatchObject({ rejectedPoints: 10, rejectedBatches: 1, pendingPoints: 0 });
    expect(server.points().every((l) => l.includes('meter=m1'))).toBe(true);
  });

  it('keeps the data in the spool on 401, 403 and 404 (a token or bucket to fix) and sends it once fixed', async () => {
    let fixed = false;
    server.reply = (_lines, n) => (fixed ? { status: 204 } : { status: [401, 403, 404][n % 3] ?? 401, body: '{"message":"unauthorized"}' });
    const rejected: InfluxWriteRejected[] = [];
    const s = sink({ onRejected: (e) => rejected.push(e) });
    s.start();
    await s.write(readings('m1', 20));
    await until(() => s.stats().retries >= 3, 'retries while the token is wrong');
    expect(s.stats()).toMatchObject({ pendingPoints: 20, rejectedBatches: 0 });
    fixed = true;
    await until(() => s.stats().sentPoints === 20, 'sent once the token is fixed');
    expect(rejected).toHaveLength(0);
    expect(server.points()).toHaveLength(20);
  });

  it('makes writers wait while the spool is over its bound and lets them in as it drains', async () => {
    server.reply = () => ({ status: 503 });
    const s = sink({ spoolMaxBytes: 20_000, batchSize: 50 });
    s.start();
    const results: (void | Promise<void>)[] = [];
    for (let i = 0; i < 10; i++) results.push(s.write(readings(`m${i}`, 50)));
    const waiting = results.filter((r) => r instanceof Promise);
    expect(waiting.length).toBeGreaterThan(0);
    let released = 0;
    for (const w of waiting) void w.then(() => { released++; });
    await until(() => s.stats().retries >= 2, 'retrying');
    expect(released).toBe(0);
    expect(s.stats().spooledBytes).toBeLessThan(20_000 + 10_000);
    server.reply = () => ({ status: 204 });
    await Promise.all(waiting);
    await until(() => s.stats().sentPoints === 500, 'all sent');
    expect(new Set(server.points()).size).toBe(500);
  });

  it('leaves unsent points in the spool on close and a new sink on the same directory sends them once', async () => {
    server.reply = () => ({ status: 503 });
    const first = sink();
    first.start();
    await first.write(readings('m1', 120));
    await until(() => first.stats().retries >= 1, 'first attempt failed');
    await first.close(50);
    expect(first.stats().pendingPoints).toBe(120);
    server.reply = () => ({ status: 204 });
    const second = sink();
    expect(second.stats().pendingPoints).toBe(120);
    second.start();
    await until(() => second.stats().sentPoints === 120, 'replayed');
    expect(server.points()).toEqual(readings('m1', 120).map((r) => `meter,meter=m1,protocol=mqtt,quality=good,terminal=t-1 power_active=${r.value} ${r.ts}`));
  });

  it('refuses writes after close', async () => {
    const s = sink();
    await s.close();
    expect(() => s.write(readings('m1', 1))).toThrow(/closed/);
  });

  it('sends a pending partial batch promptly on close', async () => {
    // The real clock: the recording clock would cut close()'s 2 s deadline to 5 ms, which a
    // loaded machine's HTTP round trip can exceed.
    const s = sink({ flushIntervalMs: 60_000, clock: systemClock });
    s.start();
    await s.write(readings('m1', 5));
    await s.close(2_000);
    expect(server.points()).toHaveLength(5);
    expect(s.stats().pendingPoints).toBe(0);
  });

  it('gives a free port helper that actually binds', async () => {
    expect(await freePort()).toBeGreaterThan(0);
  });
});
