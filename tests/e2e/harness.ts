/**
 * What the browser tests share: the dashboard bundle built by Vite into a temporary folder, a
 * head-end with the simulated fleet serving it, users of each role, and Debian's chromium
 * driven by playwright-core.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { FAST_FLEET, startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumPresent = existsSync(CHROMIUM);
export const PASSWORD = 'e2e-password-correct-horse';
export const ARTIFACTS = resolve('test-artifacts');

export interface Dashboard {
  readonly he: TestHeadEnd;
  readonly browser: Browser;
  /** A fresh browser context at 1366×768, logged in as `user` through POST /auth/login (the session cookie). */
  session(user: 'operator' | 'viewer'): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function startDashboard(): Promise<Dashboard> {
  const webRoot = mkdtempSync(join(tmpdir(), 'gridhead-web-'));
  await build({ configFile: resolve('vite.config.ts'), logLevel: 'warn', build: { outDir: webRoot, emptyOutDir: true } });
  const he = await startTestHeadEnd({
    ...FAST_FLEET,
    http: { webRoot },
    control: { perTerminalRatePerMinute: 600, commandTimeoutMs: 8_000 },
  });
  const contexts = new Set<BrowserContext>();
  let browser: Browser | undefined;
  try {
    for (const role of ['operator', 'viewer'] as const) {
      const r = await he.send('POST', '/api/v1/users', { name: role, role, password: PASSWORD });
      if (r.status !== 201) throw new Error(`creating user ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  } catch (err) {
    await he.stop();
    rmSync(webRoot, { recursive: true, force: true });
    throw err;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const b = browser;
  return {
    he, browser: b,
    session: async (user) => {
      const context = await b.newContext({ viewport: { width: 1366, height: 768 }, baseURL: he.url, locale: 'en-GB' });
      contexts.add(context);
      const login = await context.request.post('/api/v1/auth/login', { data: { username: user, password: PASSWORD } });
      if (login.status() !== 200) throw new Error(`login ${user}: ${login.status()}`);
      return { context, page: await context.newPage() };
    },
    close: async () => {
      for (const c of contexts) await c.close();
      await b.close();
      await he.stop();
      rmSync(webRoot, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** True when the page scrolls sideways (the dashboard must not at 1366 px). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  // A string expression: this file is typed for Node, the expression runs in the page.
  return await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth') === true;
}
