import { afterEach, describe, expect, it } from 'vitest';
import { wholeStation } from '../../../src/cluster/placement.js';
import { createCollection } from '../../../src/collect/assemble.js';
import { SqliteProfileCursors } from '../../../src/collect/profileCursors.js';
import type { CollectionStatsStore } from '../../../src/collect/statsStore.js';
import { buildConfig } from '../../../src/config/load.js';
import { createLogger, LogThrottle } from '../../../src/observe/logger.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { OTHER_DESCRIPTORS } from '../../../src/observe/openFiles.js';

const cleanups: (() => void)[] = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

describe('collection assembly', () => {
  it('logs a statistics store that keeps failing once a minute with the count held back, not once per flush', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const lines: { msg: string; suppressed?: number }[] = [];
    const down: CollectionStatsStore = {
      add: () => Promise.reject(new Error('PostgreSQL is unreachable')),
      query: () => Promise.resolve([]),
      addMeterDays: () => Promise.reject(new Error('PostgreSQL is unreachable')),
      areaDays: () => Promise.resolve([]),
    };
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    const collection = createCollection({
      config: buildConfig({}, 'test'),
      stores: { stats: down, cursors: new SqliteProfileCursors(db) },
      registry, placement: wholeStation(registry), handoverMs: 0,
      adapters: {},
      offer: () => Promise.resolve(),
      logger: createLogger('warn', { write: (s: string) => { lines.push(JSON.parse(s) as { msg: string; suppressed?: number }); } }),
      throttle: new LogThrottle(60_000),
      closers: { add: () => undefined }, duties: { add: () => undefined },
    });
    for (let i = 0; i < 5; i++) {
      collection.stats.record('t1', Date.now(), 1, 1);
      await collection.stats.flush();
    }
    expect(collection.stats.flushErrors).toBe(5);
    expect(lines.filter((l) => l.msg === 'collection statistics flush failed; kept in memory')).toEqual([
      expect.objectContaining({ suppressed: 0 }),
    ]);
  });

  it('warns once at start, with the numbers, when the requests in flight, the kept sessions and the other descriptors exceed the open-files limit', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const lines: Record<string, unknown>[] = [];
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    createCollection({
      config: buildConfig({ collect: { concurrency: 4_096, keepSessions: { max: 100 } } }, 'test'),
      stores: { stats: { add: () => Promise.resolve(), query: () => Promise.resolve([]), addMeterDays: () => Promise.resolve(), areaDays: () => Promise.resolve([]) }, cursors: new SqliteProfileCursors(db) },
      registry, placement: wholeStation(registry), handoverMs: 0,
      adapters: {},
      offer: () => Promise.resolve(),
      logger: createLogger('warn', { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } }),
      throttle: new LogThrottle(60_000),
      closers: { add: () => undefined }, duties: { add: () => undefined },
      openFilesLimit: { soft: 1_024, hard: 1_024 },
    });
    expect(lines).toEqual([expect.objectContaining({ soft: 1_024, collectionSessions: 4_096 + 100, needed: 4_096 + 100 + OTHER_DESCRIPTORS })]);
  });

  it('fits the default concurrency and kept-session bound in a stock 1,024 open-files limit', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const lines: Record<string, unknown>[] = [];
    const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
    const config = buildConfig({}, 'test');
    createCollection({
      config,
      stores: { stats: { add: () => Promise.resolve(), query: () => Promise.resolve([]), addMeterDays: () => Promise.resolve(), areaDays: () => Promise.resolve([]) }, cursors: new SqliteProfileCursors(db) },
      registry, placement: wholeStation(registry), handoverMs: 0,
      adapters: {},
      offer: () => Promise.resolve(),
      logger: createLogger('info', { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } }),
      throttle: new LogThrottle(60_000),
      closers: { add: () => undefined }, duties: { add: () => undefined },
      openFilesLimit: { soft: 1_024, hard: 1_024 },
    });
    expect(config.collect.keepSessions).toEqual({ max: 512, idleMs: 120_000 });
    expect(lines).toEqual([expect.objectContaining({ msg: 'open-files limit', collectionSessions: config.collect.concurrency + 512 })]);
  });
});
