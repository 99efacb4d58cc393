/**
 * The DLMS security's system-title index follows the terminals it is built from: a meter
 * created, changed or deleted leaves it as it is (at a million meters every change would
 * otherwise cost the next push a pass over every terminal), a terminal change drops it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { ShutdownOrder } from '../../src/observe/closers.js';
import { LogThrottle, createLogger } from '../../src/observe/logger.js';
import { openStorage } from '../../src/openStorage.js';
import { openStores } from '../../src/stores.js';

const TITLE = '4142430000000001';
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('the station storage', () => {
  it('rebuilds the system-title index after a terminal change, not after a meter change', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-open-storage-'));
    dirs.push(dataDir);
    const config = buildConfig({ dataDir }, 'test');
    const logger = createLogger('silent');
    const closers = new ShutdownOrder(logger);
    const base = { config, logger, closers, throttle: new LogThrottle(60_000) };
    const env = { GRIDHEAD_MASTER_KEY: '11'.repeat(32), GRIDHEAD_BOOTSTRAP_TOKEN: 'gh_'.padEnd(40, 'x') };
    try {
      const stores = await openStores(base, env);
      const { registry } = stores;
      let builds = 0;
      const listTerminals = registry.listTerminals.bind(registry);
      registry.listTerminals = () => { builds++; return listTerminals(); };
      const { security } = await openStorage(base, env, stores);
      const dlms = (systemTitle: string) => ({ protocol: 'dlms' as const, enabled: true, profiles: [], dlms: { host: '127.0.0.1', port: 4059, clientSap: 16, framing: 'wrapper' as const, auth: 'none' as const, security: 'none' as const, systemTitle } });
      await registry.createTerminal({ id: 'd1', ...dlms(TITLE) });
      const title = Buffer.from(TITLE, 'hex');
      await security.forSystemTitle(title);
      const before = builds;
      for (let i = 0; i < 5; i++) {
        await registry.createMeter({ id: `m${i}`, terminalId: 'd1', address: String(i + 1), ctRatio: 1, ptRatio: 1, protected: false });
        await security.forSystemTitle(title);
      }
      await registry.deleteMeter('m4');
      await security.forSystemTitle(title);
      expect(builds - before).toBe(0);
      await registry.updateTerminal('d1', dlms('4142430000000002'));
      expect(await security.forSystemTitle(title)).toBeUndefined();
      expect(builds - before).toBe(1);
    } finally {
      await closers.closeAll();
    }
  });
});
