/**
 * The storage driver at start-up, as the operator sees it from the real `gridhead start`: a
 * URL the server refuses, a driver that contradicts GRIDHEAD_DATABASE_URL, and PostgreSQL
 * without any URL each stop the start with one line naming what to change, never the
 * password.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCli, stationEnv, type CliInstall } from '../helpers/cli.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const WRONG_PASSWORD = 'not-the-Password-4711';
const LISTENERS = `
http: { host: 127.0.0.1, port: 0 }
mqtt: { embeddedBroker: { enabled: true, host: 127.0.0.1, port: 0 } }
dlms: { push: { listen: { enabled: false } } }
rules: { enabled: false }
log: { level: warn }
`;

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the wrong-password start-up test: ${unavailable}`);

let cli: CliInstall;
let dir: string;

beforeAll(async () => {
  cli = await installCli();
  dir = mkdtempSync(join(tmpdir(), 'gridhead-pg-startup-'));
}, 60_000);

afterAll(async () => {
  await cli.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function start(yaml: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; lines: string[]; stderr: string; stdout: string }> {
  const file = join(mkdtempSync(join(dir, 'conf-')), 'station.yaml');
  writeFileSync(file, yaml);
  const r = await cli.run(['start', '--config', file], { env: stationEnv(mkdtempSync(join(dir, 'data-')), { GRIDHEAD_MASTER_KEY: MASTER_KEY, ...env }), timeoutMs: 60_000 });
  return { code: r.code, lines: r.stderr.trimEnd().split('\n'), stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(unavailable !== undefined)('gridhead start with a wrong password in GRIDHEAD_DATABASE_URL', () => {
  let cluster: TestPostgres;
  beforeAll(async () => { cluster = await startPostgres(); });
  afterAll(async () => { await cluster.dispose(); });

  it('stops with one line naming the variable and the refused login, never the password, and exits 3', async () => {
    const url = (await cluster.createDatabase()).replace(`:${cluster.password}@`, `:${WRONG_PASSWORD}@`);
    const r = await start(LISTENERS, { GRIDHEAD_DATABASE_URL: url });
    expect(r.code, r.stderr).toBe(3);
    expect(r.lines, r.stderr).toHaveLength(1);
    expect(r.lines[0]).toContain('GRIDHEAD_DATABASE_URL');
    expect(r.lines[0]).toContain('refused the user or password');
    expect(r.lines[0]).toContain('gridhead:***@127.0.0.1');
    expect(r.stderr + r.stdout).not.toContain(WRONG_PASSWORD);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('gridhead start with a storage driver the environment contradicts', () => {
  it('refuses storage.driver embedded while GRIDHEAD_DATABASE_URL is set, naming both, and exits 2', async () => {
    const r = await start(`${LISTENERS}storage: { driver: embedded }\n`, { GRIDHEAD_DATABASE_URL: `postgres://gridhead:${WRONG_PASSWORD}@127.0.0.1:1/none` });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('storage.driver');
    expect(r.stderr).toContain('GRIDHEAD_DATABASE_URL');
    expect(r.stderr + r.stdout).not.toContain(WRONG_PASSWORD);
  });

  it('refuses storage.driver postgres without a URL, naming GRIDHEAD_DATABASE_URL and storage.postgres.url, and exits 2', async () => {
    const r = await start(`${LISTENERS}storage: { driver: postgres }\n`, { GRIDHEAD_DATABASE_URL: '' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('storage.driver');
    expect(r.stderr).toContain('GRIDHEAD_DATABASE_URL');
    expect(r.stderr).toContain('storage.postgres.url');
  });
});
