/**
 * End to end, over real sockets: the head-end reads simulated meters that require HLS-GMAC
 * with authenticated encryption, keeps its invocation counters increasing across its own
 * restart, and records a security event when a meter's stored keys are wrong.
 *
 * Needs the DLMS security branch merged (client-side security in the adapter, the
 * simulator's `security` option serving client SAP 48).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { simulatedSystemTitle } from '../../simulators/fleet.js';
import { buildConfig } from '../../src/config/load.js';
import { startHeadEnd } from '../../src/main.js';
import { createLogger } from '../../src/observe/logger.js';
import { openDatabase } from '../../src/storage/db.js';
import { fetchApi } from '../helpers/api.js';
import { FAST_FLEET, TEST_ADMIN_TOKEN, eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Latest { values: { quantity: string; ts: string }[] }
const latestOf = async (he: { url: string; token: string }, meter: string): Promise<Latest | undefined> => {
  const res = await fetchApi(he, `/api/v1/meters/${meter}/latest`);
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as Latest;
  return body.values.some((v) => v.quantity === 'power.active') ? body : undefined;
};

describe('DLMS security end to end', () => {
  it('reads the HLS meters of the fleet and records a security event for a meter stored with the wrong keys', async () => {
    const h: TestHeadEnd = await startTestHeadEnd({
      ...FAST_FLEET,
      simulators: { ...FAST_FLEET.simulators, modbus: { count: 0 }, mqtt: { count: 0 }, dlms: { ...FAST_FLEET.simulators.dlms, count: 2, hls: 1 } },
    });
    cleanups.push(() => h.stop());
    expect(h.fleet?.keys.has('sim-dl-01-1')).toBe(true);
    expect((await h.get('/api/v1/terminals/sim-dl-01')).body).toMatchObject({ dlms: { clientSap: 48, auth: 'high-gmac', security: 'auth-enc' } });
    await eventually(() => latestOf(h, 'sim-dl-01-1'), 20_000, 'readings of the HLS meter');
    await eventually(() => latestOf(h, 'sim-dl-02-1'), 20_000, 'readings of the LLS meter');

    // A second terminal on the same meter, with keys that are not the meter's.
    const port = h.fleet?.dlms[0]?.port ?? 0;
    expect((await h.send('POST', '/api/v1/terminals', {
      id: 'rogue', protocol: 'dlms', profiles: ['fast'],
      dlms: { host: '127.0.0.1', port, framing: 'wrapper', clientSap: 48, auth: 'high-gmac', security: 'auth-enc', systemTitle: Buffer.from(simulatedSystemTitle(1)).toString('hex') },
    })).status).toBe(201);
    expect((await h.send('POST', '/api/v1/meters', { id: 'rogue-1', terminalId: 'rogue', address: '1' })).status).toBe(201);
    expect((await h.send('PUT', '/api/v1/meters/rogue-1/keys', { ek: randomBytes(16).toString('hex'), ak: randomBytes(16).toString('hex') })).status).toBe(200);

    const events = await eventually(async () => {
      const res = await h.get('/api/v1/security-events?meter=rogue-1');
      const items = (res.body as { items: { kind: string; terminalId: string }[] }).items;
      return items.length > 0 ? items : undefined;
    }, 20_000, 'a security event for the meter with the wrong keys');
    expect(events[0]?.terminalId).toBe('rogue');
    const metrics = await fetchApi(h, '/metrics').then((r) => r.text());
    expect(metrics).toMatch(/gridhead_security_events_total\{kind="[a-z-]+"\} [1-9]/);
  });

  it('keeps its outgoing invocation counter increasing across a restart, and the meter keeps answering', async () => {
    const ek = randomBytes(16);
    const ak = randomBytes(16);
    const systemTitle = simulatedSystemTitle(42);
    // Spread: the `security` option comes with the DLMS security branch.
    const securityOption = { security: { systemTitle, keys: { ek, ak }, protection: 'auth-enc' as const } };
    const meter = new DlmsMeterSimulator({ host: '127.0.0.1', framing: 'wrapper', seed: 42, serialNumber: 'SIM00042', ...securityOption });
    const { port } = await meter.start();
    cleanups.push(() => meter.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-sec-'));
    cleanups.push(() => { rmSync(dataDir, { recursive: true, force: true }); });
    const env = { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex'), GRIDHEAD_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN };
    const config = buildConfig({
      dataDir, http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, mqtt: { embeddedBroker: { enabled: true, port: 0 } },
      collect: { profiles: { fast: FAST_FLEET.collect.profiles.fast } },
      registry: {
        terminals: [{
          id: 'hls', protocol: 'dlms', profiles: ['fast'],
          dlms: { host: '127.0.0.1', port, framing: 'wrapper', clientSap: 48, auth: 'high-gmac', security: 'auth-enc', systemTitle: Buffer.from(systemTitle).toString('hex') },
        }],
        meters: [{ id: 'hls-1', terminalId: 'hls', address: '1' }],
      },
    }, 'test');
    const outgoing = (): number => {
      const db = openDatabase(join(dataDir, 'gridhead.db'));
      try {
        return db.prepare('SELECT MAX(reserved) FROM dlms_outgoing_counters').pluck().get() as number;
      } finally {
        db.close();
      }
    };
    const powerTs = (l: Latest): string => l.values.find((v) => v.quantity === 'power.active')?.ts ?? '';

    const first = await startHeadEnd(config, { logger: createLogger('silent'), env });
    cleanups.push(() => first.close());
    const put = await fetchApi({ url: first.url, token: TEST_ADMIN_TOKEN }, '/api/v1/meters/hls-1/keys', {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ek: ek.toString('hex'), ak: ak.toString('hex') }),
    });
    expect(put.status).toBe(200);
    const read = await eventually(() => latestOf({ url: first.url, token: TEST_ADMIN_TOKEN }, 'hls-1'), 20_000, 'readings under the stored keys');
    await first.close();
    const before = outgoing();
    expect(before).toBeGreaterThan(0);

    const second = await startHeadEnd(config, { logger: createLogger('silent'), env });
    try {
      // Readings after the restart mean the meter accepted counters above those it had seen.
      await eventually(async () => {
        const l = await latestOf({ url: second.url, token: TEST_ADMIN_TOKEN }, 'hls-1');
        return l !== undefined && powerTs(l) > powerTs(read) ? l : undefined;
      }, 20_000, 'fresh readings after the restart');
    } finally {
      await second.close();
    }
    expect(outgoing()).toBeGreaterThan(before);
  });
});
