/**
 * DLMS polling with high-level security: meters fully read per second (connect, associate,
 * the clock and ten register values in one GET-with-list, release) as HLS-GMAC client 48 with
 * authenticated encryption of every APDU, beside the same read as the public client without
 * security. The meters run in this process (one wrapper listener each), so both figures share
 * the CPU with them and compare with each other rather than with dlms-poll.bench.ts.
 * Each meter keeps its own counters across reads, as the head-end's key store does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsClient, type DlmsClientOptions } from '../../protocols/dlms/client/client.js';
import { openDlmsTransport } from '../../protocols/dlms/net/clientTransport.js';
import { MemorySecurityCounters } from '../../protocols/dlms/security/memoryCounters.js';
import { DlmsMeterSimulator, HLS_CLIENT, PUBLIC_CLIENT } from '../../simulators/dlms/server.js';

const METERS = 40;
const CONCURRENCY = 8;
const DURATION_MS = 5_000;
const KEYS = { ek: Uint8Array.from(Buffer.from('000102030405060708090A0B0C0D0E0F', 'hex')), ak: Uint8Array.from(Buffer.from('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', 'hex')) };
const CLIENT_TITLE = Uint8Array.from(Buffer.from('4752440000000001', 'hex'));
const REFS = [
  { classId: 8, obis: '0.0.1.0.0.255', attribute: 2 },
  ...['1.0.1.8.0.255', '1.0.2.8.0.255', '1.0.3.8.0.255', '1.0.4.8.0.255', '1.0.1.7.0.255',
    '1.0.32.7.0.255', '1.0.52.7.0.255', '1.0.72.7.0.255', '1.0.31.7.0.255', '1.0.14.7.0.255'].map((obis) => ({ classId: 3, obis, attribute: 2 })),
];

const meters: DlmsMeterSimulator[] = [];
const counters = new Map<number, MemorySecurityCounters>();

beforeAll(async () => {
  for (let i = 0; i < METERS; i++) {
    const title = Uint8Array.from(Buffer.from(`4D4D4D00${(i + 1).toString(16).padStart(8, '0')}`, 'hex'));
    const sim = new DlmsMeterSimulator({
      framing: 'wrapper', seed: i, serialNumber: String(i).padStart(8, '0'), historyDays: 0,
      security: { systemTitle: title, keys: KEYS, protection: 'auth-enc' },
    });
    await sim.start();
    meters.push(sim);
    counters.set(i, new MemorySecurityCounters());
  }
});

afterAll(async () => {
  await Promise.all(meters.map((m) => m.stop()));
});

describe('DLMS polling with HLS-GMAC and auth-enc', () => {
  it.each(['plain', 'hls_auth_enc'] as const)('reads simulated meters fully as %s', async (mode) => {
    const signal = new AbortController().signal;
    let ok = 0;
    let failed = 0;
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (performance.now() - started < DURATION_MS) {
        const i = next++ % METERS;
        const sim = meters[i];
        if (sim === undefined) return;
        const clientSap = mode === 'plain' ? PUBLIC_CLIENT : HLS_CLIENT;
        const options: DlmsClientOptions = mode === 'plain'
          ? { clientSap, timeoutMs: 5_000 }
          : {
            clientSap, timeoutMs: 5_000, auth: { mechanism: 'high-gmac' },
            security: { protection: 'auth-enc', systemTitle: CLIENT_TITLE, keys: KEYS, counters: counters.get(i) ?? new MemorySecurityCounters() },
          };
        try {
          const transport = await openDlmsTransport({ host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap, serverSap: 1, timeoutMs: 5_000 }, signal);
          const client = new DlmsClient(transport, options);
          try {
            await client.associate(signal);
            const results = await client.getList(REFS, signal);
            if (results.every((r) => r.ok)) ok++;
            else failed++;
            await client.release(signal);
          } finally {
            await client.close();
          }
        } catch (e) {
          failed++;
          if (failed <= 3) console.warn(`dlms.secure_poll ${mode}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };
    // Meters are taken in turn, so one comes round again only after 39 other reads; an overlap
    // (two associations interleaving one counter sequence) would show in failed_reads.
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = (performance.now() - started) / 1000;
    console.log(`bench: dlms.poll.wrapper.inprocess.${mode}.meters_per_s = ${(ok / elapsed).toFixed(0)} meters/s`);
    console.log(`bench: dlms.poll.wrapper.inprocess.${mode}.failed_reads = ${failed} reads`);
    expect(ok).toBeGreaterThan(0);
  }, 60_000);
});
