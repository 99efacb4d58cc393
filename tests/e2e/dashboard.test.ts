/**
 * The operators' dashboard in a real browser (Debian chromium via playwright-core) against a
 * head-end with the simulated fleet: login, live values, an over-limit alarm acknowledged
 * with a comment, a reconnect followed to verified, language switch, viewer restrictions.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/headend.js';
import { CONTENT_SECURITY_POLICY } from '../../src/api/securityHeaders.js';
import {
  chromiumPresent, CHROMIUM, PASSWORD, cjkGlyphsRender, lineCounts, overflowingInCards, screenshot, scrollsSideways, startDashboard,
  untranslatedWords, type Dashboard,
} from './harness.js';

const METER = 'sim-mq-01-1';
const RULE = 'e2e-over-limit';
const test = it.skipIf(!chromiumPresent);
if (!chromiumPresent) console.log(`tests/e2e/dashboard: skipped, ${CHROMIUM} is not installed (apt install chromium)`);

let d: Dashboard;

beforeAll(async () => {
  if (chromiumPresent) d = await startDashboard();
}, 60_000);

afterAll(async () => {
  if (chromiumPresent) await d.close();
});

describe('dashboard', () => {
  test('an operator signs in with the login form and sees the overview', async () => {
    const context = await d.browser.newContext({ viewport: { width: 1366, height: 768 }, baseURL: d.he.url, locale: 'en-GB' });
    try {
      const page = await context.newPage();
      await page.goto('/');
      await page.fill('input[name=username]', 'operator');
      await page.fill('input[name=password]', 'wrong-password-here');
      await page.click('button[type=submit]');
      await page.locator('.login .error').waitFor();
      await page.fill('input[name=password]', PASSWORD);
      await page.click('button[type=submit]');
      await page.locator('.who[data-role=operator]').waitFor();
      await page.locator('[data-area=tx1]').waitFor();
      expect(await scrollsSideways(page)).toBe(false);
      await screenshot(page, 'login-overview');
    } finally {
      await context.close();
    }
  });

  test('the overview shows live area load, the area curve and the collection rate', async () => {
    const { page } = await d.session('operator');
    await page.goto('/#/overview');
    const tx1 = page.locator('[data-area=tx1] .area-load');
    await page.locator('[data-kpi=total]', { hasText: /\d/ }).waitFor({ timeout: 15_000 });
    expect(await tx1.textContent()).toMatch(/\d.* \/ 360 kW/);
    await page.click('[data-area=tx1]');
    await page.locator('[data-chart=area-load]:not([data-points="0"])').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-kpi=collection]').textContent()).toMatch(/\d/);
    await screenshot(page, 'overview');
  });

  test('live values on a meter page change as new readings arrive', async () => {
    const { page } = await d.session('operator');
    await page.goto(`/#/meters/${METER}`);
    const table = page.locator('table.phases');
    const liveTs = async () => Number(await table.getAttribute('data-live-ts'));
    const first = await eventually(async () => { const ts = await liveTs(); return ts > 0 ? ts : undefined; }, 15_000, 'first live values');
    expect(await page.locator('td[data-q="power.active"]').textContent()).toMatch(/\d kW$/);
    const next = await eventually(async () => { const ts = await liveTs(); return ts > first ? ts : undefined; }, 15_000, 'newer live values');
    expect(next).toBeGreaterThan(first);
    expect(await page.locator(`[data-customer]`).textContent()).toBe(`CUST-${METER}`);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'meter-live');
  });

  test('an over-limit alarm appears live and is acknowledged with a comment', async () => {
    const { page } = await d.session('operator');
    await page.goto('/#/alarms');
    await page.locator('[data-stream=live]').waitFor();
    const rule = await d.he.send('POST', '/api/v1/rules', {
      id: RULE, name: 'e2e: any load on one meter', severity: 'critical', subject: { meter: METER },
      detector: 'power-over-limit', params: { limitKw: 0.001, forMs: 0, clearForMs: 600_000 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const row = page.locator(`tr[data-rule=${RULE}]`);
    await row.locator('[data-action=ack]').waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-state')).toBe('raised');
    expect(await row.textContent()).toContain(METER);
    await row.locator('[data-action=ack]').click();
    await row.locator('input[name=comment]').fill('crew informed by e2e');
    await row.locator('[data-action=confirm-ack]').click();
    await page.locator(`tr[data-rule=${RULE}][data-state=acknowledged]`).waitFor();
    expect(await page.locator(`tr[data-rule=${RULE}] [data-comment]`).textContent()).toContain('crew informed by e2e');
    const alarms = await d.he.get(`/api/v1/alarms?rule=${RULE}`);
    expect((alarms.body as { items: { state: string; acknowledgedBy: string; comments: { text: string }[] }[] }).items[0]).toMatchObject({
      state: 'acknowledged', acknowledgedBy: 'user:operator', comments: [{ text: 'crew informed by e2e' }],
    });
    await screenshot(page, 'alarm-acknowledged');
  });

  test('a reconnect confirmed in the dialog is followed to verified', async () => {
    const { page } = await d.session('operator');
    await page.goto(`/#/meters/${METER}`);
    await page.click('[data-command=reconnect]');
    const dialog = page.locator('dialog[data-dialog=command]');
    await dialog.waitFor();
    const text = await dialog.locator('[data-confirm-text]').textContent();
    expect(text).toContain(METER);
    expect(text).toContain(`CUST-${METER}`);
    await dialog.locator('[data-action=send]').click();
    await dialog.locator('[data-command-status=verified]').waitFor({ timeout: 20_000 });
    expect(await dialog.locator('.transitions li').allTextContents()).toEqual([
      expect.stringMatching(/^pending/), expect.stringMatching(/^sent/), expect.stringMatching(/^acknowledged/), expect.stringMatching(/^verified/),
    ]);
    await screenshot(page, 'reconnect-verified');
    const commands = await d.he.get(`/api/v1/commands?meterId=${METER}&type=reconnect`);
    expect((commands.body as { items: { status: string; origin: { actor: string } }[] }).items).toMatchObject([{ status: 'verified', origin: { actor: 'user:operator' } }]);
  });

  test('the meter page shows the relay and limit read back by the last verified commands', async () => {
    const send = async (key: string, body: unknown) => {
      const res = await fetch(`${d.he.url}/api/v1/commands`, {
        method: 'POST', body: JSON.stringify(body),
        headers: { authorization: `Bearer ${d.he.token}`, 'content-type': 'application/json', 'idempotency-key': key },
      });
      expect(res.status).toBe(201);
      const id = ((await res.json()) as { id: string }).id;
      await eventually(async () => ((await d.he.get(`/api/v1/commands/${id}`)).body as { status: string }).status === 'verified' || undefined, 20_000, `command ${id}`);
    };
    await send('e2e-limit', { type: 'set-limit', meterIds: [METER], params: { limitKw: 12.5 } });
    await send('e2e-reconnect-2', { type: 'reconnect', meterIds: [METER] });
    const { page } = await d.session('viewer');
    await page.goto(`/#/meters/${METER}`);
    await page.locator('[data-relay=connected]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-limit]').textContent()).toMatch(/^12\.50 kW/);
  });

  test('the language switches to Simplified Chinese, persists across a reload, and back', async () => {
    const { page } = await d.session('operator');
    await page.goto('/#/alarms');
    await page.locator('[data-nav=alarms]', { hasText: 'Alarms' }).waitFor();
    await page.click('header [data-action=language]');
    await page.locator('[data-nav=alarms]', { hasText: '告警' }).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await page.reload();
    await page.locator('[data-nav=overview]', { hasText: '总览' }).waitFor();
    await screenshot(page, 'language-zh');
    await page.click('header [data-action=language]');
    await page.locator('[data-nav=overview]', { hasText: 'Overview' }).waitFor();
  });

  test('a viewer sees no command buttons, and the API refuses a command sent with the viewer cookie', async () => {
    const { page } = await d.session('viewer');
    await page.goto(`/#/meters/${METER}`);
    await page.locator(`[data-meter="${METER}"]`).waitFor();
    await page.locator('table.phases').waitFor();
    expect(await page.locator('[data-command], [data-action=read]').count()).toBe(0);
    // The device register's panel renders for a viewer (the meter's record, or that it has none yet).
    await page.locator('[data-device]').waitFor();
    await page.goto('/#/alarms');
    await page.locator('tr[data-alarm]').first().waitFor();
    expect(await page.locator('[data-action=ack]').count()).toBe(0);
    const status = await page.evaluate(async (meterId) => {
      const res = await fetch('/api/v1/commands', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-gridhead-csrf': '1', 'idempotency-key': 'viewer-attempt' },
        body: JSON.stringify({ type: 'disconnect', meterIds: [meterId] }),
      });
      return res.status;
    }, METER);
    expect(status).toBe(403);
    await screenshot(page, 'viewer-meter');
    const commands = await eventually(async () => (await d.he.get(`/api/v1/commands?meterId=${METER}&type=disconnect`)).body as { items: unknown[] });
    expect(commands.items).toHaveLength(0);
  });

  test('every page in Chinese: no untranslated words, the alarm explained in Chinese, CJK glyphs drawn', async () => {
    const { page } = await d.session('operator', 'zh');
    const data = await stationData();
    const pages = [
      { hash: '#/overview', ready: '[data-area=tx1] .area-load' },
      { hash: '#/alarms', ready: `tr[data-rule=${RULE}]` },
      { hash: `#/meters/${METER}`, ready: 'table.phases td[data-q="power.active"]' },
      { hash: '#/meters', ready: '[data-meter-link]' },
      { hash: '#/load-control', ready: 'main h2' },
    ];
    for (const p of pages) {
      await page.goto(`/${p.hash}`);
      await page.locator(p.ready).first().waitFor({ timeout: 15_000 });
      await page.locator('text=加载中…').waitFor({ state: 'detached', timeout: 15_000 });
      expect(await untranslatedWords(page, data), p.hash).toEqual([]);
    }
    await page.goto('/#/alarms');
    const explanation = await page.locator(`tr[data-rule=${RULE}] [data-explanation]`).textContent();
    expect(explanation).toMatch(/^功率 .* 超过限值 /);
    expect(explanation).not.toMatch(/\dZ\b/);
    expect(await page.locator(`tr[data-rule=${RULE}] .sev`).textContent()).toBe('紧急');
    await page.goto('/#/overview');
    await page.locator('[data-kpi=total]', { hasText: /\d/ }).waitFor({ timeout: 15_000 });
    expect(await cjkGlyphsRender(page)).toBe(true);
    await screenshot(page, 'overview-zh');
  });

  test('at 1366×768 no table cell cuts a word: severity, state and the acknowledge button stay on one line', async () => {
    const rule = await d.he.send('POST', '/api/v1/rules', {
      id: 'e2e-layout', name: 'e2e: layout', severity: 'major', subject: { all: true },
      detector: 'power-over-limit', params: { limitKw: 0.001, forMs: 0, clearForMs: 600_000 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    // A long comment makes the explanation column want all the width, as the field's long explanations did.
    const first = await eventually(async () => ((await d.he.get('/api/v1/alarms?rule=e2e-layout')).body as { items: { id: string }[] }).items[0], 15_000, 'a layout alarm');
    const long = 'crew on site, transformer inspected, load transferred to the neighbouring feeder while the breaker is replaced; '.repeat(6);
    expect((await d.he.send('POST', `/api/v1/alarms/${first.id}/comments`, { text: long.trim() })).status).toBe(201);
    const { page } = await d.session('operator');
    await page.goto('/#/alarms');
    await page.locator('tr[data-rule=e2e-layout] [data-action=ack]').first().waitFor({ timeout: 15_000 });
    await page.locator('[data-comment]', { hasText: 'crew on site' }).waitFor();
    for (const selector of ['tr[data-alarm] .sev', 'tr[data-alarm] td.subject', 'tr[data-alarm] [data-state-label]', 'tr[data-alarm] [data-action=ack]']) {
      const counts = await lineCounts(page, selector);
      expect(counts.length, selector).toBeGreaterThan(0);
      expect(counts.every((n) => n === 1), `${selector}: ${counts.join(',')}`).toBe(true);
    }
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'alarms-1366');
    await page.goto('/#/load-control');
    await page.locator('main h2').waitFor();
    expect(await page.locator('text=Dry-run preview').count()).toBeLessThanOrEqual(1);
    await d.he.send('DELETE', '/api/v1/rules/e2e-layout');
  });

  test('a figure of any size fits its card: -1e300 kW total and 1e15 kW area loads', async () => {
    const { page } = await d.session('operator');
    // The overview as the API could answer it for a broken meter's value; the stream is refused so the page polls it.
    await page.route('**/api/v1/live/stream', (route) => route.fulfill({ status: 404, body: '' }));
    await page.route('**/api/v1/live/overview', (route) => route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify({
        ts: new Date().toISOString(), totalKw: -1e300, collectionSuccessTodayPct: 1e15,
        areas: [
          { id: 'r1', name: 'Region', kind: 'region', parentId: null, loadKw: 1e15, limitKw: null, meters: 4, metersReporting: 4, openAlarms: 0, state: 'normal', abnormal: null },
          { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', loadKw: -123456789012, limitKw: 1e15, meters: 4, metersReporting: 4, openAlarms: 0, state: 'normal', abnormal: null },
        ],
      }),
    }));
    await page.goto('/#/overview');
    await page.locator('[data-kpi=total]', { hasText: /\d/ }).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-kpi=total]').textContent()).toBe('-1E300 kW');
    expect(await overflowingInCards(page)).toEqual([]);
    const kpi = await page.locator('[data-kpi=total]').boundingBox();
    const card = await page.locator('section.kpi').first().boundingBox();
    expect(kpi !== null && card !== null && kpi.x + kpi.width <= card.x + card.width).toBe(true);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'overview-huge-numbers');
  });

  test('the dashboard is served with a same-origin CSP, frame-ancestors none, nosniff and a referrer policy, and breaks none of it', async () => {
    const { context, page } = await d.session('operator');
    await context.addInitScript('window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));');
    const res = await page.goto('/#/overview');
    const headers = res?.headers() ?? {};
    expect(headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    const api = await page.request.get('/api/v1/auth/me');
    expect(api.headers()['x-content-type-options']).toBe('nosniff');
    for (const [hash, ready] of [['#/overview', '[data-chart=area-load]'], [`#/meters/${METER}`, '[data-chart=meter-load]'], ['#/alarms', 'tr[data-alarm]']] as const) {
      await page.goto(`/${hash}`);
      await page.locator(ready).first().waitFor({ timeout: 15_000 });
    }
    expect(await page.evaluate('window.__csp')).toEqual([]);
  });

  test('the analysis page: every view draws its chart or table, in Chinese without English left, and exports CSV', async () => {
    const { page } = await d.session('operator', 'zh');
    const data = await stationData();
    await page.goto('/#/analysis');
    const views = [
      ['load', '[data-chart=analysis-load]:not([data-points="0"])'],
      ['profile', '[data-table=summary] tbody tr'],
      ['day', '[data-chart=analysis-day]:not([data-points="0"])'],
      ['month', '[data-chart=analysis-month]:not([data-points="0"])'],
      ['areas', '[data-chart=analysis-areas]:not([data-points="0"])'],
      ['lineLoss', '[data-table=line-loss] tbody tr[data-area=tx1]'],
      ['ranking', '[data-table=ranking] tbody tr[data-area=tx1]'],
    ] as const;
    for (const [view, ready] of views) {
      await page.click(`[data-analysis-view=${view}]`);
      await page.locator(ready).first().waitFor({ timeout: 15_000 });
      await page.locator('text=加载中…').waitFor({ state: 'detached', timeout: 15_000 });
      expect(await untranslatedWords(page, data), view).toEqual([]);
      expect(await scrollsSideways(page), view).toBe(false);
    }
    expect(await page.locator('[data-table=ranking] tr[data-area=tx1] td').nth(1).textContent()).toBe('台区');
    await screenshot(page, 'analysis-zh');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action=csv]')]);
    const csv = readFileSync(await download.path(), 'utf8').split('\r\n');
    expect(csv[0]).toBe('\uFEFF区域,类型,应采,实采,成功率');
    expect(csv.find((l) => l.startsWith('TX 1,'))).toMatch(/^TX 1,台区,\d+,\d+,[\d.]+$/);

    const { page: en } = await d.session('viewer', 'en');
    await en.goto('/#/analysis');
    await en.click('[data-analysis-view=profile]');
    await en.locator('[data-table=summary] tbody tr').first().waitFor({ timeout: 15_000 });
    expect(await en.locator('[data-table=summary] tbody tr td').first().textContent()).toBe('Energy (kWh)');
    expect(await en.locator('[data-table=summary] tbody tr').nth(1).textContent()).toMatch(/^Peak\d.* kW \(\d\d\/\d\d\/\d{4}, \d\d:\d\d:\d\d\)$/);
    const [profileCsv] = await Promise.all([en.waitForEvent('download'), en.click('[data-action=csv]')]);
    expect(readFileSync(await profileCsv.path(), 'utf8')).toMatch(/^\uFEFFFigure,Value,Time\r\nEnergy \(kWh\),[\d.]+,\r\n/);
  });
});

/** The station's own words (ids, names, customer references, users): data, shown as entered, never translated. */
async function stationData(): Promise<string[]> {
  const items = async (path: string) => ((await d.he.get(path)).body as { items: Record<string, unknown>[] }).items;
  const out = ['operator', 'viewer'];
  for (const path of ['/api/v1/areas?limit=1000', '/api/v1/meters?limit=1000', '/api/v1/terminals?limit=1000', '/api/v1/rules', '/api/v1/load-control/programs']) {
    for (const x of await items(path)) for (const k of ['id', 'name', 'customerRef', 'terminalId', 'address', 'areaId']) if (typeof x[k] === 'string') out.push(x[k]);
  }
  // Alarm subjects (a station part such as `mqtt-broker` is in no registry), operators' comments on alarms, and who wrote them.
  for (const a of await items('/api/v1/alarms?limit=1000')) {
    out.push((a.subject as { id: string }).id);
    for (const c of a.comments as { by: string; text: string }[]) out.push(c.by, c.text);
  }
  return out;
}

