/**
 * The firmware store's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, tests/helpers/storeDrivers.ts): images kept byte for byte, a campaign and its
 * device snapshot written together, campaign changes decided inside the transaction (a refusal
 * rolls back), device pages by meter id under a state filter, due devices furthest along first,
 * and a device's progress read back after a reconnect, as a restarted station reads it.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CampaignStateConflict } from '../../../src/firmware/errors.js';
import type { Campaign } from '../../../src/firmware/model.js';
import { stepPatch } from '../../../src/firmware/service.js';
import type { FirmwareStore } from '../../../src/firmware/store.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, firmwareStoreOf } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2026, 0, 5, 8);

function campaign(id: string, o: Partial<Campaign> = {}): Campaign {
  return {
    id, name: `Campaign ${id}`, imageId: 'img-1', group: { meterType: 'GRD-3P' }, window: { daily: { from: '22:00', to: '05:00' } },
    rate: { perTerminal: 1, total: 16 }, activation: { at: 'scheduled', time: T0 + 86_400_000 }, failureBudget: { percent: 10, minFailed: 3 },
    state: 'draft', pauseReason: null, createdAt: T0, createdBy: 'token:ops', startedAt: null, finishedAt: null, ...o,
  };
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('firmware store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: FirmwareStore;
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
  beforeEach(async () => {
    store = firmwareStoreOf(db().connection);
    await store.insertImage({
      id: 'img-1', name: 'GRD 1.1', identifier: 'GRD-FW-1.1.0', version: '1.1.0', size: bytes.length, sha256: 'ab'.repeat(32), signature: 'c0ffee',
      uploadedAt: T0, uploadedBy: 'token:ops', bytes,
    });
  });

  it('keeps an image byte for byte with its metadata', async () => {
    expect(Buffer.from(await store.imageBytes('img-1') ?? []).equals(Buffer.from(bytes))).toBe(true);
    expect(await store.image('img-1')).toEqual({
      id: 'img-1', name: 'GRD 1.1', identifier: 'GRD-FW-1.1.0', version: '1.1.0', size: 70_000, sha256: 'ab'.repeat(32), signature: 'c0ffee', uploadedAt: T0, uploadedBy: 'token:ops',
    });
    expect((await store.images()).map((i) => i.id)).toEqual(['img-1']);
    expect(await store.image('nope')).toBeUndefined();
    expect(await store.imageBytes('nope')).toBeUndefined();
  });

  it('writes a campaign with its snapshot, counts devices by state and pages them by meter id under a state filter', async () => {
    const devices = Array.from({ length: 25 }, (_, i) => ({ meterId: `m-${String(i).padStart(3, '0')}`, terminalId: `t-${i % 3}` }));
    await store.insertCampaign(campaign('c1'), devices);
    expect(await store.campaign('c1')).toEqual(campaign('c1'));
    expect((await store.counts('c1'))).toMatchObject({ pending: 25, total: 25, done: 0 });
    await store.updateDevice('c1', 'm-003', { state: 'failed', code: 'IMAGE_REFUSED', reason: 'other-reason' }, T0 + 5);
    await store.updateDevice('c1', 'm-007', { state: 'failed', code: 'TIMEOUT', reason: 'timed out' }, T0 + 6);
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await store.devices('c1', { limit: 10, ...(after === undefined ? {} : { after }) });
      seen.push(...page.items.map((d) => d.meterId));
      after = page.next ?? undefined;
    } while (after !== undefined);
    expect(seen).toEqual(devices.map((d) => d.meterId));
    const failed = await store.devices('c1', { state: 'failed', limit: 1 });
    expect(failed.items.map((d) => [d.meterId, d.code])).toEqual([['m-003', 'IMAGE_REFUSED']]);
    expect((await store.devices('c1', { state: 'failed', limit: 1, after: failed.next ?? '' })).items.map((d) => d.meterId)).toEqual(['m-007']);
    expect(await store.counts('c1')).toMatchObject({ pending: 23, failed: 2, total: 25 });
  });

  it('decides a campaign change inside its transaction: a refusal changes nothing, a step is read back', async () => {
    await store.insertCampaign(campaign('c1'), [{ meterId: 'm1', terminalId: 't1' }]);
    const started = await store.changeCampaign('c1', (c, counts) => {
      expect(counts.pending).toBe(1);
      return stepPatch(c.state, 'start', T0 + 1) ?? null;
    }, T0 + 1);
    expect(started).toMatchObject({ state: 'running', startedAt: T0 + 1 });
    await expect(store.changeCampaign('c1', (c) => { throw new CampaignStateConflict(c.id, c.state, 'start'); }, T0 + 2)).rejects.toThrow(CampaignStateConflict);
    expect(await store.campaign('c1')).toMatchObject({ state: 'running', pauseReason: null });
    await store.changeCampaign('c1', (c) => stepPatch(c.state, 'budget-pause', T0 + 3) ?? null, T0 + 3);
    expect(await store.campaign('c1')).toMatchObject({ state: 'paused', pauseReason: 'failure-budget' });
    expect((await store.campaigns(['running'])).length).toBe(0);
    expect((await store.campaigns(['paused', 'draft'])).map((c) => c.id)).toEqual(['c1']);
    expect(await store.changeCampaign('nope', () => null, T0)).toBeUndefined();
  });

  it('answers due devices furthest along first and keeps a transfer\'s progress across a reconnect', async () => {
    await store.insertCampaign(campaign('c1'), ['a', 'b', 'c', 'd'].map((m) => ({ meterId: m, terminalId: 't1' })));
    await store.updateDevice('c1', 'c', { state: 'transferring', initiated: true, blocksHeld: 64, blocksTotal: 300, blockSize: 192, attempts: 1 }, T0 + 1);
    await store.updateDevice('c1', 'd', { state: 'activating', notBefore: T0 + 1_000 }, T0 + 1);
    await store.updateDevice('c1', 'a', { notBefore: T0 + 500, offerId: 'offer-1' }, T0 + 1);
    expect((await store.dueDevices('c1', ['pending', 'transferring', 'activating'], T0 + 10, 10)).map((d) => d.meterId)).toEqual(['c', 'b']);
    expect((await store.dueDevices('c1', ['pending', 'transferring', 'activating'], T0 + 2_000, 10)).map((d) => d.meterId)).toEqual(['d', 'c', 'a', 'b']);
    expect((await store.deviceByOffer('offer-1'))?.meterId).toBe('a');
    store = firmwareStoreOf(await db().reconnect());
    expect(await store.device('c1', 'c')).toEqual({
      campaignId: 'c1', meterId: 'c', terminalId: 't1', state: 'transferring', blocksHeld: 64, blocksTotal: 300, blockSize: 192, initiated: true,
      reason: null, code: null, fromVersion: null, toVersion: null, attempts: 1, notBefore: 0, offerId: null, updatedAt: T0 + 1,
    });
  });
});
