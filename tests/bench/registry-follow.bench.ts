/**
 * Following another node's bulk import: two station nodes (two registries, each on its own
 * pool) on one PostgreSQL 15 with fsync on; node A imports a fleet in batches of 5,000 meters
 * (as `gridhead registry import` cuts a file) and node B follows. Printed:
 *
 * - registry.follow_100k_import_ms: from the first batch's start on A until B's image holds
 *   every meter;
 * - registry.follow_100k_import.writer_ms: A's import alone, what the writer pays;
 * - registry.follow_100k_import.reloads: B's reads of everything during the import.
 *
 * GRIDHEAD_BENCH_FOLLOW_METERS sets the fleet (default 100,000; the names keep "100k").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { Registry, type ImportBatch } from '../../src/registry/registry.js';
import type { RegistryStore } from '../../src/registry/store.js';
import { openPostgres, type PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';
import { registryStoreOf } from '../helpers/storeDrivers.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_FOLLOW_METERS ?? 100_000);
const BATCH = 5_000;
const PER_TERMINAL = 10;
const options = { registerMapExists: () => true, profileExists: () => true };

const unavailable = postgresUnavailable();

it('follows a bulk import on another node', async () => {
  if (unavailable !== undefined) {
    console.log(`bench: registry.follow_100k_import skipped: ${unavailable}`);
    return;
  }
  const server = await startPostgres({ fsync: true });
  const opened: { close(): Promise<void> }[] = [];
  try {
    const url = await server.createDatabase();
    let loads = 0;
    const open = async (counted: boolean): Promise<Registry> => {
      const db: PostgresDatabase = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
      opened.push(db);
      await migratePostgres(db);
      const store = registryStoreOf({ postgres: db });
      const load: RegistryStore['load'] = (into) => {
        loads += 1;
        return store.load(into);
      };
      const registry = await Registry.open(counted ? new Proxy(store, { get: (t, p) => (p === 'load' ? load : Reflect.get(t, p) as unknown) }) : store, options);
      opened.push(registry);
      return registry;
    };
    const a = await open(false);
    const terminals = Math.ceil(METERS / PER_TERMINAL);
    await a.seed({
      areas: [],
      terminals: Array.from({ length: terminals }, (_, t) => ({ id: `t${t}`, protocol: 'mqtt' as const, enabled: true, profiles: [] })),
      meters: [],
    });
    const b = await open(true);
    loads = 0;

    const start = performance.now();
    for (let i = 0; i < METERS; i += BATCH) {
      const batch: ImportBatch = {
        kind: 'meters',
        rows: Array.from({ length: Math.min(BATCH, METERS - i) }, (_, j) => {
          const m = i + j;
          return { line: m + 2, seed: { id: `m${m}`, terminalId: `t${Math.floor(m / PER_TERMINAL)}`, address: String((m % PER_TERMINAL) + 1), ctRatio: 1, ptRatio: 1, protected: false } };
        }),
      };
      expect((await a.importBatch(batch)).rejected).toEqual([]);
    }
    const written = performance.now() - start;
    while (b.meterCount < METERS) await sleep(5);
    const followed = performance.now() - start;

    console.log(`bench: registry.follow_100k_import_ms = ${Math.round(followed)} ms (${METERS} meters)`);
    console.log(`bench: registry.follow_100k_import.writer_ms = ${Math.round(written)} ms`);
    console.log(`bench: registry.follow_100k_import.reloads = ${loads} reloads`);
  } finally {
    for (const o of opened.splice(0).reverse()) await o.close();
    await server.dispose();
  }
});
