/**
 * The live overview at fleet scale, in process: GRIDHEAD_BENCH_LIVE_METERS meters (default
 * 1,000,000) behind one terminal per 10 meters, one transformer area per 100 meters (10,000 at
 * a million) under 100 feeders under 10 substations, written straight into an embedded store
 * and opened as a restart does. A `power.active` reading reaches 10% of the meters, then,
 * printed:
 *
 * - live.overview_build_background: the area figures built in the background from start, ms;
 * - live.overview_build_slice_max: the longest the event loop waited meanwhile (its delay), ms;
 * - live.overview_build: the first overview asked before any build, which reads the meters once, ms;
 * - live.update_us_per_reading: a reading through the live values and the kept area figures
 *   (batches of 1,000, every meter of the 10% read again), µs;
 * - live.overview_1m: the overview kept up to date, median of 9 after 3 to warm up, ms;
 * - live.overview_1m_from_scratch: the overview counted over every meter as before (the
 *   tests' oracle, tests/helpers/liveOverview.ts), median of 5 after 1, ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { meterId, terminalId, type Reading } from '../../src/domain/index.js';
import { LatestValues } from '../../src/live/latest.js';
import { LiveOverview } from '../../src/live/overview.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/store.js';
import { openDatabase } from '../../src/storage/db.js';
import { benchPad, fillBenchFleet } from '../helpers/benchFleet.js';
import { liveOverviewFromScratch } from '../helpers/liveOverview.js';
import { percentile } from './stats.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_LIVE_METERS ?? 1_000_000);
const PER_TERMINAL = 10;
const PER_AREA = 100;
const FEEDERS = 100;
const SUBSTATIONS = 10;
const BATCH = 1_000;
const options = { registerMapExists: () => true, profileExists: () => true };
const dir = mkdtempSync(join(tmpdir(), 'gridhead-bench-live-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const pad = benchPad;

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

it('keeps the overview of a large fleet without a pass over its meters', async () => {
  const file = join(dir, 'live.db');
  const writer = openDatabase(file, { durability: 'normal' });
  fillBenchFleet(writer, { meters: METERS, perTerminal: PER_TERMINAL, perArea: PER_AREA, feeders: FEEDERS, substations: SUBSTATIONS });
  writer.close();
  const db = openDatabase(file);
  const registry = await Registry.open(new SqliteRegistryStore(db), options);

  const clock = { now: 1_700_000_000_000 };
  const live = new LatestValues(() => clock.now);
  const sources = {
    topology: registry, live, alarms: { countForArea: () => 0, abnormal: () => undefined },
    areaLoad: { freshMs: 15 * 60_000, powerFactor: 0.9, excluded: new Set<string>() },
    expectedIntervalMs: () => 15 * 60_000, missedIntervals: () => 3, now: () => clock.now,
  };
  const overview = new LiveOverview(sources);
  const readingOf = (i: number, value: number): Reading => ({
    meterId: meterId(`m${pad(i)}`), quantity: 'power.active', value, unit: 'kW', ts: clock.now, quality: 'good',
    source: { protocol: 'mqtt', terminalId: terminalId(`t${pad(Math.floor(i / PER_TERMINAL))}`), mode: 'push' },
  });
  const tenth = Array.from({ length: METERS / 10 }, (_, k) => k * 10);
  const feed = (value: number): void => {
    for (let k = 0; k < tenth.length; k += BATCH) live.write(tenth.slice(k, k + BATCH).map((i) => readingOf(i, value)));
  };
  feed(1);

  const background = new LiveOverview(sources);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let start = process.hrtime.bigint();
  background.start();
  await background.whenBuilt();
  const backgroundMs = ms(start);
  delay.disable();
  background.close();
  console.log(`bench: live.overview_build_background = ${backgroundMs.toFixed(0)} ms`);
  console.log(`bench: live.overview_build_slice_max = ${(delay.max / 1e6).toFixed(1)} ms`);

  start = process.hrtime.bigint();
  overview.overview(null);
  console.log(`bench: live.overview_build = ${ms(start).toFixed(0)} ms`);

  clock.now += 1_000;
  const batches = tenth.map((i) => readingOf(i, 2));
  start = process.hrtime.bigint();
  for (let k = 0; k < batches.length; k += BATCH) live.write(batches.slice(k, k + BATCH));
  console.log(`bench: live.update_us_per_reading = ${(ms(start) * 1000 / batches.length).toFixed(2)} µs`);

  const kept: number[] = [];
  for (let i = -3; i < 9; i++) {
    clock.now += 1_000;
    start = process.hrtime.bigint();
    overview.overview(null);
    if (i >= 0) kept.push(ms(start));
  }
  const label = METERS >= 1_000_000 ? `${METERS / 1_000_000}m` : `${METERS / 1000}k`;
  console.log(`bench: live.overview_${label} = ${percentile(kept, 0.5).toFixed(2)} ms`);

  const scratch: number[] = [];
  const fromScratch = () => liveOverviewFromScratch({ ...sources, areas: () => registry.listAreas(), meters: () => registry.listMeters(), collectionRateToday: null, alarms: { all: () => [][Symbol.iterator]() } });
  for (let i = -1; i < 5; i++) {
    start = process.hrtime.bigint();
    fromScratch();
    if (i >= 0) scratch.push(ms(start));
  }
  console.log(`bench: live.overview_${label}_from_scratch = ${percentile(scratch, 0.5).toFixed(0)} ms`);

  // The two agree: the kept figures are the overview, not an approximation of it.
  expect(overview.overview(null)).toEqual(fromScratch());
  overview.close();
  await registry.close();
  db.close();
}, 600_000);
