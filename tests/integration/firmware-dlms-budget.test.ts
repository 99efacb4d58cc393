/**
 * Firmware campaigns over real sockets where meters say no: simulated DLMS meters (IC 18 at
 * 0.0.44.0.0.255, IC 22 at 0.0.15.0.2.255) in this process, the station in a child process of
 * its own (tests/helpers/stationProcess.ts), driven through the HTTP API.
 *
 *   - the failure budget: meters that fail verification or refuse the identifier pause the
 *     campaign; nothing pending starts while it is paused; a resume goes on until the next
 *     failure, and the healthy meters all end on the new image;
 *   - a scheduled activation (IC 22): meters wait on the old image until the time, then run the
 *     new one, and the device register records the change as the campaign's;
 *   - an image larger than a meter type takes (IMAGE_TOO_LARGE, before initiate) or than the
 *     meter itself takes (its initiate answers other-reason: IMAGE_REFUSED); a group that
 *     matches nothing (422 CAMPAIGN_GROUP_EMPTY).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirmwareOptions } from '../../simulators/dlms/imageTransfer.js';
import { DlmsMeterSimulator } from '../../simulators/dlms/server.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../bench/forkTs.js';
import { fetchApi } from '../helpers/api.js';
import { TEST_ADMIN_TOKEN, eventually } from '../helpers/headend.js';
import { isStationReply } from '../helpers/stationProcess.js';

const BLOCK = 192; // the simulator's image_block_size
const SMALL_TYPE_MAX = 4096; // dlms.meterTypes.GRD-SMALL.maxImageBytes, and the GRD-TINY meters' own limit

interface MeterSpec { readonly id: string; readonly type: string; readonly firmware?: FirmwareOptions }

/** Budget meters b00…b29: every fifth fails, the first four at verification, the last two refuse the identifier. */
const budgetMeters: MeterSpec[] = Array.from({ length: 30 }, (_, i) => {
  const id = `b${String(i).padStart(2, '0')}`;
  if (i % 5 !== 0) return { id, type: 'GRD-B' };
  return { id, type: 'GRD-B', firmware: i < 20 ? { failVerification: true } : { refuseIdentifiers: ['GRD-FW-2.0.0'] } };
});
const meters: MeterSpec[] = [
  ...budgetMeters,
  ...['s0', 's1', 's2'].map((id) => ({ id, type: 'GRD-S' })),
  ...['small0', 'small1'].map((id) => ({ id, type: 'GRD-SMALL' })),
  { id: 'tiny0', type: 'GRD-TINY', firmware: { maxImageBytes: SMALL_TYPE_MAX } },
];

const sims = new Map<string, DlmsMeterSimulator>();
/** Per meter, the instants its image_transfer_initiate was called. */
const initiations = new Map<string, number[]>();
let station: ForkedModule | undefined;
let he: { url: string; token: string };
const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-fwb-'));

function stationConfig(): Record<string, unknown> {
  return {
    dataDir, http: { host: '127.0.0.1', port: 0 }, simulators: { enabled: false },
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    firmware: { tickMs: 100, sliceBlocks: 8, retryBackoffMs: 200, activationPollMs: 300 },
    dlms: { meterTypes: { 'GRD-SMALL': { maxImageBytes: SMALL_TYPE_MAX } } },
    registry: {
      terminals: meters.map((m) => ({
        id: `t-${m.id}`, protocol: 'dlms', profiles: [],
        dlms: { host: '127.0.0.1', port: sims.get(m.id)?.port, framing: 'wrapper', clientSap: 1, auth: 'low', keyGroup: 'fw', meterType: m.type },
      })),
      meters: meters.map((m) => ({ id: m.id, terminalId: `t-${m.id}`, address: '1' })),
    },
  };
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetchApi(he, path, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return await res.json() as T;
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function upload(identifier: string, bytes: Buffer): Promise<string> {
  const res = await fetchApi(he, `/api/v1/firmware/images?identifier=${identifier}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  expect(res.status).toBe(201);
  return (await res.json() as { id: string }).id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const activeVersion = (id: string): string => Buffer.from(sims.get(id)?.meter.firmware.transfer.active.identifier ?? []).toString();

beforeAll(async () => {
  process.env.GRIDHEAD_MASTER_KEY = randomBytes(32).toString('hex');
  process.env.GRIDHEAD_BOOTSTRAP_TOKEN = TEST_ADMIN_TOKEN;
  for (const [i, m] of meters.entries()) {
    const sim = new DlmsMeterSimulator({ framing: 'wrapper', seed: i, serialNumber: String(20_000 + i), historyDays: 0, customerType: 'residential', ...(m.firmware === undefined ? {} : { firmware: m.firmware }) });
    await sim.start();
    sims.set(m.id, sim);
    const fw = sim.meter.firmware.transfer;
    const initiate = fw.initiate.bind(fw);
    fw.initiate = (identifier: Uint8Array, size: number, now: number) => {
      initiations.set(m.id, [...initiations.get(m.id) ?? [], Date.now()]);
      return initiate(identifier, size, now);
    };
  }
  const forked = await forkTypeScript('tests/helpers/stationProcess.ts', ['--station', JSON.stringify(stationConfig())]);
  station = forked;
  const ready = await nextMessage(forked.child, isStationReply);
  if (ready.type !== 'ready') throw new Error(`station did not start: ${JSON.stringify(ready)}`);
  he = { url: ready.url, token: TEST_ADMIN_TOKEN };
  // The management client's LLS password (the simulator's default): image transfer needs it.
  const keys = await fetchApi(he, '/api/v1/key-groups/fw/keys', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: '12345678' }) });
  if (keys.status !== 200) throw new Error(`keys not set: ${keys.status} ${await keys.text()}`);
}, 60_000);

afterAll(async () => {
  station?.child.kill('SIGKILL');
  await station?.dispose();
  for (const s of sims.values()) await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Counts { pending: number; transferring: number; activating: number; done: number; failed: number; skipped: number; total: number }
interface CampaignView { id: string; state: string; pauseReason?: string; counts: Counts }
interface DeviceView { meterId: string; state: string; code?: string; reason?: string; toVersion?: string }

const campaignOf = (id: string) => json<CampaignView>(`/api/v1/firmware/campaigns/${id}`);
const devicesOf = async (id: string, state?: string) =>
  (await json<{ items: DeviceView[] }>(`/api/v1/firmware/campaigns/${id}/devices?limit=1000${state === undefined ? '' : `&state=${state}`}`)).items;

/** Waits until the campaign leaves 'running' (paused or ended). */
async function settled(id: string, what: string): Promise<CampaignView> {
  let last: CampaignView | undefined;
  return eventually(async () => {
    last = await campaignOf(id);
    return last.state === 'running' ? undefined : last;
  }, 30_000, what).catch((err: unknown) => { throw new Error(`${String(err)}; campaign: ${JSON.stringify(last)}`); });
}

describe('DLMS firmware campaigns against meters that say no', () => {
  it('pauses on its failure budget, starts nothing pending while paused, and goes on after a resume until the next failure', async () => {
    const imageId = await upload('GRD-FW-2.0.0', Buffer.alloc(BLOCK * 10, 0x5a));
    const created = await json<CampaignView>('/api/v1/firmware/campaigns', post({
      name: 'budget', imageId, group: { meterType: 'GRD-B' }, rate: { perTerminal: 1, total: 6 }, failureBudget: { percent: 10, minFailed: 3 },
    }));
    expect(created.counts.total).toBe(30);
    await json(`/api/v1/firmware/campaigns/${created.id}/start`, { method: 'POST' });

    const paused = await settled(created.id, 'the failure budget to pause the campaign');
    expect(paused).toMatchObject({ state: 'paused', pauseReason: 'failure-budget' });
    expect(paused.counts.failed).toBeGreaterThanOrEqual(3);
    expect(paused.counts.pending).toBeGreaterThan(0);
    // A device taken up just before the pause may still go on with the step on the wire; once
    // that is over, many runner ticks (100 ms each) pass and nothing pending is taken up.
    await sleep(2_000);
    const pendingAtPause = (await devicesOf(created.id, 'pending')).map((d) => d.meterId);
    const initiatedAtPause = [...initiations.keys()].sort();
    expect(pendingAtPause.length).toBeGreaterThan(0);
    await sleep(1_500);
    expect((await devicesOf(created.id, 'pending')).map((d) => d.meterId)).toEqual(pendingAtPause);
    expect([...initiations.keys()].sort()).toEqual(initiatedAtPause);
    for (const id of pendingAtPause) expect([id, initiations.get(id)]).toEqual([id, undefined]);
    const audit = await json<{ items: { action: string; detail: { failed: number } }[] }>(`/api/v1/audit?target=firmware-campaign:${created.id}&limit=100`);
    expect(audit.items.filter((e) => e.action === 'firmware.campaign-budget-pause')).toHaveLength(1);

    // Each resume goes on; the budget, still spent, pauses the campaign again at the next failure (not before).
    let failedAtPause = paused.counts.failed;
    let pauses = 1;
    for (;;) {
      const resumed = await json<CampaignView>(`/api/v1/firmware/campaigns/${created.id}/resume`, { method: 'POST' });
      expect([resumed.state, resumed.pauseReason]).toEqual(['running', undefined]);
      const next = await settled(created.id, 'the resumed campaign to pause again or complete');
      if (next.state === 'completed') break;
      expect(next).toMatchObject({ state: 'paused', pauseReason: 'failure-budget' });
      expect(next.counts.failed).toBeGreaterThan(failedAtPause);
      failedAtPause = next.counts.failed;
      pauses++;
    }
    expect(pauses).toBeGreaterThan(1);
    expect((await campaignOf(created.id)).counts).toMatchObject({ done: 24, failed: 6, pending: 0, total: 30 });

    const failed = await devicesOf(created.id, 'failed');
    expect(failed.map((d) => [d.meterId, d.code])).toEqual([
      ['b00', 'IMAGE_VERIFICATION_FAILED'], ['b05', 'IMAGE_VERIFICATION_FAILED'], ['b10', 'IMAGE_VERIFICATION_FAILED'],
      ['b15', 'IMAGE_VERIFICATION_FAILED'], ['b20', 'IMAGE_REFUSED'], ['b25', 'IMAGE_REFUSED'],
    ]);
    // The reason names what the meter said, by its Blue Book name.
    for (const d of failed) expect(d.reason).toMatch(d.code === 'IMAGE_REFUSED' ? /image_transfer_initiate answered other-reason/ : /image_transfer_status image-verification-failed/);
    for (const m of budgetMeters) expect([m.id, activeVersion(m.id)]).toEqual([m.id, m.firmware === undefined ? 'GRD-FW-2.0.0' : 'GRD-FW-1.0.0']);
  }, 60_000);

  it('activates at the scheduled time through IC 22: old image until then, the new one after, and the register records it', async () => {
    const imageId = await upload('GRD-FW-3.0.0', Buffer.alloc(BLOCK * 6 + 50, 0x33));
    const time = Date.now() + 6_000;
    const created = await json<CampaignView>('/api/v1/firmware/campaigns', post({
      name: 'scheduled', imageId, group: { meterType: 'GRD-S' }, rate: { perTerminal: 1, total: 3 }, activation: { at: 'scheduled', time: new Date(time).toISOString() },
    }));
    await json(`/api/v1/firmware/campaigns/${created.id}/start`, { method: 'POST' });

    const waiting = await eventually(async () => {
      const c = await campaignOf(created.id);
      return c.counts.activating === 3 ? c : undefined;
    }, 30_000, 'the three meters to wait for their activation');
    expect(waiting.state).toBe('running');
    // Still before the time: the meters run the old image, with the new one verified and scheduled.
    expect(Date.now()).toBeLessThan(time);
    for (const id of ['s0', 's1', 's2']) {
      expect([id, activeVersion(id), sims.get(id)?.meter.firmware.transfer.status(Date.now())]).toEqual([id, 'GRD-FW-1.0.0', 'verification-successful']);
    }

    const ended = await settled(created.id, 'the scheduled activation to complete the campaign');
    expect(ended).toMatchObject({ state: 'completed', counts: { done: 3, failed: 0 } });
    for (const id of ['s0', 's1', 's2']) expect([id, activeVersion(id)]).toEqual([id, 'GRD-FW-3.0.0']);
    const done = await devicesOf(created.id);
    expect(done.map((d) => [d.meterId, d.state, d.toVersion])).toEqual(['s0', 's1', 's2'].map((id) => [id, 'done', 'GRD-FW-3.0.0']));

    const register = await json<{ device: { firmwareVersion: string }; firmwareHistory: { to: string; source: string; campaignId?: string }[] }>('/api/v1/devices/meter/s0');
    expect(register.device.firmwareVersion).toBe('GRD-FW-3.0.0');
    expect(register.firmwareHistory).toContainEqual(expect.objectContaining({ to: 'GRD-FW-3.0.0', source: 'campaign', campaignId: created.id }));
  }, 60_000);

  it('fails devices an image is too large for, and refuses a group that matches nothing', async () => {
    const imageId = await upload('GRD-FW-4.0.0', Buffer.alloc(SMALL_TYPE_MAX + 1, 0x44));
    const created = await json<CampaignView>('/api/v1/firmware/campaigns', post({
      name: 'too large', imageId, group: { meterIds: ['small0', 'small1', 'tiny0'] }, failureBudget: { percent: 100 },
    }));
    await json(`/api/v1/firmware/campaigns/${created.id}/start`, { method: 'POST' });
    const ended = await settled(created.id, 'the oversize campaign to end');
    expect(ended).toMatchObject({ state: 'completed', counts: { failed: 3, done: 0 } });
    const failed = await devicesOf(created.id, 'failed');
    // The meter type's limit is known before initiate; the meter's own limit only shows as its initiate's answer.
    expect(failed.map((d) => [d.meterId, d.code])).toEqual([['small0', 'IMAGE_TOO_LARGE'], ['small1', 'IMAGE_TOO_LARGE'], ['tiny0', 'IMAGE_REFUSED']]);
    expect(failed[0]?.reason).toContain(`at most ${SMALL_TYPE_MAX}`);
    expect(failed[2]?.reason).toMatch(/answered other-reason/);
    for (const id of ['small0', 'small1']) expect([id, initiations.get(id)]).toEqual([id, undefined]);
    expect(activeVersion('tiny0')).toBe('GRD-FW-1.0.0');

    const empty = await fetchApi(he, '/api/v1/firmware/campaigns', post({ name: 'nobody', imageId, group: { meterType: 'NO-SUCH-TYPE' } }));
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({ code: 'CAMPAIGN_GROUP_EMPTY' });
  }, 60_000);
});
