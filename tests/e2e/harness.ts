/**
 * What the browser tests share: the dashboard bundle built by Vite into a temporary folder, a
 * head-end with the simulated fleet serving it (on the embedded store, or on a throw-away
 * PostgreSQL database), users of each role, and Debian's chromium driven by playwright-core.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { eventually, FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import type { Role } from '../../src/auth/roles.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumPresent = existsSync(CHROMIUM);
export const PASSWORD = 'e2e-password-correct-horse';
export const ARTIFACTS = resolve('test-artifacts');

export interface Dashboard {
  readonly he: TestHeadEnd;
  readonly browser: Browser;
  /**
   * A fresh browser context at 1366×768, logged in as `user` through POST /auth/login (the session cookie); `lang` preset in the dashboard's storage.
   * `user` is one of the users made here, or one a test made through the users API with PASSWORD.
   */
  session(user: string, lang?: 'en' | 'zh'): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export interface DashboardOptions {
  /** The head-end's store: embedded (the default), or a database of a throw-away PostgreSQL cluster (tests/helpers/postgres.ts; check `postgresUnavailable()` first). */
  readonly database?: 'embedded' | 'postgres';
  /** Configuration laid over the fast fleet's (a section given replaces the fleet's). */
  readonly config?: Record<string, unknown>;
}

/** The dashboard built by Vite into a new temporary folder, returned; the caller removes it. */
export async function buildDashboard(): Promise<string> {
  const webRoot = mkdtempSync(join(tmpdir(), 'gridhead-web-'));
  try {
    await build({ configFile: resolve('vite.config.ts'), logLevel: 'warn', build: { outDir: webRoot, emptyOutDir: true } });
  } catch (err) {
    rmSync(webRoot, { recursive: true, force: true });
    throw err;
  }
  return webRoot;
}

/** Debian's chromium, headless. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export async function startDashboard({ database = 'embedded', config = {} }: DashboardOptions = {}): Promise<Dashboard> {
  const webRoot = await buildDashboard();
  let cluster: TestPostgres | undefined;
  let he: TestHeadEnd;
  try {
    if (database === 'postgres') cluster = await startPostgres();
    const env = cluster === undefined ? {} : { GRIDHEAD_DATABASE_URL: await cluster.createDatabase() };
    he = await startTestHeadEnd({
      ...FAST_FLEET,
      http: { webRoot },
      control: { perTerminalRatePerMinute: 600, commandTimeoutMs: 8_000 },
      ...config,
    }, { env });
  } catch (err) {
    await cluster?.dispose();
    rmSync(webRoot, { recursive: true, force: true });
    throw err;
  }
  const contexts = new Set<BrowserContext>();
  let browser: Browser | undefined;
  try {
    await createUsers(he, [['operator', 'operator'], ['viewer', 'viewer'], ['billing', 'billing']]);
    browser = await launchChromium();
  } catch (err) {
    await he.stop();
    await cluster?.dispose();
    rmSync(webRoot, { recursive: true, force: true });
    throw err;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const b = browser;
  return {
    he, browser: b,
    session: async (user, lang) => {
      const context = await b.newContext({ viewport: { width: 1366, height: 768 }, baseURL: he.url, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
      contexts.add(context);
      // The dashboard keeps the language in localStorage (src/web/i18n.ts).
      if (lang !== undefined) await context.addInitScript(`localStorage.setItem('gridhead.lang', ${JSON.stringify(lang)})`);
      const login = await context.request.post('/api/v1/auth/login', { data: { username: user, password: PASSWORD } });
      if (login.status() !== 200) throw new Error(`login ${user}: ${login.status()}`);
      return { context, page: await context.newPage() };
    },
    close: async () => {
      for (const c of contexts) await c.close();
      await b.close();
      await he.stop();
      await cluster?.dispose();
      rmSync(webRoot, { recursive: true, force: true });
    },
  };
}

/** Users of the given names and roles, each with PASSWORD, made through the users API. */
export async function createUsers(he: TestHeadEnd, users: readonly (readonly [name: string, role: Role])[]): Promise<void> {
  for (const [name, role] of users) {
    const r = await he.send('POST', '/api/v1/users', { name, role, password: PASSWORD });
    if (r.status !== 201) throw new Error(`creating user ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/**
 * On a meter page (`#/meters/<id>`): waits for its live values (the phase table's
 * `data-live-ts`), then for newer ones, within `timeoutMs` each.
 */
export async function liveMeterValues(page: Page, timeoutMs = 15_000): Promise<void> {
  const table = page.locator('table.phases');
  const liveTs = async () => Number(await table.getAttribute('data-live-ts'));
  const first = await eventually(async () => { const ts = await liveTs(); return ts > 0 ? ts : undefined; }, timeoutMs, 'live values');
  await eventually(async () => ((await liveTs()) > first ? true : undefined), timeoutMs, 'newer live values');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** True when the page scrolls sideways (the dashboard must not at 1366 px). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  // A string expression: this file is typed for Node, the expression runs in the page.
  return await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth') === true;
}

/**
 * Words of Latin script left on the page once the station's own data (ids, names, customer
 * references) and units are taken out: in Chinese there should be none.
 */
export async function untranslatedWords(page: Page, data: readonly string[]): Promise<string[]> {
  let text = String(await page.evaluate('document.body.innerText'));
  // Longest first, so "sim-mq-01-1" goes before "sim-mq-01".
  for (const d of [...data].filter((x) => x !== '').sort((a, b) => b.length - a.length)) text = text.split(d).join(' ');
  // Configuration keys and files an explanation names (max_queued_messages, config/mosquitto.conf) are written as in the file.
  text = text.replace(/[\w.-]*[_/][\w./-]*/g, ' ');
  const words = text.match(/[A-Za-z][A-Za-z-]+/g) ?? [];
  return [...new Set(words.filter((w) => !UNITS_AND_NAMES.has(w)))];
}

/** Units, phase names, the product's name and abbreviations (protocol names too) a Chinese operator reads as they are. */
const UNITS_AND_NAMES = new Set(['kW', 'kWh', 'kvar', 'kvarh', 'kVA', 'Hz', 'ms', 'L1', 'L2', 'L3', 'gridhead', 'PF', 'CSV', 'English', 'MQTT', 'DLMS', 'QoS', 'PUBACK']);

/**
 * Whether CJK text is drawn with real glyphs: two different characters drawn to a canvas
 * come out identical when the font lacks them (both are the same empty box).
 */
export async function cjkGlyphsRender(page: Page): Promise<boolean> {
  return await page.evaluate(`(() => {
    const draw = (ch) => {
      const c = document.createElement('canvas');
      c.width = 40; c.height = 40;
      const g = c.getContext('2d');
      g.font = '32px ' + getComputedStyle(document.body).fontFamily;
      g.fillText(ch, 2, 32);
      return Array.from(g.getImageData(0, 0, 40, 40).data).join(',');
    };
    return draw('总') !== draw('览');
  })()`) === true;
}

/** For each element matching `selector`, how many lines its text runs over. */
export async function lineCounts(page: Page, selector: string): Promise<number[]> {
  return await page.evaluate<number[]>(`Array.from(document.querySelectorAll(${JSON.stringify(selector)}), (e) => {
    const range = document.createRange();
    range.selectNodeContents(e);
    return new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size;
  })`);
}

/** Elements inside cards whose content is wider than they are and shows outside them. */
export async function overflowingInCards(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>(`Array.from(document.querySelectorAll('.card, .card *'))
    .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')
    .map((e) => e.className + ': ' + (e.textContent || '').slice(0, 40))`);
}
