/**
 * A 100,000-meter daily export streamed as CSV over a real HTTP connection: every meter
 * arrives, the reply is chunked (never buffered whole), and heap growth stays bounded.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingRoutes } from '../../src/api/billingRoutes.js';
import { Problem, installProblemHandlers } from '../../src/api/problem.js';
import { createBillingService } from '../../src/billing/index.js';
import { SqliteReplacementStore } from '../../src/billing/replacements.js';
import { BillingStore } from '../../src/billing/store.js';
import { buildConfig } from '../../src/config/load.js';
import { meterIdOf, writeBillingFleet, type BillingFleet } from '../src/billing/fleetFixture.js';

const METERS = 100_000;
const MIDNIGHT = Date.UTC(2026, 2, 10);
const HEAP_BOUND_BYTES = 100 * 1024 * 1024;

let fleet: BillingFleet;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  fleet = writeBillingFleet(METERS, MIDNIGHT);
  const config = buildConfig({}, 'test').billing;
  const billing = createBillingService({ billing: new BillingStore(fleet.db), replacements: new SqliteReplacementStore(fleet.db) }, config, 0, () => { throw new Error('no areas in this fleet'); });
  app = Fastify();
  app.addSchema(Problem);
  installProblemHandlers(app);
  await app.register(billingRoutes, { prefix: '/api/v1', billing });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await app.close();
  fleet.close();
});

describe('daily billing export of 100,000 meters', () => {
  it('streams every meter as CSV with bounded heap growth', async () => {
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
