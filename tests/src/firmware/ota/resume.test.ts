/**
 * A dropped connection mid-download, over real sockets: a TCP proxy between the simulated
 * terminal and the real download route cuts the response after some bytes; the terminal
 * resumes with a Range request for the rest (RFC 9110 §14.2) instead of starting over, and
 * gives up after its bounded resumes when every connection is cut. The OTA metrics follow.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { otaMetricSources } from '../../../../src/firmware/ota/metrics.js';
import { createMetrics } from '../../../../src/observe/metrics.js';
import { startAedes } from '../../../helpers/aedes.js';
import { IMAGE, SHA256, startOtaRig } from '../../../helpers/otaRig.js';
import { TcpProxy } from '../../../simulators/dlms/tcpProxy.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Relays HTTP both ways, but ends the first `cutConnections` connections after `cutAfter` bytes towards the client. */
class CuttingProxy extends TcpProxy {
  /** Per connection: the request bytes the client sent, and the response bytes it was given. */
  readonly connections: { request: string; delivered: number }[] = [];

  constructor(target: number, private readonly cutAfter: number, private readonly cutConnections: number) {
    super(target);
  }

  protected relay(client: Socket, upstream: Socket): void {
    const seen = { request: '', delivered: 0 };
    const cut = this.connections.length < this.cutConnections;
    this.connections.push(seen);
    client.on('data', (chunk: Buffer) => {
      seen.request += chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const room = cut ? this.cutAfter - seen.delivered : chunk.byteLength;
      if (room <= 0) return; // cut: the upstream closes with the client
      client.write(chunk.subarray(0, room));
      seen.delivered += Math.min(room, chunk.byteLength);
      if (cut && seen.delivered >= this.cutAfter) client.destroy();
    });
  }
}

async function rigBehindProxy(cutAfter: number, cutConnections: number, ota: { maxResumes?: number }) {
  let proxy: CuttingProxy | undefined;
  const r = await startOtaRig(() => startAedes(), cleanups, {
    ota: { resumeDelayMs: 10, ...ota },
    offerBase: async (apiUrl) => {
      proxy = new CuttingProxy(Number(new URL(apiUrl).port), cutAfter, cutConnections);
      await proxy.start();
      cleanups.push(() => proxy?.stop());
      return `http://127.0.0.1:${proxy.port}`;
    },
  });
  if (proxy === undefined) throw new Error('the rig did not ask for the offer base');
  return { ...r, proxy };
}

describe('a broken OTA download', () => {
  it('resumes from the bytes the terminal holds with Range and If-Range, verifies and activates, and the metrics count both responses', async () => {
    const r = await rigBehindProxy(90_000, 1, {});
    await r.offer('o-r1', 'TRM-2.0.0', 'now');
    await r.until((got) => got.some(([, rep]) => rep.state === 'activated' || rep.state === 'failed'));
    expect(r.reportsOf('o-r1').at(-1)).toEqual({ offerId: 'o-r1', state: 'activated', version: 'TRM-2.0.0' });
    expect(r.terminal.stats().ota).toMatchObject({ downloads: 1, resumes: 1 });

    const [first, second] = r.proxy.connections;
    expect(r.proxy.connections).toHaveLength(2);
    expect(first?.request).not.toMatch(/\r\nrange:/i);
    const asked = /\r\nrange: bytes=(\d+)-\r\n/i.exec(second?.request ?? '');
    expect(second?.request).toMatch(new RegExp(`\\r\\nif-range: "${SHA256}"\\r\\n`, 'i'));
    const from = Number(asked?.[1]);
    // It asked for what it lacked: everything after the body bytes that got through the first connection.
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(90_000);
    // Not started over: the second response carried the rest of the image and its headers, no more.
    expect(second?.delivered).toBeGreaterThan(IMAGE.byteLength - from);
    expect(second?.delivered).toBeLessThan(IMAGE.byteLength - from + 1_000);

    await r.until(() => r.downloads.active === 0);
    // The station wrote the whole first response into the proxy's socket on loopback before the cut: whether the
    // station counts it completed depends on socket buffers, so only the range's completion is asserted.
    const stats = r.downloads.stats();
    expect(stats).toMatchObject({ started: { whole: 1, range: 1 }, completed: { range: 1 } });
    expect(stats.bytesServed).toBeGreaterThanOrEqual(IMAGE.byteLength);
    const text = await createMetrics(otaMetricSources({ channel: r.channel, downloads: r.downloads })).metrics();
    expect(text).toContain('gridhead_firmware_ota_offers_total 1\n');
    expect(text).toContain('gridhead_firmware_ota_downloads_started_total{response="whole"} 1\n');
    expect(text).toContain('gridhead_firmware_ota_downloads_started_total{response="range"} 1\n');
    expect(text).toContain('gridhead_firmware_ota_downloads_completed_total{response="range"} 1\n');
    expect(text).toContain('gridhead_firmware_ota_reports_total{state="activated"} 1\n');
    expect(text).toContain('gridhead_firmware_ota_downloads_refused_total{reason="busy"} 0\n');
    expect(text).toContain(`gridhead_firmware_ota_served_bytes_total ${stats.bytesServed}\n`);
    expect(text).toContain('gridhead_firmware_ota_downloads_active 0\n');
  });

  it('gives up after its bounded resumes when every connection breaks, and reports the failed download', async () => {
    // Three connections of 20 000 bytes each never make the 200 003-byte image.
    const r = await rigBehindProxy(20_000, Number.POSITIVE_INFINITY, { maxResumes: 2 });
    await r.offer('o-r2', 'TRM-2.0.0', 'now');
    await r.until((got) => got.some(([, rep]) => rep.state === 'failed' || rep.state === 'activated'));
    expect(r.reportsOf('o-r2').at(-1)).toMatchObject({ offerId: 'o-r2', state: 'failed', reason: expect.stringMatching(/^download-failed: /) as unknown });
    expect(r.proxy.connections).toHaveLength(3);
    expect(r.terminal.stats().ota).toMatchObject({ downloads: 0, resumes: 2 });
    expect(r.terminal.firmwareVersion).toBe('SIM-MQTT-1.0.0');
  });
});
