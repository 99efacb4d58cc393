/**
 * The registry's in-memory image at fleet scale: GRIDHEAD_BENCH_IMAGE_METERS meters (default
 * 1,000,000) behind one terminal per 10 meters, one transformer area per 100 meters under 10
 * feeders, every meter with a customer reference. The fleet is written straight into an
 * embedded store file, then, printed:
 *
 * - registry.load: `Registry.open` of the whole fleet from the store, as a restart does, ms;
 * - registry.load_<size>_cpu_ms: the CPU time (user and system) that open took, ms: on a
 *   machine shared with other work the wall time says more about the neighbours;
 * - registry.heap_per_meter: heap the open registry holds (after a full GC, beyond what the
 *   process held before opening), divided by the meters, B;
 * - registry.page.*: GET /api/v1/meters (and /terminals) over the route, limit 1,000: the
 *   first page, the last page (resumed after the last id but 1,000), a page of one transformer
 *   area, median of 9 after 3 to warm up, ms, for a fleet of 1,000 meters and for the full fleet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, expect, it } from 'vitest';
import { installProblemHandlers, Problem } from '../../src/api/problem.js';
import { MeterOut, TerminalOut } from '../../src/api/schemas.js';
import { meterRoutes, terminalRoutes } from '../../src/api/topologyRoutes.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';
import { openDatabase } from '../../src/storage/db.js';
import { benchPad, fillBenchFleet } from '../helpers/benchFleet.js';
import { startProfiler } from './cpuProfile.js';
import { percentile } from './stats.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_IMAGE_METERS ?? 1_000_000);
const PER_TERMINAL = 10;
const PER_AREA = 100;
const FEEDERS = 10;
const PAGE = 1_000;
const options = { registerMapExists: () => true, profileExists: () => true };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-image-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const pad = benchPad;

/** The fleet written row by row in one transaction, ids in their sort order. */
async function serve(registry: Registry): Promise<FastifyInstance> {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  for (const s of [Problem, MeterOut, TerminalOut]) app.addSchema(s);
  installProblemHandlers(app);
  await app.register(meterRoutes, { prefix: '/api/v1', registry, terminalState: () => undefined });
  await app.register(terminalRoutes, { prefix: '/api/v1', registry, terminalState: () => undefined });
  await app.ready();
  return app;
}

/** Median ms of 9 requests of `url`, after 3 that warm the route up. */
async function pageMs(app: FastifyInstance, url: string): Promise<number> {
  const times: number[] = [];
  for (let i = -3; i < 9; i++) {
    const start = process.hrtime.bigint();
    const res = await app.inject({ method: 'GET', url });
    if (i >= 0) times.push(Number(process.hrtime.bigint() - start) / 1e6);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
  }
  return percentile(times, 0.5);
}

async function measure(meters: number, label: string, profile?: string): Promise<void> {
  const file = join(dir, `${label}.db`);
  const writer = openDatabase(file, { durability: 'normal' });
  fillBenchFleet(writer, { meters, perTerminal: PER_TERMINAL, perArea: PER_AREA, feeders: FEEDERS, customerRefs: true });
  writer.close();

  const db = openDatabase(file);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const stopProfile = await startProfiler(profile);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const registry = await Registry.open(new SqliteRegistryStore(db), options);
  const loadMs = Number(process.hrtime.bigint() - start) / 1e6;
  const { user, system } = process.cpuUsage(cpu);
  await stopProfile?.();
  const size = meters >= 1_000_000 ? `${meters / 1_000_000}m` : `${meters / 1000}k`;
  gc();
  const heapPerMeter = (process.memoryUsage().heapUsed - heapBefore) / meters;
  console.log(`bench: registry.load.${label} = ${loadMs.toFixed(0)} ms`);
  console.log(`bench: registry.load_${size}_cpu_ms = ${((user + system) / 1000).toFixed(0)} ms`);
  console.log(`bench: registry.heap_per_meter.${label} = ${heapPerMeter.toFixed(0)} B`);

  const app = await serve(registry);
  const limit = Math.min(PAGE, meters);
  const lastCursor = `m${pad(meters - limit - 1)}`;
  console.log(`bench: registry.page.meters.first.${label} = ${(await pageMs(app, `/api/v1/meters?limit=${limit}`)).toFixed(2)} ms`);
  console.log(`bench: registry.page.meters.last.${label} = ${(await pageMs(app, `/api/v1/meters?limit=${limit}&cursor=${lastCursor}`)).toFixed(2)} ms`);
  console.log(`bench: registry.page.meters.area.${label} = ${(await pageMs(app, `/api/v1/meters?limit=${PER_AREA}&area=tx${pad(Math.floor(meters / PER_AREA / 2))}`)).toFixed(2)} ms`);
  console.log(`bench: registry.page.terminals.last.${label} = ${(await pageMs(app, `/api/v1/terminals?limit=${Math.min(PAGE, meters / PER_TERMINAL)}&cursor=t${pad(meters / PER_TERMINAL - Math.min(PAGE, meters / PER_TERMINAL) - 1)}`)).toFixed(2)} ms`);
  await app.close();
  db.close();
}

it('loads and pages a small fleet and a large one', async () => {
  await measure(1_000, '1k');
  await measure(METERS, `${METERS / 1000}k`, process.env.GRIDHEAD_BENCH_CPU_PROFILE);
});
