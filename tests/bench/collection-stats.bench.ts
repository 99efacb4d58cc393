/**
 * Daily read success at a million meters: 1,000,000 meters in 10,000 transformer areas under
 * 100 feeders under 10 substations (100 meters per area).
 *
 * One day of collection goes through the collector's write path: every meter's outcome of a
 * first cycle (1 in 20 not read completely) and of a second cycle for those (1 in 3 of them
 * still not read) recorded in `CollectionStats` and flushed into the store every 5,000
 * outcomes, as the scheduler's 5 s flush does at the fleet's polling rate; that is
 * `record_1m_outcomes`. The 29 days before it are the area rows such a day
 * leaves (10,000 per day), written straight into `collection_area_stats`: the marks of older
 * days are dropped anyway, and the queries read only the area rows.
 *
 * Then the queries the area routes make, each the median of 5 runs: one day for every area
 * (rolled up to feeders and substations, as GET /stats/collection/areas does), one
 * substation's roll-up for a day, 30 days of one transformer area and of one substation. On
 * the embedded store (a file, WAL, as shipped) and on PostgreSQL (a throw-away cluster;
 * skipped with the reason printed where it is not installed).
 *
 * GRIDHEAD_BENCH_STATS_METERS sets the meters (default 1,000,000; areas stay 10,000).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PostgresCollectionStatsStore } from '../../src/collect/postgresStatsStore.js';
import { daysBefore, rollUp } from '../../src/collect/meterDays.js';
import { CollectionStats } from '../../src/collect/stats.js';
import { SqliteCollectionStatsStore, type CollectionStatsStore } from '../../src/collect/statsStore.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { percentile } from './stats.js';

const METERS = Number(process.env.GRIDHEAD_BENCH_STATS_METERS ?? 1_000_000);
const SUBSTATIONS = 10;
const FEEDERS_PER_SUBSTATION = 10;
const AREAS_PER_FEEDER = 100;
const AREAS = SUBSTATIONS * FEEDERS_PER_SUBSTATION * AREAS_PER_FEEDER;
const DAY = '2026-03-30';
const DAYS = 30;
const RUNS = 5;
const FLUSH_EVERY = 5_000;
/** 10:00 station time (UTC) of DAY, and the second cycle 15 minutes later. */
const CYCLE_TS = Date.parse(`${DAY}T10:00:00Z`);

const sub = (s: number): string => `sub${String(s).padStart(2, '0')}`;
const feeder = (s: number, f: number): string => `${sub(s)}-f${String(f).padStart(2, '0')}`;
const area = (i: number): string => {
  const s = Math.floor(i / (FEEDERS_PER_SUBSTATION * AREAS_PER_FEEDER));
  const f = Math.floor(i / AREAS_PER_FEEDER) % FEEDERS_PER_SUBSTATION;
  return `${feeder(s, f)}-tx${String(i % AREAS_PER_FEEDER).padStart(3, '0')}`;
};
const AREA_IDS = Array.from({ length: AREAS }, (_, i) => area(i));
const PARENT = new Map<string, string | null>();
for (let s = 0; s < SUBSTATIONS; s++) {
  PARENT.set(sub(s), null);
  for (let f = 0; f < FEEDERS_PER_SUBSTATION; f++) PARENT.set(feeder(s, f), sub(s));
}
for (const a of AREA_IDS) PARENT.set(a, a.slice(0, a.lastIndexOf('-')));
const SUBTREE_OF_SUB0 = [...PARENT.keys()].filter((id) => id.startsWith(sub(0)));
const METER_IDS = Array.from({ length: METERS }, (_, i) => `m${String(i).padStart(7, '0')}`);
// A terminal's meters sit in one area and are read together: meters go to areas in runs.
const areaOfMeter = (i: number): string => AREA_IDS[Math.floor(i * AREAS / METERS)] ?? '';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Driver {
  readonly name: string;
  readonly store: CollectionStatsStore;
  /** Writes the area rows of one day straight into collection_area_stats. */
  fillDay(day: string, rows: readonly { areaId: string; expected: number; collected: number }[]): Promise<void>;
  size(): Promise<string>;
}

it('records a day of a million meters\' outcomes and queries the areas on the embedded store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridhead-stats-bench-'));
  cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });
  const db = openDatabase(join(dir, 'station.db'));
  cleanups.push(() => { db.close(); });
  await run({ name: 'embedded', store: new SqliteCollectionStatsStore(db), fillDay: (day, rows) => sqliteFill(db, day, rows), size: () => Promise.resolve(sqliteSize(db, dir)) });
});

it('records a day of a million meters\' outcomes and queries the areas on PostgreSQL', async (ctx) => {
  const unavailable = postgresUnavailable();
  if (unavailable !== undefined) {
    console.log(`bench: collection_stats.postgres skipped: ${unavailable}`);
    ctx.skip();
    return;
  }
  const cluster: TestPostgres = await startPostgres();
  cleanups.push(() => cluster.dispose());
  const db: PostgresDatabase = await openPostgres({ url: await cluster.createDatabase(), config: POSTGRES_TEST_CONFIG });
  cleanups.push(() => db.close());
  await migratePostgres(db);
  await run({
    name: 'postgres', store: new PostgresCollectionStatsStore(db),
    fillDay: async (day, rows) => {
      await db.run((sql) => sql`
        INSERT INTO collection_area_stats (day, area_id, expected, collected)
        SELECT ${day}, * FROM unnest(${rows.map((r) => r.areaId)}::text[], ${rows.map((r) => r.expected)}::int8[], ${rows.map((r) => r.collected)}::int8[])`);
    },
    size: async () => {
      const [r] = await db.run((sql) => sql<{ areas: number; marks: number }[]>`
        SELECT pg_total_relation_size('collection_area_stats')::float8 AS areas, pg_total_relation_size('collection_meter_days')::float8 AS marks`);
      return `areas ${mib(r?.areas ?? 0)} MiB, marks ${mib(r?.marks ?? 0)} MiB`;
    },
  });
});

async function run(driver: Driver): Promise<void> {
  const stats = new CollectionStats({ store: driver.store, utcOffsetMinutes: 0 });
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let outcomes = 0;
  let flushMs = 0;
  const record = async (meter: number, ts: number, read: boolean): Promise<void> => {
    stats.recordMeter(METER_IDS[meter] ?? '', areaOfMeter(meter), ts, read);
    // The collector flushes every 5 s; at the fleet's polling rate that is a few thousand outcomes.
    if (++outcomes % FLUSH_EVERY === 0) {
      const t0 = performance.now();
      await stats.flush();
      flushMs += performance.now() - t0;
    }
  };
  for (let i = 0; i < METERS; i++) await record(i, CYCLE_TS, i % 20 !== 0);
  for (let i = 0; i < METERS; i += 20) await record(i, CYCLE_TS + 900_000, i % 60 !== 0);
  const heapAfter = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await stats.stop();
  flushMs += performance.now() - t0;
  const total = performance.now() - started;
  const scale = METERS === 1_000_000 ? '1m' : `${METERS}`;
  console.log(`bench: collection_stats.${driver.name}.record_${scale}_outcomes = ${total.toFixed(0)} ms (${outcomes} outcomes, flushed every ${FLUSH_EVERY}: record ${(total - flushMs).toFixed(0)} ms, flush ${flushMs.toFixed(0)} ms)`);
  if (driver.name === 'embedded') console.log(`bench: collection_stats.record_${scale}_outcomes = ${total.toFixed(0)} ms`);
  // Only the first run's: a later one's heap growth is blurred by the collection of the first's garbage.
  if (driver.name === 'embedded') console.log(`bench: collection_stats.meter_state_heap = ${mib(heapAfter - heapBefore)} MiB (${METERS} meters' state of the day, heap growth)`);

  const today = await stats.areaDays({ from: DAY, to: DAY });
  const expected = today.reduce((n, r) => n + r.expected, 0);
  const collected = today.reduce((n, r) => n + r.collected, 0);
  expect([today.length, expected, collected]).toEqual([Math.min(AREAS, METERS), METERS, METERS - Math.ceil(METERS / 60)]);
  console.log(`bench: collection_stats.${driver.name}.day_success_rate = ${(collected / expected * 100).toFixed(2)} %`);

  // The 29 days before: the area rows a day like this one leaves.
  const perArea = today.map((r) => ({ areaId: r.areaId, expected: r.expected, collected: r.collected }));
  for (let d = 1; d < DAYS; d++) await driver.fillDay(daysBefore(DAY, d), perArea);
  console.log(`bench: collection_stats.${driver.name}.size = ${await driver.size()}`);

  const from = daysBefore(DAY, DAYS - 1);
  await timed(`${driver.name}.day_all_areas`, async () => {
    const own = await stats.areaDays({ from: DAY, to: DAY });
    const sums = rollUp(own, (id) => PARENT.get(id));
    return sums.size;
  }, AREAS + SUBSTATIONS * (FEEDERS_PER_SUBSTATION + 1));
  await timed(`${driver.name}.day_substation_rollup`, async () => {
    const own = await stats.areaDays({ from: DAY, to: DAY, areaIds: SUBTREE_OF_SUB0 });
    return own.reduce((n, r) => n + r.expected, 0);
  }, METERS / SUBSTATIONS);
  await timed(`${driver.name}.30_days_one_area`, async () => (await stats.areaDays({ from, to: DAY, areaIds: [area(4_321)] })).length, DAYS);
  await timed(`${driver.name}.30_days_substation_rollup`, async () => {
    const own = await stats.areaDays({ from, to: DAY, areaIds: SUBTREE_OF_SUB0 });
    return own.length;
  }, DAYS * AREAS / SUBSTATIONS);
}

/** Median of RUNS runs of `query`, whose answer must be `want` (a query that answers nothing is not measured). */
async function timed(name: string, query: () => Promise<number>, want: number): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const answer = await query();
    times.push(performance.now() - t0);
    expect(answer).toBe(want);
  }
  console.log(`bench: collection_stats.${name} = ${percentile(times, 0.5).toFixed(1)} ms`);
}

function sqliteFill(db: Db, day: string, rows: readonly { areaId: string; expected: number; collected: number }[]): Promise<void> {
  const insert = db.prepare('INSERT INTO collection_area_stats (day, area_id, expected, collected) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const r of rows) insert.run(day, r.areaId, r.expected, r.collected);
  })();
  return Promise.resolve();
}

function sqliteSize(db: Db, dir: string): string {
  const bytes = (name: string): number => (db.prepare('SELECT sum(pgsize) AS n FROM dbstat WHERE name LIKE ?').get(`${name}%`) as { n: number | null }).n ?? 0;
  try {
    return `areas ${mib(bytes('collection_area_stats'))} MiB, marks ${mib(bytes('collection_meter_days'))} MiB`;
  } catch {
    // Without the dbstat table (a build without SQLITE_ENABLE_DBSTAT_VTAB): the whole file.
    return `file ${mib(statSync(join(dir, 'station.db')).size)} MiB`;
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
