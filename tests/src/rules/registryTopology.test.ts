/**
 * The registry as the rule engine sees it: the fleet walked a keyset page at a time gives
 * every meter once, in id order, past several pages; an area's meters come from the area
 * index with its sub-areas.
 */
import { afterEach, expect, it } from 'vitest';
import { areaId } from '../../../src/domain/index.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { registryTopology } from '../../../src/rules/index.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

let db: Db | undefined;
afterEach(() => { db?.close(); });

it('walks every meter of a fleet of several pages once, in id order, and an area with its sub-areas', async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  const ids = Array.from({ length: 2_345 }, (_, i) => `m${String(i).padStart(5, '0')}`);
  await registry.seed({
    areas: [{ id: 'f1', name: 'F1', kind: 'feeder' }, { id: 'tx1', name: 'TX1', kind: 'transformer', parentId: 'f1', transformerKva: 400 }],
    terminals: [{ id: 'q1', protocol: 'mqtt', enabled: true, profiles: [] }],
    meters: ids.map((id, i) => ({ id, terminalId: 'q1', address: id, ctRatio: 1, ptRatio: 1, protected: false, ...(i % 2 === 0 ? { areaId: 'tx1' } : {}) })),
  });
  const topology = registryTopology(registry, () => 60_000);
  expect([...topology.meters()].map((m) => m.id)).toEqual(ids);
  expect(topology.metersOfArea?.(areaId('f1')).map((m) => m.id).sort()).toEqual(ids.filter((_, i) => i % 2 === 0));
  await registry.close();
});
