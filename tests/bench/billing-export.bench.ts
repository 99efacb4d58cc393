/**
 * Daily billing export of 100,000 meters: the CSV streamed over a real HTTP connection
 * (meters/s end to end, peak resident memory while streaming) and the frozen-read query
 * alone (meters/s, no HTTP). Target (DESIGN.md): one day's registers for 100,000 meters
 * in ≤ 1 s, streamed.
 */
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { billingRoutes } from '../../src/api/billingRoutes.js';
import { Problem, installProblemHandlers } from '../../src/api/problem.js';
import { createBillingService } from '../../src/billing/index.js';
import { SqliteReplacementStore } from '../../src/billing/replacements.js';
import { BillingStore } from '../../src/billing/store.js';
import { buildConfig } from '../../src/config/load.js';
import { writeBillingFleet } from '../src/billing/fleetFixture.js';

const METERS = 100_000;
const RUNS = 3;

it('measures the daily billing export rate and peak memory for 100,000 meters', async () => {
  const fleet = writeBillingFleet(METERS, Date.UTC(2026, 2, 10));
  const app = Fastify();
  try {
    const billing = createBillingService({ billing: new BillingStore(fleet.db), replacements: new SqliteReplacementStore(fleet.db) }, buildConfig({}, 'bench').billing, 0, () => new Set());
    app.addSchema(Problem);
    installProblemHandlers(app);
    await app.register(billingRoutes, { prefix: '/api/v1', billing });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });

    let bestQuery = 0;
    for (let r = 0; r < RUNS; r++) {
      const start = process.hrtime.bigint();
      let n = 0;
      for (const rows of billing.dailyChunks('2026-03-10', {})) n += rows.length;
      expect(n).toBe(METERS);
      bestQuery = Math.max(bestQuery, n / (Number(process.hrtime.bigint() - start) / 1e9));
    }

    let bestExport = 0;
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
      bestExport = Math.max(bestExport, METERS / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    console.log(`bench: billing.daily.query_100k_meters = ${Math.round(bestQuery)} meters/s`);
    console.log(`bench: billing.daily.csv_export_http_100k_meters = ${Math.round(bestExport)} meters/s`);
    console.log(`bench: billing.daily.csv_export_rss_peak = ${(peakRss / 1048576).toFixed(1)} MiB`);
    console.log(`bench: billing.daily.csv_export_rss_growth = ${((peakRss - baseRss) / 1048576).toFixed(1)} MiB`);
  } finally {
    await app.close();
    fleet.close();
  }
});
