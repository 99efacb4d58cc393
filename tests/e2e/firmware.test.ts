/**
 * Firmware campaigns in a real browser (Debian chromium via playwright-core) against a head-end
 * with three simulated DLMS meters, each with its IC 18 image transfer object: an administrator
 * uploads an image (the page shows the SHA-256 and size the station computed), is told in words
 * that a group matching no device makes no campaign, creates one for the three meters, starts
 * it and follows it until every device is done on the new version. The Chinese page labels it
 * all in Chinese. A campaign on devices that cannot take firmware pauses itself on its failure
 * budget, and the page says so in words with the failed devices marked. A viewer follows a
 * campaign without a step to take, an operator may cancel but not start one, and a field crew
 * has no firmware page at all.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, FAST_FLEET } from '../helpers/headend.js';
import { CHROMIUM, chromiumPresent, createUsers, screenshot, scrollsSideways, startDashboard, untranslatedWords, type Dashboard } from './harness.js';

const test = it.skipIf(!chromiumPresent);
if (!chromiumPresent) console.log(`tests/e2e/firmware: skipped, ${CHROMIUM} is not installed (apt install chromium)`);

const ADMIN = 'fw-admin';
const CREW = 'fw-crew';
const METERS = ['sim-dl-01-1', 'sim-dl-02-1', 'sim-dl-03-1'];
const TERMINALS = METERS.map((m) => m.replace(/-1$/, ''));
/** The fleet's Modbus meters (FAST_FLEET: 2 terminals × 2 meters). */
const MODBUS_METERS = ['sim-mb-01-1', 'sim-mb-01-2', 'sim-mb-02-1', 'sim-mb-02-2'];
const IDENTIFIER = 'GRD-FW-2.0.0';
/** What the simulated meters run before the campaign (simulators/dlms, option `firmware`). */
const FROM_VERSION = 'GRD-FW-1.0.0';
/** A few hundred blocks of the simulator's 192 bytes: long enough to be seen moving, short enough for a test. */
const IMAGE = randomBytes(48 * 1024);
const CAMPAIGN = 'e2e spring update';
/** Transfers run in background slices behind collection: generous, as the meters are polled every second meanwhile. */
const CAMPAIGN_DONE_MS = 180_000;
let d: Dashboard;

beforeAll(async () => {
  if (!chromiumPresent) return;
  d = await startDashboard({
    config: { simulators: { ...FAST_FLEET.simulators, dlms: { ...FAST_FLEET.simulators.dlms, count: METERS.length } } },
  });
  await createUsers(d.he, [[ADMIN, 'admin'], [CREW, 'field']]);
}, 90_000);

afterAll(async () => {
  if (chromiumPresent) await d.close();
});

describe('firmware campaigns in the dashboard', () => {
  let campaignId = '';

  test('an administrator uploads an image, is told a group matching nothing makes no campaign, creates one for three meters, starts it and sees every device done', async () => {
    const { page } = await d.session(ADMIN);
    await page.goto('/#/firmware');
    await page.locator('[data-testid=fw-campaigns]').waitFor();
    expect(await page.locator('nav a[data-nav=firmware]').getAttribute('class')).toBe('active');

    await page.setInputFiles('[data-testid=fw-upload] input[name=file]', { name: `${IDENTIFIER}.bin`, mimeType: 'application/octet-stream', buffer: IMAGE });
    // The identifier is taken from the file's name; the operator may change it.
    expect(await page.inputValue('[data-testid=fw-upload] input[name=identifier]')).toBe(IDENTIFIER);
    await page.fill('[data-testid=fw-upload] input[name=name]', 'Spring firmware');
    await page.click('[data-testid=fw-upload-submit]');
    const uploaded = await settled(page.locator('[data-testid=fw-uploaded]'), page.locator('[data-testid=fw-upload-error]'));
    expect([await uploaded.getAttribute('data-sha256'), await uploaded.getAttribute('data-size')])
      .toEqual([createHash('sha256').update(IMAGE).digest('hex'), String(IMAGE.length)]);
    expect(await uploaded.textContent()).toContain(createHash('sha256').update(IMAGE).digest('hex'));
    const imageId = await uploaded.getAttribute('data-image');
    if (imageId === null) throw new Error('no image id on the upload reply');
    await page.locator(`[data-table=fw-images] tr[data-image="${imageId}"]`).waitFor();

    // A group that matches no device: the station refuses it (422 CAMPAIGN_GROUP_EMPTY), the page says why in words.
    const form = page.locator('[data-testid=fw-new]');
    await form.locator('select[name=imageId] option', { hasText: 'Spring firmware' }).waitFor({ state: 'attached' });
    expect(await form.locator('select[name=imageId]').inputValue()).toBe(imageId);
    await form.locator('input[name=name]').fill(CAMPAIGN);
    await form.locator('textarea[name=meterIds]').fill('no-such-meter');
    await page.click('[data-testid=fw-create]');
    const refused = page.locator('[data-testid=fw-create-error]');
    await refused.waitFor();
    expect(await refused.textContent()).toBe('No device matches this group: change the meter type, area, meter ids or version filter. (CAMPAIGN_GROUP_EMPTY)');

    await form.locator('textarea[name=meterIds]').fill(METERS.join('\n'));
    await page.click('[data-testid=fw-create]');
    const campaign = await settled(page.locator('[data-testid=fw-campaign]'), page.locator('[data-testid=fw-create-error]'));
    campaignId = await campaign.getAttribute('data-campaign') ?? '';
    expect([await campaign.getAttribute('data-state'), await page.locator('[data-testid=fw-bar]').getAttribute('data-total')]).toEqual(['draft', String(METERS.length)]);
    expect((await attributes(page.locator('[data-table=fw-devices] tr[data-meter]'), 'data-meter')).sort()).toEqual(METERS);

    await page.click('[data-testid=fw-start]');
    await settled(page.locator('[data-testid=fw-campaign][data-state=running], [data-testid=fw-campaign][data-state=completed]'), page.locator('[data-testid=fw-step-error]'));
    // The page refreshes itself while the campaign runs: no reload from here on.
    const seen = new Set<string>();
    const poll = setInterval(() => {
      // A row the page redraws meanwhile may be gone: such a sample is skipped.
      attributes(page.locator('[data-table=fw-devices] tr[data-meter]'), 'data-state').then((states) => { for (const s of states) seen.add(s); }, () => undefined);
    }, 500);
    try {
      await page.locator('[data-testid=fw-campaign][data-state=completed]').waitFor({ timeout: CAMPAIGN_DONE_MS });
    } finally {
      clearInterval(poll);
    }
    console.log(`tests/e2e/firmware: device states seen on the page while running: ${[...seen].join(', ')}`);
    const segments = page.locator('[data-testid=fw-bar] .fw-seg');
    expect([await attributes(segments, 'data-state'), await attributes(segments, 'data-count')]).toEqual([['done'], [String(METERS.length)]]);
    const rows = page.locator('[data-table=fw-devices] tr[data-meter]');
    await page.locator(`[data-table=fw-devices] tr[data-state=done]`).nth(METERS.length - 1).waitFor();
    for (const meter of METERS) {
      const row = rows.filter({ has: page.locator(`a[href="#/meters/${meter}"]`) });
      expect(await row.getAttribute('data-state')).toBe('done');
      expect(await row.locator('td').nth(4).textContent()).toBe(`${FROM_VERSION} → ${IDENTIFIER}`);
    }
    expect(await page.locator('tr.fw-failed').count()).toBe(0);
    expect(await page.getAttribute('[data-testid=fw-csv]', 'href')).toBe(`/api/v1/firmware/campaigns/${encodeURIComponent(campaignId)}/devices?format=csv`);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'firmware-campaign-done');
  }, CAMPAIGN_DONE_MS + 60_000);

  test('the Chinese pages label the campaign, its states and its devices in Chinese', async () => {
    if (campaignId === '') throw new Error('the campaign of the first test was not created');
    const { page } = await d.session(ADMIN, 'zh');
    await page.goto(`/#/firmware/${encodeURIComponent(campaignId)}`);
    await page.locator('[data-testid=fw-campaign][data-state=completed]').waitFor();
    await page.locator('[data-table=fw-devices] tr[data-meter]').first().waitFor();
    expect(await page.locator('nav a[data-nav=firmware]').textContent()).toBe('固件升级');
    expect(await page.locator('[data-testid=fw-state]').textContent()).toBe('已完成');
    expect(await page.locator('[data-table=fw-devices] th').allTextContents()).toEqual(['电表', '终端', '状态', '数据块', '版本', '尝试次数', '原因', '更新时间']);
    const hash = createHash('sha256').update(IMAGE).digest('hex');
    const data = [...METERS, ...TERMINALS, CAMPAIGN, 'Spring firmware', IDENTIFIER, FROM_VERSION, hash, ADMIN, 'SHA-256'];
    expect(await untranslatedWords(page, data)).toEqual([]);
    await screenshot(page, 'firmware-campaign-zh');

    await page.goto('/#/firmware');
    await page.locator(`[data-table=fw-campaigns] tr[data-campaign="${campaignId}"]`).waitFor();
    await page.locator('[data-table=fw-images] tr[data-image]').first().waitFor();
    // The area select names the fleet's areas as configured (tests/helpers/headend.ts FAST_FLEET).
    const areas = FAST_FLEET.registry.areas.map((a) => a.name);
    expect(await untranslatedWords(page, [...data, ...areas, `${hash.slice(0, 16)}…`])).toEqual([]);
    await screenshot(page, 'firmware-campaigns-zh');
  }, 60_000);

  test('a campaign whose devices cannot take firmware pauses itself on its failure budget; the page says why in words and marks the failed devices', async () => {
    const images = (await d.he.get('/api/v1/firmware/images')).body as { items: { id: string }[] };
    // Modbus terminals have no way to take an image (no IC 18 session, no OTA channel): each device fails.
    // One device at a time and no failure allowed: the first failure pauses the campaign with the others still pending.
    const created = await d.he.send('POST', '/api/v1/firmware/campaigns', {
      name: 'e2e modbus', imageId: images.items[0]?.id, group: { meterIds: MODBUS_METERS },
      rate: { perTerminal: 1, total: 1 }, failureBudget: { percent: 0, minFailed: 1 },
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await d.he.send('POST', `/api/v1/firmware/campaigns/${encodeURIComponent(id)}/start`)).status).toBe(200);

    const { page } = await d.session(ADMIN);
    await page.goto(`/#/firmware/${encodeURIComponent(id)}`);
    await page.locator('[data-testid=fw-campaign][data-state=paused]').waitFor({ timeout: 60_000 });
    const reason = page.locator('[data-testid=fw-pause-reason]');
    expect([await reason.getAttribute('data-reason'), await reason.textContent()]).toEqual([
      'failure-budget',
      'Paused by itself: more devices failed than the failure budget allows (0% of the finished devices, at least 1). Look at the failures below before resuming.',
    ]);
    expect(await attributes(page.locator('.fw-steps button'), 'data-testid')).toEqual(['fw-resume', 'fw-cancel']);
    await page.selectOption('[data-testid=fw-devices] select[name=state]', 'failed');
    // The unfiltered rows stay until the filtered page arrives: wait for a table of failed devices only.
    const failed = page.locator('[data-table=fw-devices] tr[data-meter]');
    await eventually(async () => {
      const states = await attributes(failed, 'data-state');
      return states.length > 0 && states.every((s) => s === 'failed') ? true : undefined;
    }, 15_000, 'only failed devices in the table');
    expect(await attributes(failed.locator('.fw-reason'), 'data-code')).toContain('FIRMWARE_TRANSFER_UNSUPPORTED');
    expect(await failed.locator('.fw-reason').first().textContent()).toMatch(/^The device does not take firmware transfers\. FIRMWARE_TRANSFER_UNSUPPORTED/);
    expect(await page.getAttribute('[data-testid=fw-csv]', 'href')).toBe(`/api/v1/firmware/campaigns/${encodeURIComponent(id)}/devices?state=failed&format=csv`);
    await screenshot(page, 'firmware-campaign-paused');
  }, 90_000);

  test('a viewer follows a campaign with no step to take, an operator may cancel but not start it, and a field crew has no firmware page', async () => {
    const images = (await d.he.get('/api/v1/firmware/images')).body as { items: { id: string }[] };
    const created = await d.he.send('POST', '/api/v1/firmware/campaigns', { name: 'e2e draft', imageId: images.items[0]?.id, group: { meterIds: [METERS[0]] } });
    expect(created.status).toBe(201);
    const draft = (created.body as { id: string }).id;

    const viewer = await d.session('viewer');
    await viewer.page.goto(`/#/firmware/${encodeURIComponent(draft)}`);
    await viewer.page.locator('[data-testid=fw-campaign][data-state=draft]').waitFor();
    await viewer.page.locator('[data-table=fw-devices]').waitFor();
    expect(await viewer.page.locator('.fw-steps button').count()).toBe(0);
    await viewer.page.goto('/#/firmware');
    await viewer.page.locator('[data-testid=fw-images]').waitFor();
    expect([await viewer.page.locator('[data-testid=fw-upload]').count(), await viewer.page.locator('[data-testid=fw-new]').count()]).toEqual([0, 0]);

    const operator = await d.session('operator');
    await operator.page.goto(`/#/firmware/${encodeURIComponent(draft)}`);
    await operator.page.locator('[data-testid=fw-campaign][data-state=draft]').waitFor();
    expect(await attributes(operator.page.locator('.fw-steps button'), 'data-testid')).toEqual(['fw-cancel']);
    await operator.page.click('[data-testid=fw-cancel]');
    await operator.page.locator('[data-testid=fw-campaign][data-state=cancelled]').waitFor();

    const crew = await d.session(CREW);
    await crew.page.goto('/');
    await crew.page.locator('[data-testid=wo-mine]').waitFor();
    expect(await crew.page.locator('nav a[data-nav=firmware]').count()).toBe(0);
  }, 60_000);
});

/** Waits for `done` or `refused` (the page's error line) and returns `done`; a refusal fails the test with the page's words. */
async function settled(done: Locator, refused: Locator): Promise<Locator> {
  await done.or(refused).first().waitFor();
  if (await refused.count() > 0) throw new Error(`the page says: ${await refused.first().textContent() ?? ''}`);
  return done;
}

/** An attribute of every element `locator` matches, in page order ('' where absent). */
async function attributes(locator: Locator, name: string): Promise<string[]> {
  // One snapshot in the page: a row by row read waits (up to the default timeout) for a row that a re-render just removed.
  return await locator.evaluateAll((elements: { getAttribute: (a: string) => string | null }[], attribute: string): string[] => elements.map((e) => e.getAttribute(attribute) ?? ''), name);
}
