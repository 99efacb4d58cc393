/**
 * Firmware campaigns over the simulated DLMS fleet: meters upgraded per second (transfer of a
 * 16 KiB image in slices, verify, activate, read back) by the whole station (startHeadEnd, its
 * collection lanes and the campaign runner) against METERS simulated meters over real sockets,
 * at each campaign concurrency (`rate.total`). The meters run in this process, so the figures
 * share the CPU with them; they compare with each other, not with a field of real meters.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsClient } from '../../protocols/dlms/client/client.js';
import { activateImage, readActiveFirmware, verifyImage } from '../../protocols/dlms/client/imageActivation.js';
import { sendImage } from '../../protocols/dlms/client/imageTransfer.js';
import { openDlmsTransport } from '../../protocols/dlms/net/clientTransport.js';
import { DlmsMeterSimulator, MANAGEMENT_CLIENT } from '../../simulators/dlms/server.js';
import { fetchApi } from '../helpers/api.js';
import { eventually, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const METERS = 200;
const CONCURRENCY = [8, 32, 64] as const;
const IMAGE = Buffer.alloc(16 * 1024, 0x42);

const sims: DlmsMeterSimulator[] = [];
let he: TestHeadEnd;

beforeAll(async () => {
  for (let i = 0; i < METERS; i++) {
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: i, serialNumber: String(20_000 + i), historyDays: 0, firmware: { verifyMs: 50, activateMs: 50 } });
    await sim.start();
    sims.push(sim);
  }
  he = await startTestHeadEnd({
    simulators: { enabled: false }, mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    firmware: { tickMs: 50, sliceBlocks: 32, maxConcurrentTransfers: 256 },
    registry: {
      terminals: sims.map((s, i) => ({ id: `b-t${i}`, protocol: 'dlms', profiles: [], dlms: { host: '127.0.0.1', port: s.port, framing: 'wrapper', clientSap: 1, auth: 'low', keyGroup: 'bench' } })),
      meters: sims.map((_, i) => ({ id: `b-m${i}`, terminalId: `b-t${i}`, address: '1' })),
    },
  }, { env: { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') } });
  const keys = await fetchApi(he, '/api/v1/key-groups/bench/keys', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: '12345678' }) });
  expect(keys.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await he.stop();
  for (const s of sims) await s.stop();
});

describe('firmware campaign throughput', () => {
  it.each(CONCURRENCY)('upgrades %i meters at a time', async (concurrency) => {
    const identifier = `GRD-FW-BENCH-${concurrency}`;
    const uploaded = await fetchApi(he, `/api/v1/firmware/images?identifier=${identifier}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: IMAGE });
    const { id: imageId } = await uploaded.json() as { id: string };
    const created = await he.send('POST', '/api/v1/firmware/campaigns', { name: identifier, imageId, group: { protocol: 'dlms' }, rate: { perTerminal: 1, total: concurrency } });
    const { id } = created.body as { id: string };
    const start = performance.now();
    await he.send('POST', `/api/v1/firmware/campaigns/${id}/start`);
    const ended = await eventually(async () => {
      const c = (await he.get(`/api/v1/firmware/campaigns/${id}`)).body as { state: string; counts: { done: number; failed: number } };
      return c.state === 'running' ? undefined : c;
    }, 590_000, 'the campaign to end');
    const seconds = (performance.now() - start) / 1000;
    expect(ended.counts.done).toBe(METERS);
    console.log(`bench: firmware campaign (${METERS} meters, ${IMAGE.length / 1024} KiB image, concurrency ${concurrency}) = ${(METERS / seconds).toFixed(1)} meters/s`);
    console.log(`bench: firmware campaign bytes (concurrency ${concurrency}) = ${((METERS * IMAGE.length) / seconds / 1024).toFixed(0)} KiB/s`);
  }, 600_000);
});

/**
 * The ceiling: the same steps (transfer, verify, activate, read back) with the bare DLMS client,
 * `concurrency` meters at a time, no station: no lanes, slices, persistence or audit.
 */
describe('firmware transfer ceiling (bare client)', () => {
  it.each(CONCURRENCY)('upgrades %i meters at a time', async (concurrency) => {
    const image = { identifier: Uint8Array.from(Buffer.from(`GRD-FW-BARE-${concurrency}`)), bytes: Uint8Array.from(IMAGE) };
    let next = 0;
    const upgrade = async (sim: DlmsMeterSimulator): Promise<void> => {
      const transport = await openDlmsTransport({ host: '127.0.0.1', port: sim.port, framing: 'wrapper', clientSap: MANAGEMENT_CLIENT, serverSap: 1, timeoutMs: 10_000 }, new AbortController().signal);
      const client = new DlmsClient(transport, { clientSap: MANAGEMENT_CLIENT, timeoutMs: 10_000, auth: { mechanism: 'low', password: '12345678' } });
      try {
        await client.associate();
        await sendImage(client, { address: '1', image, resume: false });
        await verifyImage(client, image);
        await activateImage(client, { at: 'now' });
        expect((await readActiveFirmware(client)).identifier).toBe(`GRD-FW-BARE-${concurrency}`);
        await client.release();
      } finally {
        await client.close();
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let sim = sims[next++]; sim !== undefined; sim = sims[next++]) await upgrade(sim);
    }));
    const seconds = (performance.now() - start) / 1000;
    console.log(`bench: firmware ceiling bare client (${METERS} meters, concurrency ${concurrency}) = ${(METERS / seconds).toFixed(1)} meters/s`);
  }, 600_000);
});
