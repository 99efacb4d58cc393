/**
 * A 100,000-meter daily export streamed as CSV over a real HTTP connection, on every driver
 * (the embedded store, and PostgreSQL on a throw-away cluster, skipped with the reason printed
 * where it is not installed): every meter arrives, the reply is chunked (never buffered
 * whole), and heap growth stays bounded.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { billingRoutes } from '../../src/api/billingRoutes.js';
import { Problem, installProblemHandlers } from '../../src/api/problem.js';
import { billingOptions } from '../../src/billing/index.js';
import { BillingService } from '../../src/billing/service.js';
import { buildConfig } from '../../src/config/load.js';
import { meterIdOf, writeBillingFleet } from '../src/billing/fleetFixture.js';
import { STORE_DRIVERS, disposeStoreDrivers, type StoreDatabase } from '../helpers/storeDrivers.js';

const METERS = 100_000;
const MIDNIGHT = Date.UTC(2026, 2, 10);
const HEAP_BOUND_BYTES = 100 * 1024 * 1024;

afterAll(() => disposeStoreDrivers());

describe.each(STORE_DRIVERS)('daily billing export of 100,000 meters on $name', (driver) => {
  let database: StoreDatabase | undefined;
  let app: FastifyInstance | undefined;
  let url: string;

  beforeEach((ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
  });

  beforeAll(async () => {
    if (driver.unavailable !== undefined) {
      console.warn(`skipped: ${driver.unavailable}`);
      return;
    }
    database = await driver.create();
    const store = await writeBillingFleet(await database.connect(), METERS, MIDNIGHT);
    const config = buildConfig({}, 'test').billing;
    const billing = new BillingService(store, billingOptions(config, 0, () => { throw new Error('no areas in this fleet'); }));
    app = Fastify();
    app.addSchema(Problem);
    installProblemHandlers(app);
    await app.register(billingRoutes, { prefix: '/api/v1', billing });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  it('streams every meter as CSV with bounded heap growth', async () => {
    // One page first: what a store builds once and keeps (PostgreSQL's meter index, sorted
    // from the registry) is not the stream's growth, which is what this bounds.
    expect((await fetch(`${url}/api/v1/billing/daily?date=2026-03-10&limit=1`)).status).toBe(200);
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const res = await fetch(`${url}/api/v1/billing/daily?date=2026-03-10`, { headers: { accept: 'text/csv' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const body = res.body;
    if (body === null) throw new Error('no body');
    const decoder = new TextDecoder();
    let lines = 0;
    let tail = '';
    let header = '';
    let sample = '';
    const reader = (body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split('\r\n');
      tail = parts.pop() ?? '';
      for (const line of parts) {
        if (lines === 0) header = line;
        if (lines === 12_346) sample = line;
        lines++;
      }
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(tail).toBe('');
    expect(header).toBe('meter,customer_ref,account_ref,area,date,quantity,value,unit,status,source,raw');
    expect(lines).toBe(METERS + 1);
    // Line 12,346 is meter 12,345: reads 13,345 and 13,347 one hour either side of midnight.
    expect(sample).toBe(`${meterIdOf(12_345)},C12345,A12345,,2026-03-10,energy.active.import,13346,kWh,valid,interpolated,`);
    expect(peak - base).toBeLessThan(HEAP_BOUND_BYTES);
  }, 120_000);
});
