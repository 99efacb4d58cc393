/**
 * The reading path's store sink on the async reading store: an offer's `committed` (what a
 * push adapter acknowledges a device on, MQTT's PUBACK above all) settles only once the store
 * has committed the batch, however long a network database takes, and a failed write is
 * retried with the same batch and reported for /health. Readings another node committed
 * (the cluster feed) reach live state and the reading listeners only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { meterId, terminalId, type Reading } from '../../src/domain/index.js';
import type { ReadingSink } from '../../src/ingest/pipeline.js';
import { createLogger, LogThrottle } from '../../src/observe/logger.js';
import { ShutdownOrder } from '../../src/observe/closers.js';
import { createReadingPath } from '../../src/readingPath.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import type { AsyncReadingStore, WriteResult } from '../../src/storage/readingStore.js';

/** A store whose writes wait until the test lets them finish, as a slow or absent server makes them. */
class HeldStore implements AsyncReadingStore {
  readonly writes: { batch: readonly Reading[]; finish: (err?: Error) => void }[] = [];
  write(batch: readonly Reading[]): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.writes.push({ batch, finish: (err) => { if (err === undefined) resolve({ written: batch.length, unknownMeter: 0, invalidValue: 0 }); else reject(err); } });
    });
  }
  latest = () => Promise.resolve([]);
  series = () => Promise.resolve([]);
  stats = () => ({ written: 0, unknownMeter: 0, invalidValue: 0 });
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => { done = true; });
  // Several turns of the event loop: enough for a promise that could settle to do so.
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('the reading path on an asynchronous store', () => {
  let db: Db;
  let closers: ShutdownOrder;
  afterEach(async () => {
    await closers.closeAll();
    db.close();
  });

  async function path(store: AsyncReadingStore, onStoreError?: (err: unknown) => void, sinks: { live?: ReadingSink[]; rules?: ReadingSink } = {}) {
    db = openDatabase(':memory:');
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    await registry.seed({
      areas: [],
      terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }],
      meters: [{ id: 'm1', name: 'm1', terminalId: 't1', address: '1', ctRatio: 1, ptRatio: 1, protected: false }],
    });
    const logger = createLogger('silent');
    closers = new ShutdownOrder(logger);
    return createReadingPath({
      config: buildConfig({}, 'test'), registry, store, ...(onStoreError === undefined ? {} : { onStoreError }),
      live: sinks.live ?? [], rules: sinks.rules, logger, throttle: new LogThrottle(60_000), closers,
    });
  }

  it('settles an offer\'s commit only after the store committed its batch', async () => {
    const store = new HeldStore();
    const { pipeline } = await path(store);
    const offer = await pipeline.offer([{ terminalId: 't1', address: '1', quantity: 'power.active', value: 1.5, ts: Date.now() }], 'mqtt', 'push');
    expect(offer.accepted).toBe(1);
    while (store.writes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(await settled(offer.committed)).toBe(false);

    store.writes[0]?.finish();
    expect(await settled(offer.committed)).toBe(true);
  });

  it('retries a failed write with the same batch, reports the failure, and commits once the store takes it', async () => {
    const store = new HeldStore();
    const failures: unknown[] = [];
    const { pipeline } = await path(store, (err) => failures.push(err));
    const offer = await pipeline.offer([{ terminalId: 't1', address: '1', quantity: 'power.active', value: 2, ts: Date.now() }], 'mqtt', 'push');
    while (store.writes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    store.writes[0]?.finish(new Error('server gone'));
    while (store.writes.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(failures).toHaveLength(1);
    expect(await settled(offer.committed)).toBe(false);
    expect(store.writes[1]?.batch).toEqual(store.writes[0]?.batch);

    store.writes[1]?.finish();
    expect(await settled(offer.committed)).toBe(true);
  });

  it('applies another node\'s readings to live state and the reading listeners, never to the store, the rules or the committed listeners', async () => {
    const store = new HeldStore();
    const live: Reading[] = [];
    const rules: Reading[] = [];
    const p = await path(store, undefined, { live: [{ name: 'live', write: (b) => { live.push(...b); } }], rules: { name: 'rules', write: (b) => { rules.push(...b); } } });
    const heard: Reading[] = [];
    const committed: Reading[] = [];
    p.onReadings((b) => { heard.push(...b); });
    p.onCommitted((b) => { committed.push(...b); });
    const remote: Reading = { meterId: meterId('m1'), quantity: 'power.active', value: 3, unit: 'kW', ts: Date.now(), quality: 'good', source: { protocol: 'mqtt', terminalId: terminalId('t1'), mode: 'push' } };
    await p.applyRemote([remote]);
    expect({ live, heard, committed, rules, stored: store.writes.length }).toEqual({ live: [remote], heard: [remote], committed: [], rules: [], stored: 0 });

    // What this node's own pipeline commits reaches every one of them.
    const offer = await p.pipeline.offer([{ terminalId: 't1', address: '1', quantity: 'power.active', value: 4, ts: Date.now() }], 'mqtt', 'push');
    while (store.writes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    store.writes[0]?.finish();
    await offer.committed;
    expect([live.length, heard.length, committed.length, rules.length]).toEqual([2, 2, 1, 1]);
    expect(committed[0]?.value).toBe(4);
  });
});
