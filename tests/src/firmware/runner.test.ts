/**
 * The campaign runner against meter doubles that keep blocks as meters do
 * (meterImageDouble.ts): a campaign upgrades every meter through slices and completes; rates
 * per terminal and in total are honoured; a meter already on the target is skipped; transient
 * failures are retried with resume and definitive ones fail at once with their code; the
 * failure budget pauses the campaign; a pause lets the slice on the wire finish and starts no
 * other; a new runner (a restarted leader) resumes with resume:true and never sends block 0
 * again; cancel ends the campaign; an MQTT terminal is offered the image and its reports finish it.
 */
import { setImmediate } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { OtaChannel, OtaOffer, OtaReport } from '../../../src/firmware/ota/channel.js';
import { ADMIN, FirmwareFleet, T0, type FleetSpec } from './fleetFixture.js';

let fleet: FirmwareFleet | undefined;
afterEach(async () => {
  await fleet?.runner.stop();
  fleet?.close();
  fleet = undefined;
});

function fleetOf(spec: FleetSpec): FirmwareFleet {
  fleet = new FirmwareFleet(spec);
  fleet.runner.start();
  return fleet;
}

async function started(f: FirmwareFleet, body: Partial<Parameters<FirmwareFleet['service']['createCampaign']>[1]> = {}, imageBytes = 1_000): Promise<string> {
  const imageId = await f.image(imageBytes);
  const { campaign } = await f.service.createCampaign(ADMIN, { name: 'upgrade', imageId, group: { meterType: 'GRD-3P' }, ...body });
  await f.service.step(ADMIN, campaign.id, 'start');
  return campaign.id;
}

describe('the campaign runner', () => {
  it('upgrades every meter in slices within the rate per terminal and in total, then completes', async () => {
    const terminals = Object.fromEntries(Array.from({ length: 6 }, (_, t) => [`t${t}`, [`m${t}a`, `m${t}b`]]));
    const f = fleetOf({ terminals, meterOptions: { m2a: { version: 'GRD-FW-2.0' } } });
    const id = await started(f, { rate: { perTerminal: 1, total: 3 } });
    await f.drive(id);
    const { campaign, counts } = await f.service.campaign(id);
    expect(campaign.state).toBe('completed');
    expect(counts).toMatchObject({ done: 11, skipped: 1, failed: 0, total: 12 });
    expect(Math.max(...f.lanes.maxPerTerminal.values())).toBe(1);
    expect(f.lanes.maxTotal).toBe(3);
    for (const [id2, meter] of f.meters) {
      expect(meter.active).toBe('GRD-FW-2.0');
      // 1,000 bytes in 64-byte blocks: 16 blocks, each sent once, in slices of 8.
      if (id2 !== 'm2a') expect([meter.received.length, meter.initiations]).toEqual([16, 1]);
    }
    expect(f.meter('m2a').received).toEqual([]);
    const skipped = await f.store.device(id, 'm2a');
    expect(skipped).toMatchObject({ state: 'skipped', fromVersion: 'GRD-FW-2.0' });
    const done = await f.store.device(id, 'm0a');
    expect(done).toMatchObject({ state: 'done', blocksHeld: 16, blocksTotal: 16, fromVersion: 'FW-1.0', toVersion: 'GRD-FW-2.0', attempts: 1 });
    const audit = (await f.audit.query({ target: 'meter:m0a', limit: 50 })).items.map((e) => e.action).reverse();
    expect(audit).toEqual(['firmware.device-transfer-started', 'firmware.device-transferred', 'firmware.device-verified', 'firmware.device-activation', 'firmware.device-done']);
  });

  it('counts a terminal\'s transfers of every campaign against each campaign\'s rate per terminal', async () => {
    const f = fleetOf({ terminals: { t1: ['a1', 'a2', 'a3'], t2: ['b1', 'b2', 'b3'] } });
    const first = await started(f, { group: { meterIds: ['a1', 'a2', 'b1'] }, rate: { perTerminal: 1, total: 4 } });
    const second = await started(f, { group: { meterIds: ['a3', 'b2', 'b3'] }, rate: { perTerminal: 1, total: 4 } });
    await f.drive(first);
    await f.drive(second);
    for (const id of [first, second]) expect((await f.service.campaign(id)).counts).toMatchObject({ done: 3, total: 3 });
    expect(Object.fromEntries(f.lanes.maxPerTerminal)).toEqual({ t1: 1, t2: 1 });
  });

  it('records the version and the signature the meter reports after the upgrade in the device register', async () => {
    const reports: { id: string; version: string; signature?: string; source: string }[] = [];
    const f = fleetOf({
      terminals: { t1: ['m1', 'm2'] },
      meterOptions: { m1: { signature: '5a17' } },
      register: {
        currentVersionOf: () => Promise.resolve(undefined),
        recordFirmware: (_kind, id, report) => { reports.push({ id, version: report.version, ...(report.signature === undefined ? {} : { signature: report.signature }), source: report.source }); return Promise.resolve(); },
      },
    });
    const id = await started(f);
    await f.drive(id);
    expect(reports.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'm1', version: 'GRD-FW-2.0', signature: '5a17', source: 'campaign' },
      { id: 'm2', version: 'GRD-FW-2.0', source: 'campaign' },
    ]);
  });

  it('retries a transient failure with resume and fails a definitive one at once with its code', async () => {
    const f = fleetOf({
      terminals: { t1: ['drop'], t2: ['refuse'], t3: ['verify'], t4: ['slow'] },
      meterOptions: { drop: { dropAtBlock: 11 }, refuse: { refuse: true }, verify: { failVerification: true }, slow: { timeoutsFirst: 5 } },
      limits: { maxAttempts: 3 },
    });
    const id = await started(f, { failureBudget: { percent: 100, minFailed: 10 } });
    await f.drive(id, { stepMs: 60_000 });
    expect(await f.store.device(id, 'drop')).toMatchObject({ state: 'done', attempts: 2, code: null });
    const drop = f.meter('drop');
    expect(drop.initiations).toBe(1);
    expect(drop.received).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(drop.resumes.slice(-1)).toEqual([true]);
    expect(await f.store.device(id, 'refuse')).toMatchObject({ state: 'failed', code: 'IMAGE_REFUSED', attempts: 1 });
    expect(await f.store.device(id, 'verify')).toMatchObject({ state: 'failed', code: 'IMAGE_VERIFICATION_FAILED', attempts: 1 });
    expect(await f.store.device(id, 'slow')).toMatchObject({ state: 'failed', code: 'TIMEOUT', attempts: 3 });
    expect((await f.service.campaign(id)).campaign.state).toBe('completed');
  });

  it('pauses itself when failed devices exceed the failure budget', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const f = fleetOf({ terminals: { t1: ids }, meterOptions: Object.fromEntries(ids.slice(0, 4).map((m) => [m, { refuse: true }])) });
    const id = await started(f, { failureBudget: { percent: 10, minFailed: 3 } });
    await f.drive(id);
    const { campaign, counts } = await f.service.campaign(id);
    expect([campaign.state, campaign.pauseReason]).toEqual(['paused', 'failure-budget']);
    expect(counts).toMatchObject({ failed: 3, pending: 7 });
    expect((await f.audit.query({ action: 'firmware.campaign-budget-pause', limit: 5 })).items).toHaveLength(1);
    await f.service.step(ADMIN, id, 'resume');
    expect((await f.service.campaign(id)).campaign.pauseReason).toBeNull();

    // Resumed with the budget still spent: it goes on until the next failure, which pauses it again.
    await f.drive(id);
    expect((await f.service.campaign(id))).toMatchObject({ campaign: { state: 'paused', pauseReason: 'failure-budget' }, counts: { failed: 4, pending: 6 } });
    await f.service.step(ADMIN, id, 'resume');
    await f.drive(id);
    expect((await f.service.campaign(id))).toMatchObject({ campaign: { state: 'completed' }, counts: { failed: 4, done: 6 } });
    expect((await f.audit.query({ action: 'firmware.campaign-budget-pause', limit: 5 })).items).toHaveLength(2);
  });

  it('lets the slice on the wire finish on pause, and a restarted runner resumes without re-initiating or resending block 0', async () => {
    const f = fleetOf({ terminals: { t1: ['m1'] } });
    const id = await started(f, {}, 3_000);
    const meter = f.meter('m1');
    meter.onSlice = async (held) => { if (held === 16) await f.service.step(ADMIN, id, 'pause'); };
    await f.drive(id);
    expect((await f.service.campaign(id)).campaign).toMatchObject({ state: 'paused', pauseReason: 'operator' });
    expect(await f.store.device(id, 'm1')).toMatchObject({ state: 'transferring', blocksHeld: 16, blocksTotal: 47, initiated: true });
    expect(meter.received).toHaveLength(16);

    // The leader restarts: a new runner over the same store takes the transfer up where the rows say.
    await f.runner.stop();
    meter.onSlice = undefined;
    f.runner = f.newRunner();
    f.runner.start();
    await f.service.step(ADMIN, id, 'resume');
    await f.drive(id);
    expect(await f.store.device(id, 'm1')).toMatchObject({ state: 'done', blocksHeld: 47 });
    expect(meter.initiations).toBe(1);
    expect(meter.resumes.slice(2).every((r) => r)).toBe(true);
    expect(meter.received).toEqual(Array.from({ length: 47 }, (_, i) => i));
  });

  it('stops at cancel: no slice after it, the campaign finished', async () => {
    const f = fleetOf({ terminals: { t1: ['m1', 'm2'] } });
    const id = await started(f, {}, 3_000);
    f.meter('m1').onSlice = async (held) => { if (held === 8) await f.service.step(ADMIN, id, 'cancel'); };
    await f.drive(id);
    expect((await f.service.campaign(id)).campaign).toMatchObject({ state: 'cancelled' });
    expect(f.meter('m1').received).toHaveLength(8);
    expect(f.meter('m2').received).toHaveLength(0);
    expect((await f.service.campaign(id)).campaign.finishedAt).toBe(T0);
  });

  it('offers the image to an MQTT terminal and follows its reports to done', async () => {
    const offers: { terminalId: string; offer: OtaOffer }[] = [];
    const listeners = new Set<(t: string, r: OtaReport) => void>();
    const channel: OtaChannel = {
      offer: (terminalId, offer) => { offers.push({ terminalId, offer }); return Promise.resolve(); },
      onReport: (l) => { listeners.add(l); return () => { listeners.delete(l); }; },
    };
    const f = fleetOf({ terminals: {}, mqttTerminals: { q1: ['qm1'] }, ota: { channel, imageUrl: (img, offer) => Promise.resolve(`http://station/api/v1/firmware/ota/${img}.${offer}`) } });
    const imageId = await f.image();
    const { campaign } = await f.service.createCampaign(ADMIN, { name: 'ota', imageId, group: { protocol: 'mqtt' } });
    await f.service.step(ADMIN, campaign.id, 'start');
    await f.runner.tick();
    await f.runner.idle();
    expect(offers).toHaveLength(1);
    const [{ terminalId, offer }] = offers as [{ terminalId: string; offer: OtaOffer }];
    expect(offer).toMatchObject({ size: 1_000, version: 'GRD-FW-2.0', activate: 'now' });
    expect(offer.url).toContain(offer.offerId);
    const report = async (r: Omit<OtaReport, 'offerId'>, expected: Record<string, unknown>) => {
      for (const l of listeners) l(terminalId, { offerId: offer.offerId, ...r });
      // The listener writes asynchronously: wait (a bounded number of turns) until the row shows the report's effect.
      for (let i = 0; i < 1_000; i++) {
        const d = await f.store.device(campaign.id, 'qm1');
        if (Object.entries(expected).every(([k, v]) => (d as unknown as Record<string, unknown>)[k] === v)) break;
        await setImmediate();
      }
      expect(await f.store.device(campaign.id, 'qm1')).toMatchObject(expected);
    };
    await report({ state: 'downloading', progress: 0.5 }, { state: 'transferring', blocksHeld: 500, blocksTotal: 1000 });
    await report({ state: 'activated', version: 'GRD-FW-2.0' }, { state: 'done' });
    await f.drive(campaign.id, { maxTicks: 50 });
    expect(await f.store.device(campaign.id, 'qm1')).toMatchObject({ state: 'done', toVersion: 'GRD-FW-2.0' });
    expect((await f.service.campaign(campaign.id)).campaign.state).toBe('completed');
  });
});
