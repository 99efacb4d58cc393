/**
 * A firmware campaign over real sockets against the simulated DLMS fleet: 200 simulated meters
 * (simulators/dlms, IC 18 at 0.0.44.0.0.255) in this process, the station in a child process of
 * its own (tests/helpers/stationProcess.ts) on their endpoints. The campaign runs with a rate
 * limit; an operator's disconnect to a meter in the middle of its transfer is served while that
 * transfer is still under way; the station is killed with SIGKILL mid-campaign and restarted on
 * its data directory; every meter ends on the new image, was initiated once, and received
 * block 0 once: no transfer restarted from the beginning.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../bench/forkTs.js';
import { fetchApi } from '../helpers/api.js';
import { TEST_ADMIN_TOKEN, eventually } from '../helpers/headend.js';
import { isStationReply } from '../helpers/stationProcess.js';

const METERS = 200;
const IMAGE = Buffer.alloc(192 * 60, 0x3c); // 60 blocks of the simulator's 192 bytes
const meterIdOf = (i: number): string => `fw-m${String(i).padStart(3, '0')}`;

const sims: DlmsMeterSimulator[] = [];
/** Per meter: how often it was initiated, and how often it received block 0. */
const initiations = new Map<string, number>();
const blockZero = new Map<string, number>();
let station: ForkedModule | undefined;
let he: { url: string; token: string };
const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-fw-'));

function stationConfig(): Record<string, unknown> {
  return {
    dataDir, http: { host: '127.0.0.1', port: 0 }, simulators: { enabled: false },
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    firmware: { tickMs: 100, sliceBlocks: 8, retryBackoffMs: 200 },
    registry: {
      terminals: sims.map((s, i) => ({ id: `fw-t${String(i).padStart(3, '0')}`, protocol: 'dlms', profiles: [], dlms: { host: '127.0.0.1', port: s.port, framing: 'wrapper', clientSap: 1, auth: 'low', keyGroup: 'fw', meterType: 'GRD-FW' } })),
      meters: sims.map((_, i) => ({ id: meterIdOf(i), terminalId: `fw-t${String(i).padStart(3, '0')}`, address: '1' })),
    },
  };
}

async function startStation(): Promise<void> {
  const forked = await forkTypeScript('tests/helpers/stationProcess.ts', ['--station', JSON.stringify(stationConfig())]);
  station = forked;
  const ready = await nextMessage(forked.child, isStationReply);
  if (ready.type !== 'ready') throw new Error(`station did not start: ${JSON.stringify(ready)}`);
  he = { url: ready.url, token: TEST_ADMIN_TOKEN };
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetchApi(he, path, init);
  return await res.json() as T;
}

beforeAll(async () => {
  process.env.GRIDHEAD_MASTER_KEY = randomBytes(32).toString('hex');
  process.env.GRIDHEAD_BOOTSTRAP_TOKEN = TEST_ADMIN_TOKEN;
  for (let i = 0; i < METERS; i++) {
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: i, serialNumber: String(10_000 + i), historyDays: 0, customerType: 'residential' });
    await sim.start();
    sims.push(sim);
    const id = meterIdOf(i);
    const fw = sim.meter.firmware.transfer;
    const initiate = fw.initiate.bind(fw);
    const block = fw.block.bind(fw);
    fw.initiate = (identifier: Uint8Array, size: number, now: number) => { initiations.set(id, (initiations.get(id) ?? 0) + 1); return initiate(identifier, size, now); };
    fw.block = (n: number, value: Uint8Array, now: number) => { if (n === 0) blockZero.set(id, (blockZero.get(id) ?? 0) + 1); return block(n, value, now); };
  }
  await startStation();
  // The management client's LLS password (the simulator's default), for the whole fleet: image transfer and commands need it.
  const keys = await fetchApi(he, '/api/v1/key-groups/fw/keys', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: '12345678' }) });
  if (keys.status !== 200) throw new Error(`keys not set: ${keys.status} ${await keys.text()}`);
}, 120_000);

afterAll(async () => {
  station?.child.kill('SIGKILL');
  await station?.dispose();
  for (const s of sims) await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface CampaignView { id: string; state: string; counts: { done: number; transferring: number; failed: number; total: number } }
interface DeviceView { meterId: string; state: string; blocksHeld: number; blocksTotal: number }

describe('a DLMS firmware campaign over the simulated fleet', () => {
  it('runs within its rate, serves a command mid-transfer, and resumes after SIGKILL without starting any transfer over', async () => {
    const uploaded = await fetchApi(he, '/api/v1/firmware/images?identifier=GRD-FW-2.0.0', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: IMAGE });
    expect(uploaded.status).toBe(201);
    const { id: imageId } = await uploaded.json() as { id: string };
    const created = await json<CampaignView>('/api/v1/firmware/campaigns', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'GRD 2.0.0', imageId, group: { meterType: 'GRD-FW' }, rate: { perTerminal: 1, total: 24 } }),
    });
    expect(created.counts.total).toBe(METERS);
    await fetchApi(he, `/api/v1/firmware/campaigns/${created.id}/start`, { method: 'POST' });
    const transferring = async () => (await json<{ items: DeviceView[] }>(`/api/v1/firmware/campaigns/${created.id}/devices?state=transferring&limit=1000`)).items;

    // An operator's disconnect to a meter in mid-transfer: served while its transfer is still under way.
    const busy = await eventually(async () => (await transferring()).find((d) => d.blocksHeld > 0 && d.blocksHeld < d.blocksTotal - 16), 60_000, 'a meter in mid-transfer');
    const command = await json<{ id: string }>('/api/v1/commands', {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `fw-${busy.meterId}` }, body: JSON.stringify({ type: 'disconnect', meterIds: [busy.meterId] }),
    });
    const served = await eventually(async () => {
      const c = await json<{ status: string }>(`/api/v1/commands/${command.id}`);
      return c.status === 'open' ? undefined : c;
    }, 60_000, 'the command to be served');
    expect(served.status).toBe('verified');
    // The meter's audit trail in order: its transfer started, the disconnect was served, and only then the transfer ended.
    const trail = await eventually(async () => {
      const actions = (await json<{ items: { action: string }[] }>(`/api/v1/audit?target=meter:${busy.meterId}&limit=100`)).items.map((e) => e.action).reverse();
      return actions.includes('firmware.device-transferred') ? actions : undefined;
    }, 60_000, 'the busy meter\'s transfer to end');
    expect(trail.indexOf('firmware.device-transfer-started')).toBeLessThan(trail.indexOf('command.disconnect'));
    expect(trail.indexOf('command.disconnect')).toBeLessThan(trail.indexOf('firmware.device-transferred'));
    // The campaign honours its rate: never more devices in transfer than its total.
    expect((await transferring()).length).toBeLessThanOrEqual(24);

    // SIGKILL mid-campaign, with transfers part-way, then a restart on the same data directory.
    let last: CampaignView | undefined;
    const part = await eventually(async () => {
      last = await json<CampaignView>(`/api/v1/firmware/campaigns/${created.id}`);
      return last.counts.done >= 30 && last.counts.transferring > 0 ? last : undefined;
    }, 120_000, 'the campaign part-way').catch((err: unknown) => { throw new Error(`${String(err)}; campaign: ${JSON.stringify(last)}`); });
    expect(part.state).toBe('running');
    const victim = station;
    const exited = new Promise((resolve) => victim?.child.once('exit', resolve));
    victim?.child.kill('SIGKILL');
    await exited;
    await victim?.dispose();
    await startStation();

    const ended = await eventually(async () => {
      const c = await json<CampaignView>(`/api/v1/firmware/campaigns/${created.id}`);
      return c.state === 'running' ? undefined : c;
    }, 240_000, 'the campaign to end after the restart');
    expect(ended).toMatchObject({ state: 'completed', counts: { done: METERS, failed: 0 } });
    for (let i = 0; i < METERS; i++) {
      const id = meterIdOf(i);
      expect([id, initiations.get(id), blockZero.get(id)]).toEqual([id, 1, 1]);
      expect(Buffer.from(sims[i]?.meter.firmware.transfer.active.identifier ?? []).toString()).toBe('GRD-FW-2.0.0');
    }
  }, 400_000);
});
