/**
 * The firmware pages' logic outside the browser: the new-campaign form becomes the request the
 * contract declares, the steps offered follow the campaign's state and the reader's role, and
 * every state and error code the station sends has words in both languages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, errorText } from '../../../../src/web/api.js';
import { DEVICE_STATES } from '../../../../src/firmware/model.js';
import { EMPTY_FORM, campaignSpec } from '../../../../src/web/firmware/spec.js';
import { stepsFor } from '../../../../src/web/firmware/steps.js';
import { label, setLang } from '../../../../src/web/i18n.js';

afterEach(() => { setLang('en'); });

describe('the new-campaign form', () => {
  it('sends only what was filled in, meter ids split, local times as instants', () => {
    const outcome = campaignSpec({
      ...EMPTY_FORM, name: ' spring update ', imageId: 'img-1', meterIds: 'sim-dl-01-1, sim-dl-02-1\nsim-dl-03-1 ',
      currentVersion: 'GRD-FW-1.0.0', dailyFrom: '01:00', dailyTo: '05:00', notBefore: '2026-03-01T00:00',
      activation: 'scheduled', activationTime: '2026-03-02T02:30', perTerminal: '2', total: '', minFailed: '',
    });
    expect(outcome).toEqual({
      ok: true,
      spec: {
        name: 'spring update', imageId: 'img-1',
        group: { meterIds: ['sim-dl-01-1', 'sim-dl-02-1', 'sim-dl-03-1'], currentVersion: 'GRD-FW-1.0.0' },
        window: { notBefore: new Date('2026-03-01T00:00').toISOString(), daily: { from: '01:00', to: '05:00' } },
        rate: { perTerminal: 2 },
        activation: { at: 'scheduled', time: new Date('2026-03-02T02:30').toISOString() },
        failureBudget: { percent: 10 },
      },
    });
  });

  it('activates as soon as verified unless a time is chosen, with the defaults the form shows', () => {
    const outcome = campaignSpec({ ...EMPTY_FORM, name: 'x', imageId: 'img-1', areaId: 'tx1' });
    expect(outcome).toEqual({
      ok: true,
      spec: { name: 'x', imageId: 'img-1', group: { areaId: 'tx1' }, rate: { perTerminal: 1, total: 16 }, activation: { at: 'now' }, failureBudget: { percent: 10, minFailed: 3 } },
    });
  });

  it('names what is missing: an image, whom the campaign is for, the activation time', () => {
    expect(campaignSpec({ ...EMPTY_FORM, name: 'x', areaId: 'tx1' })).toEqual({ ok: false, problem: 'fw.chooseImageFirst' });
    expect(campaignSpec({ ...EMPTY_FORM, name: 'x', imageId: 'img-1', meterIds: ' , ' })).toEqual({ ok: false, problem: 'fw.groupNeeded' });
    expect(campaignSpec({ ...EMPTY_FORM, name: 'x', imageId: 'img-1', meterType: 'GRD', activation: 'scheduled' })).toEqual({ ok: false, problem: 'fw.activationTimeNeeded' });
  });
});

describe('campaign steps by role', () => {
  it('lets an administrator take every step the state allows', () => {
    expect(stepsFor('admin', 'draft')).toEqual(['start', 'cancel']);
    expect(stepsFor('admin', 'running')).toEqual(['pause', 'cancel']);
    expect(stepsFor('admin', 'paused')).toEqual(['resume', 'cancel']);
    expect(stepsFor('admin', 'completed')).toEqual([]);
  });

  it('lets an operator pause and cancel only, and a viewer nothing', () => {
    expect(stepsFor('operator', 'draft')).toEqual(['cancel']);
    expect(stepsFor('operator', 'running')).toEqual(['pause', 'cancel']);
    expect(stepsFor('operator', 'paused')).toEqual(['cancel']);
    for (const state of ['draft', 'running', 'paused'] as const) expect(stepsFor('viewer', state)).toEqual([]);
  });
});

describe('firmware words', () => {
  it('name every device and campaign state in English and Chinese', () => {
    // `label` falls back to the word itself when the dashboard has no key: in Chinese a label equal to the English word is a missing one.
    setLang('zh');
    for (const s of DEVICE_STATES) expect(label('fwDevice', s), s).toMatch(/\p{Script=Han}/u);
    for (const s of ['draft', 'running', 'paused', 'completed', 'cancelled']) expect(label('fwState', s), s).toMatch(/\p{Script=Han}/u);
  });

  it('word a refused campaign in the reader\'s language, keeping the code; unknown codes keep the server\'s detail', () => {
    const empty = new ApiError(422, 'CAMPAIGN_GROUP_EMPTY', 'group matches no device');
    expect(errorText(empty)).toBe('No device matches this group: change the meter type, area, meter ids or version filter. (CAMPAIGN_GROUP_EMPTY)');
    setLang('zh');
    expect(errorText(empty)).toMatch(/^没有设备符合升级范围.*\(CAMPAIGN_GROUP_EMPTY\)$/);
    expect(errorText(new ApiError(409, 'SOMETHING_NEW', 'as the server says'))).toBe('SOMETHING_NEW: as the server says');
  });
});
