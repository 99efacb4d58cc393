/**
 * The campaign service: an image keeps its SHA-256, size and signature; a campaign's devices are
 * its group's, resolved at creation (meter type, meter ids, protocol, the version the device
 * register knows); a group of none is CAMPAIGN_GROUP_EMPTY; the states move only as the diagram
 * says, anything else a CampaignStateConflict (409); every step is audited with the image's hash.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors.js';
import { CampaignGroupEmpty, CampaignSpecInvalid, CampaignStateConflict, FirmwareImageInvalid } from '../../../src/firmware/errors.js';
import { ADMIN, FirmwareFleet, T0 } from './fleetFixture.js';

let fleet: FirmwareFleet | undefined;
afterEach(() => { fleet?.close(); fleet = undefined; });

function fleetOf(): FirmwareFleet {
  fleet = new FirmwareFleet({
    terminals: { t1: ['m1', 'm2'], t2: ['m3'] }, mqttTerminals: { q1: ['q1m'] },
    register: { currentVersionOf: (id) => Promise.resolve(id === 'm3' ? 'FW-0.9' : undefined), recordFirmware: () => Promise.resolve() },
  });
  return fleet;
}

describe('firmware images', () => {
  it('keeps the SHA-256, the size and the vendor signature of an upload', async () => {
    const f = fleetOf();
    const bytes = Buffer.from('GRD firmware image');
    const image = await f.service.uploadImage(ADMIN, { bytes, identifier: 'GRD-FW-2.0', version: '2.0.0', signature: 'C0FFEE' });
    expect(image).toMatchObject({ name: 'GRD-FW-2.0', identifier: 'GRD-FW-2.0', version: '2.0.0', size: bytes.length, signature: 'c0ffee', uploadedBy: 'token:ops' });
    expect(image.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await f.service.image(image.id)).toEqual(image);
    await expect(f.service.uploadImage(ADMIN, { bytes, identifier: 'x', signature: 'xyz' })).rejects.toThrow(FirmwareImageInvalid);
    await expect(f.service.uploadImage(ADMIN, { bytes: new Uint8Array(0), identifier: 'x' })).rejects.toThrow(FirmwareImageInvalid);
    expect((await f.audit.query({ action: 'firmware.image-upload', limit: 5 })).items[0]?.detail).toMatchObject({ sha256: image.sha256 });
  });
});

describe('campaign definition', () => {
  it('snapshots the group\'s devices at creation, by every criterion', async () => {
    const f = fleetOf();
    const imageId = await f.image();
    const devicesOf = async (group: Parameters<typeof f.service.createCampaign>[1]['group']) => {
      const { campaign } = await f.service.createCampaign(ADMIN, { name: 'c', imageId, group });
      return (await f.store.devices(campaign.id, { limit: 100 })).items.map((d) => `${d.meterId}@${d.terminalId}`);
    };
    expect(await devicesOf({ meterType: 'GRD-3P' })).toEqual(['m1@t1', 'm2@t1', 'm3@t2']);
    expect(await devicesOf({ meterIds: ['m3', 'm1', 'nope'] })).toEqual(['m1@t1', 'm3@t2']);
    expect(await devicesOf({ protocol: 'mqtt' })).toEqual(['q1m@q1']);
    expect(await devicesOf({ currentVersion: 'FW-0.9' })).toEqual(['m3@t2']);
    await expect(devicesOf({ meterType: 'OTHER' })).rejects.toThrow(CampaignGroupEmpty);
    await expect(devicesOf({ meterType: 'GRD-3P', protocol: 'mqtt' })).rejects.toThrow(CampaignGroupEmpty);
  });

  it('refuses an unknown image, a window that ends before it begins and an activation in the past', async () => {
    const f = fleetOf();
    const imageId = await f.image();
    await expect(f.service.createCampaign(ADMIN, { name: 'c', imageId: 'nope', group: { meterType: 'GRD-3P' } })).rejects.toThrow(ValidationError);
    await expect(f.service.createCampaign(ADMIN, { name: 'c', imageId, group: { meterType: 'GRD-3P' }, window: { notBefore: T0 + 10, notAfter: T0 } })).rejects.toThrow(CampaignSpecInvalid);
    await expect(f.service.createCampaign(ADMIN, { name: 'c', imageId, group: { meterType: 'GRD-3P' }, activation: { at: 'scheduled', time: T0 - 1 } })).rejects.toThrow(CampaignSpecInvalid);
    const { campaign } = await f.service.createCampaign(ADMIN, { name: 'c', imageId, group: { meterType: 'GRD-3P' } });
    expect(campaign).toMatchObject({ state: 'draft', rate: { perTerminal: 1, total: 16 }, failureBudget: { percent: 10, minFailed: 3 }, activation: { at: 'now' } });
  });
});

describe('campaign states', () => {
  it('moves draft → running ⇄ paused → cancelled and refuses every other step with a 409', async () => {
    const f = fleetOf();
    const { campaign } = await f.service.createCampaign(ADMIN, { name: 'c', imageId: await f.image(), group: { meterType: 'GRD-3P' } });
    const id = campaign.id;
    for (const step of ['pause', 'resume'] as const) await expect(f.service.step(ADMIN, id, step)).rejects.toThrow(CampaignStateConflict);
    expect((await f.service.step(ADMIN, id, 'start')).campaign).toMatchObject({ state: 'running', startedAt: T0 });
    await expect(f.service.step(ADMIN, id, 'start')).rejects.toMatchObject({ code: 'CAMPAIGN_STATE', status: 409 });
    expect((await f.service.step(ADMIN, id, 'pause')).campaign).toMatchObject({ state: 'paused', pauseReason: 'operator' });
    expect((await f.service.step(ADMIN, id, 'resume')).campaign).toMatchObject({ state: 'running', pauseReason: null });
    expect((await f.service.step(ADMIN, id, 'cancel')).campaign).toMatchObject({ state: 'cancelled', finishedAt: T0 });
    for (const step of ['start', 'pause', 'resume', 'cancel'] as const) await expect(f.service.step(ADMIN, id, step)).rejects.toThrow(CampaignStateConflict);
    const audit = (await f.audit.query({ target: `firmware-campaign:${id}`, limit: 10 })).items.map((e) => e.action).reverse();
    expect(audit).toEqual(['firmware.campaign-create', 'firmware.campaign-start', 'firmware.campaign-pause', 'firmware.campaign-resume', 'firmware.campaign-cancel']);
  });
});
