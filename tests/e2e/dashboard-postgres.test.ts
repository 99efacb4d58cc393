/**
 * The operators' dashboard of a station on PostgreSQL, in a real browser: an operator signs
 * in and sees the overview's live load, a meter's live values and an alarm raised by a rule,
 * in English and in Chinese. The dashboard suite (dashboard.test.ts) covers every page on
 * the embedded store; this one shows the same station works when its stores are PostgreSQL's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable } from '../helpers/postgres.js';
import { chromiumPresent, CHROMIUM, liveMeterValues, screenshot, scrollsSideways, startDashboard, type Dashboard } from './harness.js';

const METER = 'sim-mq-01-1';
const RULE = 'e2e-pg-over-limit';
const postgresAbsent = postgresUnavailable();
const skipped = !chromiumPresent ? `${CHROMIUM} is not installed (apt install chromium)` : postgresAbsent;
if (skipped !== undefined) console.log(`tests/e2e/dashboard-postgres: skipped, ${skipped}`);

const WORDS = {
  en: { overview: 'Overview', explanation: /^power .* is over the limit / },
  zh: { overview: '总览', explanation: /^功率 .* 超过限值 / },
} as const;

describe.skipIf(skipped !== undefined)('dashboard of a station on PostgreSQL', () => {
  let d: Dashboard;

  beforeAll(async () => {
    d = await startDashboard({ database: 'postgres' });
  }, 90_000);

  afterAll(async () => {
    await d.close();
  });

  it('an operator sees live values and a rule\'s alarm, in English and in Chinese', async () => {
    const rule = await d.he.send('POST', '/api/v1/rules', {
      id: RULE, name: 'e2e: any load on one meter', severity: 'critical', subject: { meter: METER },
      detector: 'power-over-limit', params: { limitKw: 0.001, forMs: 0, clearForMs: 600_000 },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);

    for (const lang of ['en', 'zh'] as const) {
      const { page } = await d.session('operator', lang);
      await page.goto('/#/overview');
      await page.locator('[data-nav=overview]', { hasText: WORDS[lang].overview }).waitFor();
      await page.locator('[data-kpi=total]', { hasText: /\d/ }).waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-area=tx1] .area-load').textContent()).toMatch(/\d.* \/ 360 kW/);
      expect(await scrollsSideways(page)).toBe(false);
      await screenshot(page, `postgres-overview-${lang}`);

      await page.goto(`/#/meters/${METER}`);
      await liveMeterValues(page);
      expect(await page.locator('td[data-q="power.active"]').textContent()).toMatch(/\d kW$/);

      await page.goto('/#/alarms');
      const row = page.locator(`tr[data-rule=${RULE}]`);
      await row.waitFor({ timeout: 15_000 });
      expect(await row.getAttribute('data-state')).toBe('raised');
      expect(await row.textContent()).toContain(METER);
      expect(await row.locator('[data-explanation]').textContent()).toMatch(WORDS[lang].explanation);
      await screenshot(page, `postgres-alarm-${lang}`);
    }
  });
});
