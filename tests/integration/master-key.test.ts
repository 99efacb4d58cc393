/**
 * The master key at start-up of the whole head-end: keys stored under one key survive a
 * restart with it; another key, or none without simulators, stops the start with a clear error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, buildConfig } from '../../src/config/load.js';
import { startHeadEnd, type HeadEnd } from '../../src/main.js';
import { createLogger } from '../../src/observe/logger.js';
import { MasterKeyMismatchError } from '../../src/security/keyStore.js';
import { fetchApi } from '../helpers/api.js';
import { TEST_ADMIN_TOKEN } from '../helpers/headend.js';

const KEY_A = 'aa'.repeat(32);
const KEY_B = 'bb'.repeat(32);
const dirs: string[] = [];
const running: HeadEnd[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, env: NodeJS.ProcessEnv): Promise<HeadEnd> {
  const config = buildConfig({
    dataDir, http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    registry: {
      terminals: [{ id: 't1', protocol: 'dlms', dlms: { host: '127.0.0.1', port: 1, clientSap: 48, auth: 'high-gmac', security: 'auth-enc' } }],
      meters: [{ id: 'm1', terminalId: 't1', address: '1' }],
    },
  }, 'test');
  const h = await startHeadEnd(config, { logger: createLogger('silent'), env: { GRIDHEAD_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN, ...env } });
  running.push(h);
  return h;
}

describe('head-end master key', () => {
  it('keeps stored keys across a restart with the same key, and refuses to start with another', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-mk-'));
    dirs.push(dataDir);
    const first = await start(dataDir, { GRIDHEAD_MASTER_KEY: KEY_A });
    const put = await fetchApi({ url: first.url, token: TEST_ADMIN_TOKEN }, '/api/v1/meters/m1/keys', {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ek: '11'.repeat(16), ak: '22'.repeat(16) }),
    });
    expect(put.status).toBe(200);
    await first.close();
    running.splice(0);

    await expect(start(dataDir, { GRIDHEAD_MASTER_KEY: KEY_B })).rejects.toBeInstanceOf(MasterKeyMismatchError);
    await expect(start(dataDir, {})).rejects.toBeInstanceOf(ConfigError);

    const again = await start(dataDir, { GRIDHEAD_MASTER_KEY: KEY_A });
    const status = await fetchApi({ url: again.url, token: TEST_ADMIN_TOKEN }, '/api/v1/meters/m1/keys').then((r) => r.json());
    expect(status).toMatchObject({ ekSet: true, akSet: true, generation: 1 });
    expect(Buffer.from((await again.security.securityFor('t1'))?.keys.ek ?? []).toString('hex')).toBe('11'.repeat(16));
  });
});
