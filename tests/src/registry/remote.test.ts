/**
 * Applying what another node committed to this node's image: only what differs is applied and
 * announced, and changes that arrive together apply whatever their order.
 */
import { describe, expect, it } from 'vitest';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { TopologyImage } from '../../../src/registry/image.js';
import type { RegistryChange } from '../../../src/registry/registry.js';
import { patch, reload } from '../../../src/registry/remote.js';
import type { StoredTopology, TopologySink } from '../../../src/registry/store.js';

const meter = (id: string, address: string, extra: Partial<Meter> = {}): Meter => ({
  id: meterId(id), name: id, terminalId: terminalId('t1'), address, ctRatio: 1, ptRatio: 1,
  areaId: null, protected: false, customerRef: null, accountRef: null, ...extra,
});
const stored = (meters: readonly { meter: Meter; key: number }[]): StoredTopology => ({
  areas: [],
  terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }],
  meters,
});

/** A store's load of these rows. */
const loadOf = (t: StoredTopology) => (into: TopologySink): Promise<void> => {
  for (const a of t.areas) into.area(a);
  for (const x of t.terminals) into.terminal(x);
  for (const { meter: m, key } of t.meters) {
    into.meter([key, m.id, m.name, m.terminalId, m.address, m.ctRatio, m.ptRatio, m.nominalVoltage ?? null, m.maxCurrent ?? null, m.areaId, m.protected, m.customerRef, m.accountRef]);
  }
  return Promise.resolve();
};
const imageOf = async (t: StoredTopology): Promise<TopologyImage> => {
  const image = new TopologyImage();
  await reload(image, loadOf(t));
  return image;
};

describe('applying changes read back from a shared store', () => {
  it('keeps a meter at the address another one left, whichever of the two is applied first', async () => {
    const image = await imageOf(stored([{ meter: meter('x', '1'), key: 1 }]));
    // x moved to 2, then y took 1: read back together, y comes first in key order.
    const changes = patch(image, { areas: [], terminals: [], meters: ['x', 'y'] }, {
      areas: [], terminals: [], meters: [{ meter: meter('y', '1'), key: 2 }, { meter: meter('x', '2'), key: 1 }],
    });
    expect(image.meterAt('t1', '1')?.id).toBe('y');
    expect(image.meterAt('t1', '2')?.id).toBe('x');
    expect(changes).toEqual([{ kind: 'meter', id: 'y', op: 'upsert' }, { kind: 'meter', id: 'x', op: 'upsert' }]);
  });

  it('announces nothing for an entry named but unchanged, and a delete for one named and gone', async () => {
    const image = await imageOf(stored([{ meter: meter('x', '1'), key: 1 }, { meter: meter('z', '3'), key: 3 }]));
    const changes = patch(image, { areas: [], terminals: [], meters: ['x', 'z'] }, { areas: [], terminals: [], meters: [{ meter: meter('x', '1'), key: 1 }] });
    expect(changes).toEqual([{ kind: 'meter', id: 'z', op: 'delete' }]);
    expect(image.hasMeter(meterId('z'))).toBe(false);
    expect(image.meterAt('t1', '3')).toBeUndefined();
  });

  it('finds what a full reload changed, in place, and nothing in a reload of the same rows', async () => {
    const image = await imageOf(stored([{ meter: meter('x', '1'), key: 1 }, { meter: meter('z', '3'), key: 3 }]));
    const same: RegistryChange[] = [];
    await reload(image, loadOf(stored([{ meter: meter('x', '1'), key: 1 }, { meter: meter('z', '3'), key: 3 }])), (c) => same.push(c));
    expect(same).toEqual([]);
    const changes: RegistryChange[] = [];
    await reload(image, loadOf({ areas: [], terminals: [], meters: [{ meter: meter('x', '1', { ctRatio: 40 }), key: 1 }] }), (c) => changes.push(c));
    expect(image.meter(meterId('x'))?.ctRatio).toBe(40);
    expect(image.hasMeter(meterId('z'))).toBe(false);
    expect(changes).toEqual([
      { kind: 'meter', id: 'x', op: 'upsert' },
      { kind: 'meter', id: 'z', op: 'delete' },
      { kind: 'terminal', id: 't1', op: 'delete' },
    ]);
  });
});
