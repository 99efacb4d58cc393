import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxSink, type InfluxSinkOptions } from '../../src/storage/influx/sink.js';
import { meterId, terminalId } from '../../src/domain/ids.js';
import type { Reading } from '../../src/domain/reading.js';
import {
  exportSeries, exportWhenVisible, sampleCount, startVictoriaMetrics, victoriaMetricsPath,
  type ExportedSeries, type VictoriaMetrics,
} from '../helpers/victoriaMetrics.js';

const binary = victoriaMetricsPath();
if (binary === undefined) console.log('skipping InfluxDB sink integration tests: victoria-metrics not installed (apt-get install victoria-metrics)');

// Device timestamps an hour back, ms apart: well inside VictoriaMetrics' accepted window.
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
const source = { protocol: 'dlms', terminalId: terminalId('T 1'), mode: 'poll' } as const;

/** One interval of `meters` meters: power.active and voltage.l1 at the same device timestamp. */
function interval(prefix: string, meters: number, n: number): Reading[] {
  const out: Reading[] = [];
  for (let m = 0; m < meters; m++) {
    const id = meterId(`${prefix}-${m}`);
    out.push({ meterId: id, quantity: 'power.active', value: n + m / 1000, unit: 'kW', ts: T0 + n, quality: 'good', source });
    out.push({ meterId: id, quantity: 'voltage.l1', value: 230 + n / 100, unit: 'V', ts: T0 + n, quality: 'good', source });
  }
  return out;
}

/** Every series has exactly the timestamps 0..intervals-1 (relative to T0), each once. */
function expectExactlyOnce(series: readonly ExportedSeries[], meters: number, intervals: number): void {
  expect(series).toHaveLength(meters * 2);
  const want = Array.from({ length: intervals }, (_, i) => T0 + i);
  for (const s of series) {
    expect(s.timestamps.length, `${JSON.stringify(s.metric)} sample count`).toBe(intervals);
    expect([...s.timestamps].sort((a, b) => a - b)).toEqual(want);
  }
}

const until = async (cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(binary === undefined)('InfluxDB sink against VictoriaMetrics', () => {
  let vm: VictoriaMetrics;
  let dir = '';
  const sinks: InfluxSink[] = [];

  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await vm.dispose();
  });
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.close(100);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  const sink = (over: Partial<InfluxSinkOptions> = {}): InfluxSink => {
    const s = new InfluxSink({
      url: vm.url, token: '', org: 'gridhead', bucket: 'gridhead',
      batchSize: 1_000, flushIntervalMs: 50, requestTimeoutMs: 2_000, retryMinMs: 50, retryMaxMs: 500,
      spoolMaxBytes: 64 * 1024 * 1024, dataDir: dir, ...over,
    });
    sinks.push(s);
    return s;
  };
  const freshDir = (): void => { dir = mkdtempSync(join(tmpdir(), 'gridhead-influx-it-')); };

  it('lands readings as meter_<field> series with meter, terminal, protocol, quality and area labels', async () => {
    freshDir();
    const s = sink({ tagsFor: () => ({ area: 'North, Zone=1 \\x' }) });
    s.start();
    await s.write([
      { meterId: meterId('tags m1'), quantity: 'energy.active.import', value: 1234.5, unit: 'kWh', ts: T0, quality: 'good', source },
      { meterId: meterId('tags m1'), quantity: 'power.active', value: 2.25, unit: 'kW', ts: T0, quality: 'good', source },
      { meterId: meterId('tags m1'), quantity: 'power.active', value: 9, unit: 'kW', ts: T0 + 1_000, quality: 'suspect', source },
    ]);
    await until(() => s.stats().sentPoints === 2, 'sent');
    const series = await exportWhenVisible(vm.url, '{meter="tags m1"}', 3);
    const byName = series.map((x) => ({ ...x, metric: { ...x.metric } })).sort((a, b) => (a.metric.__name__! + a.metric.quality!).localeCompare(b.metric.__name__! + b.metric.quality!));
    expect(byName.map((x) => [x.metric, x.values, x.timestamps])).toEqual([
      [{ __name__: 'meter_energy_active_import', meter: 'tags m1', terminal: 'T 1', protocol: 'dlms', quality: 'good', area: 'North, Zone=1 \\x' }, [1234.5], [T0]],
      [{ __name__: 'meter_power_active', meter: 'tags m1', terminal: 'T 1', protocol: 'dlms', quality: 'good', area: 'North, Zone=1 \\x' }, [2.25], [T0]],
      [{ __name__: 'meter_power_active', meter: 'tags m1', terminal: 'T 1', protocol: 'dlms', quality: 'suspect', area: 'North, Zone=1 \\x' }, [9], [T0 + 1_000]],
    ]);
  });

  it('would show a point sent twice as two samples, so the exactly-once checks below can fail', async () => {
    freshDir();
    const s = sink();
    s.start();
    const r: Reading = { meterId: meterId('dup-0'), quantity: 'power.active', value: 1, unit: 'kW', ts: T0, quality: 'good', source };
    await s.write([r]);
    await until(() => s.stats().sentPoints === 1, 'first');
    await s.write([r]);
    await until(() => s.stats().sentPoints === 2, 'second');
    expect(sampleCount(await exportWhenVisible(vm.url, '{__name__="meter_power_active",meter="dup-0"}', 2))).toBe(2);
  });

  it('delivers every reading exactly once across a VictoriaMetrics outage under continuous writes', async () => {
    freshDir();
    const meters = 100;
    const intervals = 100; // 100 × 100 meters × 2 quantities = 20,000 readings
    const s = sink();
    s.start();
    for (let n = 0; n < intervals; n++) {
      if (n === 25) await vm.stop();
      if (n === 75) {
        expect(s.stats().connected).toBe(false);
        expect(s.stats().pendingPoints).toBeGreaterThan(0);
        await vm.restart();
      }
      await s.write(interval('outage', meters, n));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => s.stats().sentPoints === meters * intervals, 'spool drained');
    expect(s.stats().retries).toBeGreaterThan(0);
    expect(s.stats().pendingPoints).toBe(0);
    const series = await exportWhenVisible(vm.url, '{meter=~"outage-.*"}', meters * intervals * 2);
    expectExactlyOnce(series, meters, intervals);
  });

  it('replays what a closed sink left in its spool, exactly once, after VictoriaMetrics returns', async () => {
    freshDir();
    const meters = 20;
    const intervals = 50;
    await vm.stop();
    const first = sink();
    first.start();
    for (let n = 0; n < intervals; n++) await first.write(interval('restart', meters, n));
    await until(() => first.stats().retries > 0, 'first sink retrying');
    await first.close(100);
    expect(first.stats().pendingPoints).toBe(meters * intervals);
    const second = sink();
    second.start();
    await vm.restart();
    await until(() => second.stats().sentPoints === meters * intervals, 'replayed');
    expectExactlyOnce(await exportWhenVisible(vm.url, '{meter=~"restart-.*"}', meters * intervals * 2), meters, intervals);
  });

  it('sets aside a batch the server refuses with 400 while later batches still reach VictoriaMetrics', async () => {
    freshDir();
    // VictoriaMetrics skips unparsable lines with a 204, so a small proxy plays the strict server.
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (body.toString().includes('meter=poison')) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":"invalid","message":"poison point"}');
          return;
        }
        fetch(`${vm.url}${req.url ?? ''}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
          .then(async (r) => { res.writeHead(r.status).end(await r.text()); })
          .catch(() => { res.writeHead(502).end(); });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const s = sink({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, batchSize: 20 }); // one request per write: the poison batch stands alone
      await s.write(interval('before', 20, 0));
      await s.write(interval('poison', 20, 0).map((r) => ({ ...r, meterId: meterId('poison') })));
      await s.write(interval('after', 20, 0));
      s.start();
      await until(() => s.stats().sentPoints === 40 && s.stats().rejectedPoints === 1, 'sent and rejected');
      expect(readdirSync(join(dir, 'influx-spool', 'rejected'))).toHaveLength(1);
      const series = await exportWhenVisible(vm.url, '{meter=~"(before|after|poison).*"}', 80);
      expect(sampleCount(series)).toBe(80);
      expect(series.some((x) => x.metric.meter === 'poison')).toBe(false);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => { resolve(); }));
    }
  });

  it('exports nothing for a series that was never written', async () => {
    expect(await exportSeries(vm.url, '{meter="never-written"}')).toEqual([]);
  });
});
