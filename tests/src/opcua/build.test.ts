/**
 * The address space build, slice by slice on a real node-opcua address space over the real
 * registry: `starting` until the last slice, each slice adds at most its share of areas (parents
 * first, so what is served meanwhile is a tree), then `ok` with every area.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressSpace, generateAddressSpace, nodesets } from 'node-opcua';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../../src/config/load.js';
import { ShutdownOrder } from '../../../src/observe/closers.js';
import { LogThrottle, createLogger } from '../../../src/observe/logger.js';
import { AddressSpaceBuild } from '../../../src/opcua/build.js';
import { TopologyNodes } from '../../../src/opcua/topologyNodes.js';
import { openStores } from '../../../src/stores.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const nextTurn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

describe('the OPC UA address space build', () => {
  it('adds the areas a slice per turn of the event loop, parents first, reporting starting until the last', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gridhead-opcua-build-'));
    dirs.push(dataDir);
    const config = buildConfig({ dataDir }, 'test');
    const logger = createLogger('silent');
    const closers = new ShutdownOrder(logger);
    const addressSpace = AddressSpace.create();
    try {
      const { registry } = await openStores({ config, logger, closers, throttle: new LogThrottle(60_000) }, { GRIDHEAD_MASTER_KEY: '11'.repeat(32) });
      await registry.createArea({ id: 'r1', name: 'Region', kind: 'region' });
      for (let i = 1; i <= 7; i++) await registry.createArea({ id: `tx${i}`, name: `TX ${i}`, kind: 'transformer', parentId: 'r1', transformerKva: 250 });
      await generateAddressSpace(addressSpace, [nodesets.standard]);
      const ns = addressSpace.registerNamespace('urn:gridhead-test');
      const nodes = new TopologyNodes(ns, registry, { meterAdded: () => undefined }, 0);
      const due: string[] = [];
      const build = new AddressSpaceBuild({ nodes, values: { areasChanged: (a) => { if (a !== 'all') for (const id of a) if (id !== undefined) due.push(id); } }, sliceAreas: 3, onProblem: (err) => { throw err; } });
      build.start();
      const seen: { status: string; areas: unknown }[] = [{ status: build.health().status, areas: build.health().info?.areas }];
      while (build.health().status === 'starting') {
        await nextTurn();
        seen.push({ status: build.health().status, areas: build.health().info?.areas });
      }
      expect(seen).toEqual([
        { status: 'starting', areas: 0 }, { status: 'starting', areas: 3 }, { status: 'starting', areas: 6 }, { status: 'ok', areas: 8 },
      ]);
      expect(due).toEqual(['r1', 'tx1', 'tx2', 'tx3', 'tx4', 'tx5', 'tx6', 'tx7']);
      expect(addressSpace.findNode(`ns=${ns.index};s=area:tx7.AggregateLoad`)).not.toBeNull();
      build.close();
    } finally {
      addressSpace.dispose();
      await closers.closeAll();
    }
  });
});
