/**
 * The tariff routes over a real socket on the real API server (access control, problem
 * replies, schemas), in front of tariffs compiled from a configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../../src/api/server.js';
import { AuthService } from '../../../src/auth/service.js';
import { SqliteAuthStore } from '../../../src/auth/store.js';
import { parseConfig } from '../../../src/config/load.js';
import { createTariffs } from '../../../src/fees/tariffs/index.js';
import { createLogger } from '../../../src/observe/logger.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { Registry } from '../../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../../src/registry/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const H = 3_600_000;
/** 2026-03-10 00:00 in Asia/Shanghai. */
const DAY = Date.UTC(2026, 2, 10) - 8 * H;

const CONFIG = `
fees:
  currency: CNY
  tariffs:
    - { id: res, name: Residential, kind: flat, price: "0.5583" }
    - id: tou
      kind: tou
      timeZone: Asia/Shanghai
      prices: { peak: "1.0", valley: "0.3" }
      seasons: [{ periods: [{ bucket: valley, from: "22:00", to: "06:00" }, { bucket: peak, from: "06:00", to: "22:00" }] }]
    - { id: factory, kind: two-part, timeZone: Asia/Shanghai, basic: { by: demand, price: "38" }, energy: { kind: flat, price: "0.6" } }
`;

let db: Db;
let url: string;
let close: () => Promise<void>;
let viewer: string;

beforeAll(async () => {
  db = openDatabase(':memory:');
  const registry = await Registry.open(new SqliteRegistryStore(db), { registerMapExists: () => true, profileExists: () => true });
  const auth = new AuthService(new SqliteAuthStore(db));
  viewer = (await auth.createToken({ name: 'test-viewer', role: 'viewer' }, 'test')).token;
  const app = await buildApi({
    logger: createLogger('silent'), bodyLimitBytes: 1 << 20, registryImportLimitBytes: 1 << 20, registry,
    readings: { latest: () => Promise.resolve([]), series: () => Promise.resolve([]) },
    stats: { perTerminal: () => Promise.resolve([]), areaDays: () => Promise.resolve([]), today: () => '2026-03-10' },
    terminalState: () => undefined,
    health: () => ({ status: 'ok', node: { id: 'test', roles: ['api'], leader: true, duties: 'active', leaderDuties: 'active', shards: [] }, components: {} }),
    metrics: createMetrics([]),
    auth: { service: auth, sessionMaxMs: 3_600_000 },
    tariffs: createTariffs(parseConfig(CONFIG, 'test.yaml').fees),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/fees/tariffs`;
  close = async () => { await app.close(); db.close(); };
});
afterAll(async () => { await close(); });

/** The fields the tests read from a reply: a list, or a problem. */
interface Reply {
  readonly items: readonly { id: string; kind: string; currency: string; cycleOnly: boolean }[];
  readonly code: string;
  readonly errors: readonly { path: string; message: string }[];
}

async function call(path: string, body?: unknown, token: string | null = viewer): Promise<{ status: number; type: string | null; json: Reply }> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, type: res.headers.get('content-type'), json: await res.json() as Reply };
}

describe('GET /api/v1/fees/tariffs', () => {
  it('lists the configured tariffs with their definitions, the station currency filled in', async () => {
    const r = await call('');
    expect(r.status).toBe(200);
    expect(r.json.items.map((t) => [t.id, t.kind, t.currency, t.cycleOnly]))
      .toEqual([['res', 'flat', 'CNY', false], ['tou', 'tou', 'CNY', false], ['factory', 'two-part', 'CNY', true]]);
    expect(r.json.items[0]).toEqual({ id: 'res', name: 'Residential', kind: 'flat', currency: 'CNY', cycleOnly: false, definition: { id: 'res', name: 'Residential', kind: 'flat', price: '0.5583', currency: 'CNY' } });
  });

  it('answers one tariff, and 404 for an unknown one', async () => {
    expect((await call('/tou')).json).toMatchObject({ id: 'tou', definition: { timeZone: 'Asia/Shanghai', prices: { peak: '1.0', valley: '0.3' } } });
    const missing = await call('/nope');
    expect([missing.status, missing.json.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('refuses a caller without credentials', async () => {
    expect((await call('', undefined, null)).status).toBe(401);
  });
});

describe('POST /api/v1/fees/tariffs/:id/quote', () => {
  it('answers the charge with its lines', async () => {
    // 05:00–07:00 with 2000 Wh: 1000 Wh valley (05–06) at 0.3 = 30 fen, 1000 Wh peak (06–07) at 1.0 = 100 fen.
    const r = await call('/tou/quote', { from: DAY + 5 * H, to: DAY + 7 * H, intervals: [{ start: DAY + 5 * H, end: DAY + 7 * H, importWh: 2000 }] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      tariffId: 'tou', currency: 'CNY', from: DAY + 5 * H, to: DAY + 7 * H, amountMinor: 130,
      lines: [
        { kind: 'energy', label: 'energy, peak', bucket: 'peak', from: DAY + 6 * H, to: DAY + 7 * H, quantity: '1.000', unit: 'kWh', price: '1.0', amountMinor: 100 },
        { kind: 'energy', label: 'energy, valley', bucket: 'valley', from: DAY + 5 * H, to: DAY + 6 * H, quantity: '1.000', unit: 'kWh', price: '0.3', amountMinor: 30 },
      ],
    });
  });

  it.each([
    ['a gap between intervals', { from: DAY, to: DAY + 2 * H, intervals: [{ start: DAY, end: DAY + H, importWh: 1 }, { start: DAY + 1.5 * H, end: DAY + 2 * H, importWh: 1 }] }, 'res', 'TARIFF_USAGE', 'body.intervals[1].start'],
    ['fractional Wh', { from: DAY, to: DAY + H, intervals: [{ start: DAY, end: DAY + H, importWh: 0.5 }] }, 'res', 'VALIDATION', 'body.intervals.0.importWh'],
    ['negative Wh', { from: DAY, to: DAY + H, intervals: [{ start: DAY, end: DAY + H, importWh: -1 }] }, 'res', 'VALIDATION', 'body.intervals.0.importWh'],
    ['an unknown field', { from: DAY, to: DAY + H, intervals: [{ start: DAY, end: DAY + H, importWh: 1 }], kwh: 1 }, 'res', 'VALIDATION', 'body.kwh'],
    ['a day of a two-part tariff', { from: DAY, to: DAY + 24 * H, intervals: [{ start: DAY, end: DAY + 24 * H, importWh: 1 }], maxDemandW: 1 }, 'factory', 'TARIFF_CYCLE_ONLY', 'body.to'],
  ])('answers 400 problem+json naming the field for %s', async (_name, usage, tariff, code, path) => {
    const r = await call(`/${tariff}/quote`, usage);
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.json.code).toBe(code);
    expect(r.json.errors.map((e) => e.path)).toContain(path);
  });
});
