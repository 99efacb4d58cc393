/**
 * The device register store's behaviour, one suite run against every driver (embedded SQLite
 * and PostgreSQL, tests/helpers/storeDrivers.ts): installation and removal from the registry's
 * notifications and its tables, nameplates and firmware history (a line only on a change,
 * trimmed), the due scan of the refresh, and keyset pages under every filter.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../../src/deviceRegister/model.js';
import type { DeviceRegisterStore } from '../../../src/deviceRegister/store.js';
import { Registry } from '../../../src/registry/registry.js';
import { STORE_DRIVERS, connectEachTest, deviceRegisterStoreOf, disposeStoreDrivers, registryStoreOf, type StoreConnection } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2026, 2, 1, 8);
const HOUR = 3_600_000;

afterAll(async () => {
  await disposeStoreDrivers();
});

async function registryOn(c: StoreConnection, at: () => number): Promise<Registry> {
  const registry = await Registry.open(registryStoreOf(c), { registerMapExists: () => true, profileExists: () => true, now: at });
  await registry.seed({
    areas: [{ id: 'r1', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1' }, { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'r1' }],
    terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }, { id: 't2', name: 't2', protocol: 'mqtt', enabled: true, profiles: [] }],
    meters: [
      { id: 'm1', terminalId: 't1', address: '1', areaId: 'tx1' },
      { id: 'm2', terminalId: 't1', address: '2', areaId: 'tx1' },
      { id: 'm3', terminalId: 't2', address: '1', areaId: 'tx2' },
    ].map((m) => ({ name: m.id, ctRatio: 1, ptRatio: 1, protected: false, ...m })),
  });
  return registry;
}

describe.each(STORE_DRIVERS)('device register store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: DeviceRegisterStore;
  beforeEach(() => {
    store = deviceRegisterStoreOf(db().connection, 3);
  });

  it('adopts the registry\'s devices at their creation time, removes those it dropped, and keeps their rows', async () => {
    let now = T0;
    const registry = await registryOn(db().connection, () => now);
    expect(await store.reconcile('meter', T0 + HOUR)).toEqual({ adopted: 3, retired: 0 });
    expect(await store.reconcile('terminal', T0 + HOUR)).toEqual({ adopted: 2, retired: 0 });
    expect(await store.get('meter', 'm1')).toMatchObject({ installedAt: T0, removedAt: null, firmwareVersion: null, nameplateReadAt: null });
    expect(await store.reconcile('meter', T0 + HOUR)).toEqual({ adopted: 0, retired: 0 });

    now = T0 + 2 * HOUR;
    await registry.deleteMeter('m2');
    expect(await store.reconcile('meter', T0 + 3 * HOUR)).toEqual({ adopted: 0, retired: 1 });
    expect(await store.get('meter', 'm2')).toMatchObject({ installedAt: T0, removedAt: T0 + 3 * HOUR });
    expect(await store.due('meter', T0 + 10 * HOUR, undefined, 10)).not.toContainEqual(expect.objectContaining({ id: 'm2' }));

    // Back in the registry: installed again from the registry row's creation time, due for a read.
    now = T0 + 4 * HOUR;
    await registry.createMeter({ id: 'm2', name: 'm2', terminalId: 't1', address: '2', ctRatio: 1, ptRatio: 1, protected: false, areaId: 'tx1' });
    expect(await store.reconcile('meter', T0 + 5 * HOUR)).toEqual({ adopted: 1, retired: 0 });
    expect(await store.get('meter', 'm2')).toMatchObject({ installedAt: T0 + 4 * HOUR, removedAt: null });
    await registry.close();
  });

  it('installs and removes on notification, idempotently, and a removed device never comes due', async () => {
    await store.installed('meter', ['a', 'b'], T0);
    await store.installed('meter', ['a'], T0 + HOUR);
    await store.installed('terminal', ['t'], T0);
    expect(await store.get('meter', 'a')).toMatchObject({ installedAt: T0, removedAt: null });
    await store.removed('meter', ['a'], T0 + 2 * HOUR);
    await store.removed('meter', ['a'], T0 + 3 * HOUR);
    expect(await store.get('meter', 'a')).toMatchObject({ installedAt: T0, removedAt: T0 + 2 * HOUR });
    expect((await store.due('meter', T0 + 9 * HOUR, undefined, 10)).map((d) => d.id)).toEqual(['b']);
    // Terminals are not read by the refresh.
    expect(await store.due('terminal', T0 + 9 * HOUR, undefined, 10)).toEqual([]);
    await store.installed('meter', ['a'], T0 + 4 * HOUR);
    expect(await store.get('meter', 'a')).toMatchObject({ installedAt: T0 + 4 * HOUR, removedAt: null });
  });

  it('learns a first firmware version without a history line, records a change with one, and keeps what a nameplate leaves out but an old version\'s signature', async () => {
    await store.installed('meter', ['m1'], T0);
    const first = await store.noteNameplate('meter', 'm1', { manufacturer: 'GRD', model: 'GX-1', serial: 'S1', firmwareVersion: '1.0', firmwareSignature: 'aa', hardwareVersion: 'H1' }, T0 + 1, 'read', T0 + 24 * HOUR);
    expect(first.change).toBeNull();
    expect(first.device).toMatchObject({ manufacturer: 'GRD', model: 'GX-1', serial: 'S1', firmwareVersion: '1.0', firmwareSignature: 'aa', hardwareVersion: 'H1', nameplateReadAt: T0 + 1 });
    expect((await store.noteNameplate('meter', 'm1', { firmwareVersion: '1.0' }, T0 + 2, 'read', T0 + 24 * HOUR)).change).toBeNull();
    const changed = await store.noteNameplate('meter', 'm1', { firmwareVersion: '1.1' }, T0 + 3, 'read', T0 + 24 * HOUR);
    expect(changed.change).toEqual({ at: T0 + 3, from: '1.0', to: '1.1', source: 'read', campaignId: null, actor: null });
    // The signature read with 1.0 describes 1.0's image, not 1.1's.
    expect(changed.device).toMatchObject({ model: 'GX-1', serial: 'S1', firmwareVersion: '1.1', firmwareSignature: null });
    const campaign = await store.recordFirmware('meter', 'm1', { version: '2.0', signature: 'bb', at: T0 + 4, source: 'campaign', campaignId: 'c-1', actor: 'user:li' });
    expect(campaign.change).toEqual({ at: T0 + 4, from: '1.1', to: '2.0', source: 'campaign', campaignId: 'c-1', actor: 'user:li' });
    expect(campaign.device).toMatchObject({ firmwareVersion: '2.0', firmwareSignature: 'bb', nameplateReadAt: T0 + 3 });
    expect((await store.noteNameplate('meter', 'm1', { firmwareVersion: '2.0' }, T0 + 5, 'read', T0 + 24 * HOUR)).device).toMatchObject({ firmwareSignature: 'bb' });
    expect((await store.recordFirmware('meter', 'm1', { version: '2.1', at: T0 + 6, source: 'ota' })).device).toMatchObject({ firmwareVersion: '2.1', firmwareSignature: null });
    expect((await store.history('meter', 'm1')).map((h) => h.to)).toEqual(['2.1', '2.0', '1.1']);
  });

  it('keeps the newest historyPerDevice lines of a device', async () => {
    for (let i = 1; i <= 5; i++) await store.recordFirmware('terminal', 'tm', { version: `v${i}`, at: T0 + i, source: 'ota' });
    const history = await store.history('terminal', 'tm');
    expect(history.map((h) => [h.from, h.to])).toEqual([['v4', 'v5'], ['v3', 'v4'], ['v2', 'v3']]);
    // A firmware report on a device the register never had adds it, with the change from nothing.
    expect((await store.history('terminal', 'tm')).length).toBe(3);
    expect(await store.get('terminal', 'tm')).toMatchObject({ installedAt: T0 + 1, firmwareVersion: 'v5' });
  });

  it('answers due meters oldest due first, page by page, and a deferred one from its new time', async () => {
    await store.installed('meter', ['c'], T0);
    await store.installed('meter', ['a', 'b'], T0 + 1);
    await store.noteNameplate('meter', 'd', { firmwareVersion: '1' }, T0, 'read', T0 + 24 * HOUR);
    expect((await store.due('meter', T0 + HOUR, undefined, 10)).map((d) => d.id)).toEqual(['c', 'a', 'b']);
    const first = await store.due('meter', T0 + HOUR, undefined, 2);
    expect(first.map((d) => d.id)).toEqual(['c', 'a']);
    const last = first.at(-1);
    expect(last).toBeDefined();
    expect((await store.due('meter', T0 + HOUR, last, 2)).map((d) => d.id)).toEqual(['b']);
    await store.deferCheck('meter', 'c', T0 + 2 * HOUR);
    expect((await store.due('meter', T0 + HOUR, undefined, 10)).map((d) => d.id)).toEqual(['a', 'b']);
    expect((await store.due('meter', T0 + 25 * HOUR, undefined, 10)).map((d) => d.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('pages by kind and id under each filter, the area filter through the registry\'s meters', async () => {
    const registry = await registryOn(db().connection, () => T0);
    await store.reconcile('meter', T0);
    await store.reconcile('terminal', T0);
    await store.noteNameplate('meter', 'm1', { manufacturer: 'GRD', model: 'GX-1', firmwareVersion: '1.0' }, T0, 'read', T0);
    await store.noteNameplate('meter', 'm2', { manufacturer: 'GRD', model: 'GX-2', firmwareVersion: '1.0' }, T0, 'read', T0);
    await store.noteNameplate('meter', 'm3', { manufacturer: 'ABB', model: 'GX-1', firmwareVersion: '2.0' }, T0, 'read', T0);
    const ids = (items: readonly DeviceRecord[]) => items.map((d) => `${d.kind}:${d.id}`);

    const all: string[] = [];
    let page = await store.list({ limit: 2 });
    all.push(...ids(page.items));
    while (page.next !== null) {
      page = await store.list({ limit: 2, after: page.next });
      all.push(...ids(page.items));
    }
    expect(all).toEqual(['meter:m1', 'meter:m2', 'meter:m3', 'terminal:t1', 'terminal:t2']);
    expect(ids((await store.list({ firmwareVersion: '1.0', limit: 10 })).items)).toEqual(['meter:m1', 'meter:m2']);
    expect(ids((await store.list({ model: 'GX-1', limit: 10 })).items)).toEqual(['meter:m1', 'meter:m3']);
    expect(ids((await store.list({ manufacturer: 'ABB', limit: 10 })).items)).toEqual(['meter:m3']);
    expect(ids((await store.list({ kind: 'terminal', limit: 10 })).items)).toEqual(['terminal:t1', 'terminal:t2']);
    expect(ids((await store.list({ areaIds: ['tx2'], limit: 10 })).items)).toEqual(['meter:m3', 'terminal:t2']);
    expect(ids((await store.list({ areaIds: ['r1', 'tx1'], kind: 'terminal', limit: 10 })).items)).toEqual(['terminal:t1']);
    expect(ids((await store.list({ areaIds: ['tx1'], kind: 'meter', model: 'GX-2', limit: 10 })).items)).toEqual(['meter:m2']);
    await registry.close();
  });
});
