/**
 * The analysis endpoints over HTTP (fastify inject) against a real store, one suite run on
 * every driver (the embedded store, and PostgreSQL on a throw-away cluster, skipped with the
 * reason printed where it is not installed): readings written through the driver's reading
 * store at known times and values, station time UTC+8, exact sums, peaks, load factors and
 * line loss expected.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { analysisRoutes } from '../../../src/api/analysisRoutes.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import { meterId, terminalId, type Quantity } from '../../../src/domain/index.js';
import type { Reading } from '../../../src/domain/reading.js';
import { Registry } from '../../../src/registry/registry.js';
import { AreaAnalysis } from '../../../src/storage/areaAnalysis.js';
import { STORE_DRIVERS, analysisQueriesOf, disposeStoreDrivers, readingWriterOf, registryStoreOf, type StoreDatabase } from '../../helpers/storeDrivers.js';

const H = 3_600_000;
/** Local (UTC+8) time of 2026-11-25 → ms. */
const local = (day: string, hhmm: string): number => Date.parse(`${day}T${hhmm}:00+08:00`);

afterAll(() => disposeStoreDrivers());

describe.each(STORE_DRIVERS)('analysis API on $name', (driver) => {
  let database: StoreDatabase | undefined;
  let app: FastifyInstance | undefined;

  beforeEach((ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
  });

  beforeAll(async () => {
    if (driver.unavailable !== undefined) {
      console.warn(`skipped: ${driver.unavailable}`);
      return;
    }
    database = await driver.create();
    const c = await database.connect();
    const registry = await Registry.open(registryStoreOf(c), { registerMapExists: () => true, profileExists: () => true });
    await registry.seed({
      areas: [
        { id: 'r1', name: 'Region', kind: 'region' },
        { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 },
        { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'r1', transformerKva: 630 },
        { id: 'tx3', name: 'TX 3', kind: 'transformer', parentId: 'r1', transformerKva: 100 },
      ],
      terminals: ['t1', 't2', 't3'].map((id) => ({ id, name: id, protocol: 'mqtt' as const, enabled: true, profiles: [] })),
      meters: [
        { id: 'm1', terminalId: 't1', address: '1', areaId: 'tx1' },
        { id: 'm2', terminalId: 't1', address: '2', areaId: 'tx1' },
        { id: 's1', terminalId: 't1', address: '9', areaId: 'tx1' },
        { id: 'm3', terminalId: 't2', address: '1', areaId: 'tx2' },
        { id: 'm4', terminalId: 't3', address: '1', areaId: 'tx3' },
        { id: 's3', terminalId: 't3', address: '9', areaId: 'tx3' },
      ].map((m) => ({ name: m.id, ctRatio: 1, ptRatio: 1, protected: false, ...m })),
    });
    // PostgreSQL keeps partitions from late September to the 27th: every reading below has its day.
    const store = await readingWriterOf(c, (id) => registry.meterKey(id), { now: local('2026-11-25', '12:00'), retentionDays: 60 });
    const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'push' as const };
    const batch: Reading[] = [];
    const put = (id: string, quantity: Quantity, ts: number, value: number, quality: 'good' | 'bad' = 'good') =>
      batch.push({ meterId: meterId(id), quantity, ts, value, unit: '', quality, source });
    const day = '2026-11-25';
    // Quarter 00:00 local: m1 averages 15, m2 5; the supply meter's 1000 is never part of a load.
    put('m1', 'power.active', local(day, '00:00'), 10);
    put('m1', 'power.active', local(day, '00:10'), 20);
    put('m2', 'power.active', local(day, '00:05'), 5);
    put('s1', 'power.active', local(day, '00:05'), 1000);
    // Quarter 10:00 local: m1 30, m2 10, m3 (tx2) 60; a `bad` value is never aggregated.
    put('m1', 'power.active', local(day, '10:00'), 30);
    put('m1', 'power.active', local(day, '10:14'), 900, 'bad');
    put('m2', 'power.active', local(day, '10:07'), 10);
    put('m3', 'power.active', local(day, '10:01'), 60);
    // Just outside the local day on both sides: not part of it.
    put('m1', 'power.active', local('2026-11-24', '23:59'), 999);
    put('m1', 'power.active', local('2026-11-26', '00:00'), 999);
    // The day before at 10:00: 7 kW (its 23:59 reading above is the day before too).
    put('m1', 'power.active', local('2026-11-24', '10:00'), 7);
    // Registers for line loss over the local day: supply 100 kWh, customers 40 + 50.
    put('s1', 'energy.active.import', local(day, '00:00'), 1000);
    put('s1', 'energy.active.import', local('2026-11-26', '00:00'), 1100);
    put('m1', 'energy.active.import', local(day, '00:02'), 500);
    put('m1', 'energy.active.import', local('2026-11-25', '23:58'), 540);
    put('m2', 'energy.active.import', local(day, '00:00'), 200);
    put('m2', 'energy.active.import', local('2026-11-26', '00:00'), 250);
    // tx3: its customer has no reading near the period's end.
    put('s3', 'energy.active.import', local(day, '00:00'), 10);
    put('s3', 'energy.active.import', local('2026-11-26', '00:00'), 20);
    put('m4', 'energy.active.import', local(day, '00:00'), 1);
    await store.write(batch);
    await store.close();

    const analysis = new AreaAnalysis({
      queries: await analysisQueriesOf(c), topology: registry, utcOffsetMinutes: 480,
      supplyMeters: { tx1: 's1', tx3: 's3' }, maxRangeDays: 31, maxPoints: 5_000, maxCompareAreas: 3, lineLossEdgeToleranceMs: H,
    });
    const counts: Record<string, { terminalId: string; expected: number; collected: number }[]> = {
      [day]: [{ terminalId: 't1', expected: 100, collected: 90 }, { terminalId: 't2', expected: 100, collected: 50 }],
    };
    const fastify = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
    fastify.addSchema(Problem);
    installProblemHandlers(fastify);
    await fastify.register(analysisRoutes, {
      prefix: '/api/v1', analysis, areas: () => registry.listAreas(), metersOf: (a) => registry.listMeters({ areaId: a }), collection: (d) => Promise.resolve(counts[d] ?? []),
    });
    app = fastify;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    if (app === undefined) throw new Error('no app');
    const res = await app.inject({ method: 'GET', url: `/api/v1${url}` });
    return { status: res.statusCode, body: res.json() };
  }

  describe('area profile', () => {
    it('gives the local day at 15-minute steps with peak, valley, average, load factor and maximum demand', async () => {
      const { status, body } = await get('/analysis/areas/tx1/profile?date=2026-11-25');
      expect(status).toBe(200);
      expect(body.from).toBe('2026-11-24T16:00:00.000Z');
      expect(body.to).toBe('2026-11-25T16:00:00.000Z');
      expect(body.points).toEqual([{ ts: '2026-11-24T16:00:00.000Z', value: 20 }, { ts: '2026-11-25T02:00:00.000Z', value: 40 }]);
      expect(body.summary).toEqual({
        energyKwh: 15, peak: { ts: '2026-11-25T02:00:00.000Z', value: 40 }, valley: { ts: '2026-11-24T16:00:00.000Z', value: 20 },
        average: 30, loadFactor: 0.75, maxDemand: { ts: '2026-11-25T02:00:00.000Z', value: 40 }, intervals: 96, missingIntervals: 94,
      });
    });

    it('sums the subtree for a region', async () => {
      const { body } = await get('/analysis/areas/r1/profile?date=2026-11-25');
      expect(body.points).toEqual([{ ts: '2026-11-24T16:00:00.000Z', value: 20 }, { ts: '2026-11-25T02:00:00.000Z', value: 100 }]);
    });

    it('answers 404 for an unknown area and 400 for an impossible date', async () => {
      expect(await get('/analysis/areas/nope/profile?date=2026-11-25')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      expect(await get('/analysis/areas/tx1/profile?date=2026-02-30')).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
    });
  });

  describe('area load', () => {
    it('averages each meter per step, sums the meters, and shifts yesterday onto today\'s axis', async () => {
      const from = local('2026-11-25', '09:00');
      const to = local('2026-11-25', '11:00');
      const { status, body } = await get(`/analysis/areas/tx1/load?from=${from}&to=${new Date(to).toISOString()}&stepMs=${H}&compare=yesterday`);
      expect(status).toBe(200);
      expect(body).toEqual({
        areaId: 'tx1', unit: 'kW', stepMs: H,
        points: [{ ts: '2026-11-25T02:00:00.000Z', value: 40 }],
        previous: [{ ts: '2026-11-25T02:00:00.000Z', value: 7 }],
      });
    });

    it('refuses a reversed range, a range beyond the maximum and too many points with 400', async () => {
      const t = local('2026-11-25', '00:00');
      expect(await get(`/analysis/areas/tx1/load?from=${t}&to=${t - 1}`)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
      expect(await get(`/analysis/areas/tx1/load?from=${t}&to=${t + 32 * 24 * H}&stepMs=${24 * H}`)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
      expect(await get(`/analysis/areas/tx1/load?from=${t}&to=${t + 2 * 24 * H}&stepMs=1000`)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
      expect(await get(`/analysis/areas/tx1/load?from=yesterday&to=${t}`)).toMatchObject({ status: 400, body: { code: 'VALIDATION' } });
      expect(await get(`/analysis/areas/nope/load?from=${t}&to=${t + H}`)).toMatchObject({ status: 404 });
    });
  });

  describe('comparisons', () => {
    it('compares day against day with totals, peaks and the difference', async () => {
      const { status, body } = await get('/analysis/areas/tx1/compare?period=day&a=2026-11-24&b=2026-11-25');
      expect(status).toBe(200);
      const a = body.a as { summary: Record<string, unknown> };
      const b = body.b as { summary: Record<string, unknown> };
      // The 24th holds 7 kW at 10:00 and 999 kW in its last quarter (23:59 local).
      expect(a.summary).toMatchObject({ energyKwh: 251.5, peak: { value: 999, ts: '2026-11-24T15:45:00.000Z' }, valley: { value: 7 }, loadFactor: 503 / 999 });
      expect(b.summary).toMatchObject({ energyKwh: 15, peak: { value: 40 }, loadFactor: 0.75 });
      expect(body.difference).toEqual({ energyKwh: -236.5, energyPct: (-236.5 / 251.5) * 100, peakKw: -959, loadFactor: 0.75 - 503 / 999, maxDemandKw: -959 });
    });

    it('compares month against month over local month boundaries', async () => {
      const { status, body } = await get('/analysis/areas/tx2/compare?period=month&a=2026-10&b=2026-11');
      expect(status).toBe(200);
      expect(body.a).toMatchObject({ from: '2026-09-30T16:00:00.000Z', to: '2026-10-31T16:00:00.000Z', summary: { energyKwh: 0, peak: null } });
      expect(body.b).toMatchObject({ summary: { energyKwh: 15, peak: { value: 60 }, intervals: 30 * 96 } });
      expect(body.difference).toMatchObject({ energyKwh: 15, energyPct: null, peakKw: null });
      expect(await get('/analysis/areas/tx2/compare?period=month&a=2026-13&b=2026-11')).toMatchObject({ status: 400 });
    });

    it('compares area against area and bounds the number of areas', async () => {
      const from = local('2026-11-25', '00:00');
      const { status, body } = await get(`/analysis/compare?areas=tx1,tx2&from=${from}&to=${from + 24 * H}&stepMs=${24 * H}`);
      expect(status).toBe(200);
      // One day-long bucket: m1 averages (10 + 20 + 30) / 3, m2 (5 + 10) / 2.
      expect(body.areas).toMatchObject([
        { areaId: 'tx1', points: [{ ts: '2026-11-24T16:00:00.000Z', value: 27.5 }], summary: { energyKwh: 660 } },
        { areaId: 'tx2', points: [{ ts: '2026-11-24T16:00:00.000Z', value: 60 }] },
      ]);
      expect(await get(`/analysis/compare?areas=tx1,tx2,tx3,r1&from=${from}&to=${from + H}`)).toMatchObject({ status: 400 });
      expect(await get(`/analysis/compare?areas=tx1&from=${from}&to=${from + H}`)).toMatchObject({ status: 400 });
      expect(await get(`/analysis/compare?areas=tx1,zz&from=${from}&to=${from + H}`)).toMatchObject({ status: 404 });
    });
  });

  describe('line loss', () => {
    it('gives supply minus customers per transformer area, and says why when it cannot', async () => {
      const from = '2026-11-25T00:00:00%2B08:00';
      const to = '2026-11-26T00:00:00%2B08:00';
      const { status, body } = await get(`/analysis/line-loss?area=r1&from=${from}&to=${to}`);
      expect(status).toBe(200);
      const rows = body.areas as Record<string, unknown>[];
      expect(rows.map((r) => r.areaId)).toEqual(['tx1', 'tx2', 'tx3']);
      expect(rows[0]).toMatchObject({ supplyMeterId: 's1', supplyKwh: 100, customersKwh: 90, lossKwh: 10, lossPct: 10, customers: 2, customersWithData: 2, complete: true, reason: null });
      expect(rows[1]).toMatchObject({ supplyMeterId: null, lossKwh: null, lossPct: null, complete: false });
      expect(rows[1]?.reason).toMatch(/no supply meter/);
      expect(rows[2]).toMatchObject({ supplyKwh: 10, customersKwh: null, lossKwh: null, complete: false, missingMeters: ['m4'] });
      expect(rows[2]?.reason).toMatch(/1 of 1 customer meters/);
    });

    it('refuses a range beyond the maximum', async () => {
      expect(await get('/analysis/line-loss?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z')).toMatchObject({ status: 400 });
    });
  });

  describe('collection ranking', () => {
    it('ranks areas by success rate, worst first, areas with nothing expected last', async () => {
      const { status, body } = await get('/analysis/collection-ranking?date=2026-11-25');
      expect(status).toBe(200);
      expect(body.areas).toEqual([
        { id: 'tx2', name: 'TX 2', kind: 'transformer', expected: 100, collected: 50, successRate: 0.5 },
        { id: 'r1', name: 'Region', kind: 'region', expected: 200, collected: 140, successRate: 0.7 },
        { id: 'tx1', name: 'TX 1', kind: 'transformer', expected: 100, collected: 90, successRate: 0.9 },
        { id: 'tx3', name: 'TX 3', kind: 'transformer', expected: 0, collected: 0, successRate: null },
      ]);
    });
  });
});
