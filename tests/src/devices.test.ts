/**
 * The DLMS push sender indexes (by logical device name, by host) follow the terminals they
 * are built from: a meter created, changed or deleted leaves them as they are (at a million
 * meters every change would otherwise cost the next push a pass over every terminal), a
 * terminal change drops them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker } from '../../src/broker/index.js';
import { buildConfig } from '../../src/config/load.js';
import { createAdapters } from '../../src/devices.js';
import { ShutdownOrder } from '../../src/observe/closers.js';
import { LogThrottle, createLogger } from '../../src/observe/logger.js';
import { openStorage } from '../../src/openStorage.js';
import { openStores } from '../../src/stores.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('the field side of the station', () => {
  it('rebuilds the DLMS push sender index after a terminal change, not after a meter change', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-devices-'));
    dirs.push(dataDir);
    const config = buildConfig({ dataDir, mqtt: { embeddedBroker: { enabled: false } } }, 'test');
    const logger = createLogger('silent');
    const closers = new ShutdownOrder(logger);
    const base = { config, logger, closers, throttle: new LogThrottle(60_000) };
    const env = { GRIDHEAD_MASTER_KEY: '11'.repeat(32), GRIDHEAD_BOOTSTRAP_TOKEN: 'gh_'.padEnd(40, 'x') };
    try {
      const stores = await openStores(base, env);
      const storage = await openStorage(base, env, stores);
      const { registry } = storage;
      const broker = await startBroker(base);
      const { dlmsPush } = createAdapters(base, broker, storage, { lists: stores.pushLists, deadLetters: stores.pushDeadLetters }, { clientId: config.mqtt.clientId });
      let builds = 0;
      const listTerminals = registry.listTerminals.bind(registry);
      registry.listTerminals = () => { builds++; return listTerminals(); };
      const dlms = (host: string) => ({ protocol: 'dlms' as const, enabled: true, profiles: [], dlms: { host, port: 4059, clientSap: 16, framing: 'wrapper' as const, auth: 'none' as const, security: 'none' as const } });
      await registry.createTerminal({ id: 'd1', ...dlms('10.0.0.1') });
      expect(dlmsPush.senders.byHost('10.0.0.1')?.id).toBe('d1');
      const before = builds;
      for (let i = 0; i < 5; i++) {
        await registry.createMeter({ id: `m${i}`, terminalId: 'd1', address: String(i + 1), ctRatio: 1, ptRatio: 1, protected: false });
        expect(dlmsPush.senders.byHost('10.0.0.1')?.id).toBe('d1');
      }
      await registry.deleteMeter('m4');
      expect(dlmsPush.senders.byHost('10.0.0.1')?.addresses).toEqual(['1', '2', '3', '4']);
      expect(builds - before).toBe(0);
      await registry.updateTerminal('d1', dlms('10.0.0.2'));
      expect(dlmsPush.senders.byHost('10.0.0.1')).toBeUndefined();
      expect(dlmsPush.senders.byHost('10.0.0.2')?.id).toBe('d1');
      expect(builds - before).toBe(1);
    } finally {
      await closers.closeAll();
    }
  });
});
