/**
 * The read side of billing and analysis on each driver: the embedded store, and PostgreSQL
 * on a throw-away cluster (tests/helpers/postgres.ts; skipped, with the reason printed, where
 * it is not installed).
 *
 * - The daily billing export of 100,000 meters: the service walking the fleet page by page
 *   (ms, meters/s), with its ceiling beside it, the store's frozen-read page queries alone
 *   (no VEE, no rows); and the CSV streamed over a real HTTP
 *   connection (meters/s end to end, peak resident memory while streaming). Target
 *   (DESIGN.md): one day's registers for 100,000 meters in ≤ 1 s, streamed.
 * - An area's daily profile: one transformer area of 100 meters among 100 such areas
 *   (10,000 meters, 15-minute power readings, 960,000 rows for the day), 96 quarter hours
 *   through AreaAnalysis (ms), with its ceiling beside it, the area-load query alone.
 */
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { billingRoutes } from '../../src/api/billingRoutes.js';
import { Problem, installProblemHandlers } from '../../src/api/problem.js';
import { billingOptions } from '../../src/billing/index.js';
import { BillingService } from '../../src/billing/service.js';
import { buildConfig } from '../../src/config/load.js';
import { areaId, meterId, terminalId, type Area, type Meter, type MeterId } from '../../src/domain/index.js';
import type { Reading } from '../../src/domain/reading.js';
import { AreaAnalysis, QUARTER_HOUR_MS } from '../../src/storage/areaAnalysis.js';
import { writeBillingFleet } from '../src/billing/fleetFixture.js';
import { STORE_DRIVERS, analysisQueriesOf, disposeStoreDrivers, execute, readingWriterOf } from '../helpers/storeDrivers.js';

const METERS = 100_000;
const RUNS = 3;
const MIDNIGHT = Date.UTC(2026, 2, 10);
const AREAS = 100;
const METERS_PER_AREA = 100;
const DAY_MS = 86_400_000;

afterAll(() => disposeStoreDrivers());

const slug = (name: string): string => (name.startsWith('PostgreSQL') ? 'postgres' : 'embedded');

/** Best of RUNS after one warm-up run (a live station has its pages cached): ms. */
async function bestMs(work: () => Promise<void>): Promise<number> {
  await work();
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    await work();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

describe.each(STORE_DRIVERS)('billing and analysis reads on $name', (driver) => {
  const name = slug(driver.name);

  it('measures the daily billing export of 100,000 meters', async (ctx) => {
    if (driver.unavailable !== undefined) {
      console.log(`bench: skipped on ${driver.name}: ${driver.unavailable}`);
      ctx.skip();
    }
    const database = await driver.create();
    const app = Fastify();
    try {
      const store = await writeBillingFleet(await database.connect(), METERS, MIDNIGHT);
      const config = buildConfig({}, 'bench').billing;
      const billing = new BillingService(store, billingOptions(config, 0, () => new Set()));
      app.addSchema(Problem);
      installProblemHandlers(app);
      await app.register(billingRoutes, { prefix: '/api/v1', billing });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });

      const serviceMs = await bestMs(async () => {
        let n = 0;
        for await (const rows of billing.dailyChunks('2026-03-10', {})) n += rows.length;
        expect(n).toBe(METERS);
      });
      const code = await store.quantityCode(config.quantity);
      if (code === undefined) throw new Error('no quantity code');
      // The ceiling: the same page queries back to back, without VEE and rows.
      const queryMs = await bestMs(async () => {
        let n = 0;
        let afterId = '';
        for (;;) {
          const page = await store.metersAround({ afterId, limit: config.exportChunkMeters, profile: 'daily', code, at: MIDNIGHT, spanMs: config.frozenMaxSpanHours * 3_600_000 });
          n += page.length;
          const last = page[page.length - 1];
          if (last === undefined) break;
          afterId = last.id;
        }
        expect(n).toBe(METERS);
      });

      let bestExportMs = Infinity;
      let peakRss = process.memoryUsage().rss;
      const baseRss = peakRss;
      for (let r = 0; r < RUNS; r++) {
        const start = process.hrtime.bigint();
        const res = await fetch(`${url}/api/v1/billing/daily?date=2026-03-10&format=csv`);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        let newlines = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const byte of value) if (byte === 10) newlines++;
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
        expect(newlines).toBe(METERS + 1);
        bestExportMs = Math.min(bestExportMs, Number(process.hrtime.bigint() - start) / 1e6);
      }
      console.log(`bench: billing.daily.${name}.service_100k_meters = ${Math.round(serviceMs)} ms`);
      console.log(`bench: billing.daily.${name}.service_100k_meters_rate = ${Math.round(METERS / (serviceMs / 1000))} meters/s`);
      console.log(`bench: billing.daily.${name}.ceiling_page_queries_100k_meters = ${Math.round(queryMs)} ms`);
      console.log(`bench: billing.daily.${name}.csv_export_http_100k_meters = ${Math.round(bestExportMs)} ms`);
      console.log(`bench: billing.daily.${name}.csv_export_http_100k_meters_rate = ${Math.round(METERS / (bestExportMs / 1000))} meters/s`);
      console.log(`bench: billing.daily.${name}.csv_export_rss_peak = ${(peakRss / 1048576).toFixed(1)} MiB`);
      console.log(`bench: billing.daily.${name}.csv_export_rss_growth = ${((peakRss - baseRss) / 1048576).toFixed(1)} MiB`);
    } finally {
      await app.close();
      await database.dispose();
    }
  });

  it('measures an area\'s daily profile: 100 meters, 96 quarter hours, among 10,000 meters', async (ctx) => {
    if (driver.unavailable !== undefined) {
      console.log(`bench: skipped on ${driver.name}: ${driver.unavailable}`);
      ctx.skip();
    }
    const database = await driver.create();
    try {
      const c = await database.connect();
      const meters: Meter[] = [];
      const keys = new Map<MeterId, number>();
      const areas: Area[] = [];
      for (let a = 0; a < AREAS; a++) areas.push({ id: areaId(`tx${a}`), name: `tx${a}`, kind: 'transformer', parentId: null, transformerKva: 400 });
      for (let i = 0; i < AREAS * METERS_PER_AREA; i++) {
        const id = meterId(`m${String(i).padStart(5, '0')}`);
        meters.push({
          id, name: id, terminalId: terminalId('t1'), address: String(i), ctRatio: 1, ptRatio: 1,
          areaId: areaId(`tx${i % AREAS}`), protected: false, customerRef: null, accountRef: null,
        });
        keys.set(id, i + 1);
      }
      // Analysis reads meter keys only (from the topology), so no driver needs meter rows here.
      const writer = await readingWriterOf(c, (id) => keys.get(id), { now: MIDNIGHT, retentionDays: 2 });
      const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
      const day0 = MIDNIGHT - DAY_MS;
      // Time order, as collection writes them: each quarter hour, every meter.
      for (let q = 0; q < DAY_MS / QUARTER_HOUR_MS; q++) {
        const batch: Reading[] = meters.map((m, i) => ({
          meterId: m.id, quantity: 'power.active', ts: day0 + q * QUARTER_HOUR_MS, value: 1 + ((i + q) % 10) / 10, unit: 'kW', quality: 'good', source,
        }));
        await writer.write(batch);
      }
      await writer.close();
      if (c.postgres !== undefined) await execute(c, 'ANALYZE readings');
      const queries = await analysisQueriesOf(c);
      const area = areas[42];
      if (area === undefined) throw new Error('no area');
      const ofArea = meters.filter((m) => m.areaId === area.id);
      const analysis = new AreaAnalysis({
        queries,
        topology: {
          getArea: () => area, listAreas: () => areas, listMeters: () => ofArea,
          meterKey: (id) => keys.get(id), findMeter: (id) => ofArea.find((m) => m.id === id),
        },
        utcOffsetMinutes: 0, supplyMeters: {}, maxRangeDays: 31, maxPoints: 10_000, maxCompareAreas: 10, lineLossEdgeToleranceMs: 3_600_000,
      });
      const date = new Date(day0).toISOString().slice(0, 10);
      const serviceMs = await bestMs(async () => {
        expect((await analysis.profile(area.id, date)).points).toHaveLength(96);
      });
      const areaKeys = ofArea.map((m) => keys.get(m.id) ?? -1);
      const queryMs = await bestMs(async () => {
        const points = await queries.areaLoad({ meterKeys: areaKeys, from: day0, to: day0 + DAY_MS, stepMs: QUARTER_HOUR_MS, origin: 0 });
        expect(points).toHaveLength(96);
      });
      console.log(`bench: analysis.profile.${name}.100-meters.96-intervals = ${serviceMs.toFixed(1)} ms`);
      console.log(`bench: analysis.profile.${name}.100-meters.96-intervals.ceiling_query = ${queryMs.toFixed(1)} ms`);
    } finally {
      await database.dispose();
    }
  });
});
