/**
 * The registry on each store driver with a fleet of 100,000 meters (1,000 terminals of 100
 * meters, 10 transformer areas): the embedded store (SQLite, durability `full`) and
 * PostgreSQL 15 with fsync on, as in production. Printed per driver:
 *
 * - seed: the fleet written by one `seed` (one transaction), meters/s;
 * - reseed: the same seed again, as every start runs it (every meter exists: updates), meters/s;
 * - load: `Registry.open` of the whole fleet, as a restart does, ms;
 * - upsert: meters replaced one at a time through `updateMeter` (each awaited, as the API
 *   does), meters/s over GRIDHEAD_BENCH_REGISTRY_SINGLE of them (default 2,000).
 *
 * And on PostgreSQL, what another node (a second registry on its own pool) takes to follow:
 *
 * - follow.seed: from the end of the fleet's seed on one node until the other has every meter
 *   (one notification, then one read of the three tables, diffed against its image), ms;
 * - follow.change: from the return of one `updateMeter` on one node until the other node's
 *   listener hears it, median and max over GRIDHEAD_BENCH_REGISTRY_FOLLOW changes (default 200), ms.
 *
 * GRIDHEAD_BENCH_REGISTRY_METERS sets the fleet size (default 100,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MeterSeed, TerminalSeed } from '../../src/config/schema.js';
import { PostgresRegistryStore } from '../../src/registry/postgresStore.js';
import { Registry, type RegistryChange, type RegistrySeed } from '../../src/registry/registry.js';
import { SqliteRegistryStore, type RegistryStore } from '../../src/registry/store.js';
import { openDatabase } from '../../src/storage/db.js';
import { openPostgres } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_REGISTRY_METERS ?? 100_000);
const SINGLE = Math.min(METERS, Number(process.env.GRIDHEAD_BENCH_REGISTRY_SINGLE ?? 2_000));
const FOLLOW = Number(process.env.GRIDHEAD_BENCH_REGISTRY_FOLLOW ?? 200);
const PER_TERMINAL = 100;
const AREAS = 10;
const options = { registerMapExists: () => true, profileExists: () => true };

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the PostgreSQL part of the registry benchmark: ${unavailable}`);
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-registry-'));
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (unavailable === undefined) server = await startPostgres({ fsync: true });
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function fleet(): RegistrySeed & { readonly meters: readonly MeterSeed[] } {
  const terminals: TerminalSeed[] = [];
  const meters: MeterSeed[] = [];
  for (let i = 0; i < METERS; i++) {
    const t = `t${Math.floor(i / PER_TERMINAL)}`;
    if (i % PER_TERMINAL === 0) terminals.push({ id: t, protocol: 'mqtt', enabled: true, profiles: [] });
    meters.push({ id: `m${i}`, terminalId: t, address: String(i % PER_TERMINAL), ctRatio: 1, ptRatio: 1, protected: false, areaId: `tx${i % AREAS}` });
  }
  return {
    areas: [{ id: 'r', name: 'Region', kind: 'region' }, ...Array.from({ length: AREAS }, (_, i) => ({ id: `tx${i}`, name: `TX ${i}`, kind: 'transformer' as const, parentId: 'r', transformerKva: 400 }))],
    terminals,
    meters,
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/** Seeds, reseeds, reopens and upserts on stores from `open`, printing the figures under `name`. */
async function measure(name: string, open: () => Promise<{ store: RegistryStore; close: () => Promise<void> }>): Promise<void> {
  const seed = fleet();
  const first = await open();
  const registry = await Registry.open(first.store, options);
  const seeded = await timed(() => registry.seed(seed));
  console.log(`bench: registry.${name}.seed = ${Math.round(METERS / seeded.seconds)} meters/s`);
  const reseeded = await timed(() => registry.seed(seed));
  console.log(`bench: registry.${name}.reseed = ${Math.round(METERS / reseeded.seconds)} meters/s`);
  await first.close();

  const second = await open();
  const loaded = await timed(() => Registry.open(second.store, options));
  console.log(`bench: registry.${name}.load = ${Math.round(loaded.seconds * 1000)} ms for ${METERS} meters`);
  expect(loaded.value.listMeters()).toHaveLength(METERS);

  const upserts = await timed(async () => {
    for (const m of seed.meters.slice(0, SINGLE)) await loaded.value.updateMeter(m.id, { ...m, customerRef: `C-${m.id}` });
  });
  console.log(`bench: registry.${name}.upsert = ${Math.round(SINGLE / upserts.seconds)} meters/s`);
  expect(loaded.value.getMeter('m0').customerRef).toBe('C-m0');
  await second.close();
}

it('the registry on the embedded store', async () => {
  const path = join(dir, 'registry.db');
  await measure('embedded', () => {
    const db = openDatabase(path);
    return Promise.resolve({ store: new SqliteRegistryStore(db), close: () => { db.close(); return Promise.resolve(); } });
  });
});

it('the registry on PostgreSQL', async (ctx) => {
  if (server === undefined) return ctx.skip();
  const url = await server.createDatabase();
  await measure('postgres', async () => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    return { store: new PostgresRegistryStore(db), close: () => db.close() };
  });
});

it('the registry on PostgreSQL: changes reaching another node', async (ctx) => {
  if (server === undefined) return ctx.skip();
  const url = await server.createDatabase();
  const pools = [await openPostgres({ url, config: POSTGRES_TEST_CONFIG }), await openPostgres({ url, config: POSTGRES_TEST_CONFIG })];
  const [poolA, poolB] = pools;
  if (poolA === undefined || poolB === undefined) throw new Error('two pools');
  await migratePostgres(poolA);
  const a = await Registry.open(new PostgresRegistryStore(poolA), options);
  const b = await Registry.open(new PostgresRegistryStore(poolB), options);
  let waiting: { readonly id: string; readonly arrived: () => void } | undefined;
  let meters = 0;
  let allArrived: () => void = () => undefined;
  const fleetArrived = new Promise<void>((resolve) => { allArrived = resolve; });
  b.onChange((c: RegistryChange) => {
    if (c.kind === 'meter' && c.op === 'upsert' && ++meters === METERS) allArrived();
    if (c.id === waiting?.id) waiting.arrived();
  });
  try {
    const seed = fleet();
    await a.seed(seed);
    const followed = await timed(() => fleetArrived);
    console.log(`bench: registry.postgres.follow.seed = ${Math.round(followed.seconds * 1000)} ms for ${METERS} meters`);
    expect(b.listMeters()).toHaveLength(METERS);

    const latencies: number[] = [];
    for (const m of seed.meters.slice(0, FOLLOW)) {
      const arrived = new Promise<void>((resolve) => { waiting = { id: m.id, arrived: resolve }; });
      await a.updateMeter(m.id, { ...m, customerRef: `F-${m.id}` });
      latencies.push((await timed(() => arrived)).seconds * 1000);
    }
    latencies.sort((x, y) => x - y);
    const median = latencies[Math.floor(latencies.length / 2)] ?? 0;
    const max = latencies[latencies.length - 1] ?? 0;
    console.log(`bench: registry.postgres.follow.change = ${median.toFixed(1)} ms median, ${max.toFixed(1)} ms max over ${FOLLOW} changes`);
  } finally {
    await a.close();
    await b.close();
    for (const p of pools) await p.close();
  }
}, 300_000);
