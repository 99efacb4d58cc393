/**
 * The collection statistics routes over HTTP (fastify inject) against the embedded store:
 * per-area daily read success rolled up to feeders and substations, paging, and the 400s.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import { statsRoutes } from '../../../src/api/statsRoutes.js';
import { CollectionStats } from '../../../src/collect/stats.js';
import { SqliteCollectionStatsStore } from '../../../src/collect/statsStore.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const DAY = '2025-01-15';
const at = (day: string): number => Date.parse(`${day}T10:00:00Z`);

let db: Db | undefined;
let app: FastifyInstance | undefined;

beforeAll(async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  await registry.seed({
    areas: [
      { id: 'sub1', name: 'Substation 1', kind: 'substation' },
      { id: 'f1', name: 'Feeder 1', kind: 'feeder', parentId: 'sub1' },
      { id: 'f2', name: 'Feeder 2', kind: 'feeder', parentId: 'sub1' },
      { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'f1' },
      { id: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'f1' },
      { id: 'tx3', name: 'TX 3', kind: 'transformer', parentId: 'f2' },
      { id: 'sub2', name: 'Substation 2', kind: 'substation' },
    ],
    terminals: [], meters: [],
  });
  const stats = new CollectionStats({ store: new SqliteCollectionStatsStore(db), utcOffsetMinutes: 0 });
  const outcomes: [string, string | null, boolean][] = [
    ['m1', 'tx1', true], ['m2', 'tx1', false], ['m3', 'tx2', true], ['m4', 'tx3', true], ['m5', 'tx3', true], ['m6', null, false],
  ];
  for (const [meter, area, read] of outcomes) stats.recordMeter(meter, area, at(DAY), read);
  stats.recordMeter('m1', 'tx1', at('2025-01-14'), false);
  const fastify = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  fastify.addSchema(Problem);
  installProblemHandlers(fastify);
  await fastify.register(statsRoutes, {
    registry,
    stats: {
      perTerminal: async (day, terminalIds) => (await stats.successRate({ day, ...(terminalIds === undefined ? {} : { terminalIds }) })).terminals,
      areaDays: (q) => stats.areaDays(q),
      today: () => DAY,
    },
  });
  app = fastify;
});

afterAll(async () => {
  await app?.close();
  db?.close();
});

const get = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  if (app === undefined) throw new Error('no app');
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() };
};

describe('GET /stats/collection/areas', () => {
  it('gives every area its subtree\'s meters read ÷ expected, and the station\'s figure with meters of no area', async () => {
    const { status, body } = await get(`/stats/collection/areas?date=${DAY}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      date: DAY, area: null, expected: 6, collected: 4, successRate: 4 / 6, next: null,
      areas: [
        { areaId: 'f1', name: 'Feeder 1', kind: 'feeder', parentId: 'sub1', expected: 3, collected: 2, successRate: 2 / 3 },
        { areaId: 'f2', name: 'Feeder 2', kind: 'feeder', parentId: 'sub1', expected: 2, collected: 2, successRate: 1 },
        { areaId: 'sub1', name: 'Substation 1', kind: 'substation', parentId: null, expected: 5, collected: 4, successRate: 0.8 },
        { areaId: 'sub2', name: 'Substation 2', kind: 'substation', parentId: null, expected: 0, collected: 0, successRate: null },
        { areaId: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'f1', expected: 2, collected: 1, successRate: 0.5 },
        { areaId: 'tx2', name: 'TX 2', kind: 'transformer', parentId: 'f1', expected: 1, collected: 1, successRate: 1 },
        { areaId: 'tx3', name: 'TX 3', kind: 'transformer', parentId: 'f2', expected: 2, collected: 2, successRate: 1 },
      ],
    });
  });

  it('lists an area\'s subtree with its figure, paged by area id', async () => {
    const first = await get('/stats/collection/areas?area=f1&limit=2');
    expect(first.body).toMatchObject({ date: DAY, area: 'f1', expected: 3, collected: 2, next: 'tx1' });
    expect((first.body.areas as { areaId: string }[]).map((a) => a.areaId)).toEqual(['f1', 'tx1']);
    const second = await get('/stats/collection/areas?area=f1&limit=2&cursor=tx1');
    expect(second.body).toMatchObject({ next: null, areas: [{ areaId: 'tx2', expected: 1, collected: 1 }] });
  });

  it('refuses an impossible date, an unknown parameter and a zero limit with 400, an unknown area with 404', async () => {
    for (const url of ['/stats/collection/areas?date=2025-02-30', '/stats/collection/areas?day=2025-01-15', '/stats/collection/areas?limit=0']) {
      const { status, body } = await get(url);
      expect([url, status, body.code]).toEqual([url, 400, 'VALIDATION']);
    }
    expect((await get('/stats/collection/areas?area=nowhere')).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});

describe('GET /stats/collection/areas/:id/days', () => {
  it('gives one area\'s subtree figure for every day asked, zeros where nothing was counted', async () => {
    const { status, body } = await get('/stats/collection/areas/f1/days?from=2025-01-13&to=2025-01-15');
    expect(status).toBe(200);
    expect(body).toEqual({
      area: 'f1', from: '2025-01-13', to: '2025-01-15', expected: 4, collected: 2, successRate: 0.5,
      days: [
        { date: '2025-01-13', expected: 0, collected: 0, successRate: null },
        { date: '2025-01-14', expected: 1, collected: 0, successRate: 0 },
        { date: '2025-01-15', expected: 3, collected: 2, successRate: 2 / 3 },
      ],
    });
  });

  it('refuses a reversed or too long span and a missing bound with 400, an unknown area with 404', async () => {
    for (const url of [
      '/stats/collection/areas/f1/days?from=2025-01-15&to=2025-01-14',
      '/stats/collection/areas/f1/days?from=2024-01-01&to=2025-01-15',
      '/stats/collection/areas/f1/days?from=2025-01-15',
      '/stats/collection/areas/f1/days?from=2025-01-15&to=2025-13-01',
    ]) {
      const { status, body } = await get(url);
      expect([url, status, body.code]).toEqual([url, 400, 'VALIDATION']);
    }
    expect((await get('/stats/collection/areas/nowhere/days?from=2025-01-15&to=2025-01-15')).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});
