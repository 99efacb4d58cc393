/**
 * The event recorder over its store, one suite run against every driver: the embedded store
 * (SQLite) and the PostgreSQL store on a throw-away cluster (skipped, with the reason printed,
 * where PostgreSQL is not installed).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventRoutes } from '../../../src/api/eventRoutes.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import type { DeviceEvent } from '../../../src/domain/index.js';
import { PostgresDeviceEventStore, PRUNE_CHUNK } from '../../../src/events/postgresStore.js';
import { EventRecorder } from '../../../src/events/recorder.js';
import { SqliteDeviceEventStore, type DeviceEventStore } from '../../../src/events/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { openPostgres } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { seededRegistry } from '../alarms/fixtures.js';

const T0 = 1_750_000_000_000;

interface Opened {
  readonly store: DeviceEventStore;
  close(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  open(): Promise<Opened>;
}

const embedded: Driver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  open: () => {
    const db = openDatabase(':memory:');
    return Promise.resolve({ store: new SqliteDeviceEventStore(db), close: () => { db.close(); return Promise.resolve(); } });
  },
};

let cluster: TestPostgres | undefined;

const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: postgresUnavailable(),
  open: async () => {
    cluster ??= await startPostgres();
    const db = await openPostgres({ url: await cluster.createDatabase(), config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    return { store: new PostgresDeviceEventStore(db), close: () => db.close() };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

describe.each([embedded, postgresDriver])('device events on $name', (driver) => {
  let opened: Opened | undefined;

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    opened = await driver.open();
  }, 30_000);
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  async function recorder(extra: { maxRows?: number; retentionDays?: number; onEvent?: (e: DeviceEvent) => void } = {}) {
    if (opened === undefined) throw new Error('no store');
    const registry = await seededRegistry(openDatabase(':memory:'));
    let now = T0;
    const problems: string[] = [];
    const r = new EventRecorder(opened.store, { meterAt: (t, a) => registry.meterAt(t, a), now: () => now, onProblem: (p) => problems.push(p.code), ...extra });
    return { r, problems, advance: (ms: number) => { now += ms; } };
  }

  describe('event recorder', () => {
    it('maps terminal and address to the meter, stores, and hands each stored event to the callback', async () => {
      const seen: DeviceEvent[] = [];
      const { r } = await recorder({ onEvent: (e) => seen.push(e) });
      const stored = await r.recordEvents([
        { terminalId: 'q1', address: '1', code: 'cover-open', ts: T0 - 5_000 },
        { terminalId: 'q1', address: '2', code: 'power-down' },
      ], 'mqtt');
      expect(stored).toMatchObject([
        { meterId: 'm1', terminalId: 'q1', code: 'cover-open', ts: T0 - 5_000, receivedAt: T0, source: 'mqtt', detail: null },
        { meterId: 'm2', code: 'power-down', ts: T0 },
      ]);
      expect(seen.map((e) => e.code)).toEqual(['cover-open', 'power-down']);
    });

    it('stores events of unknown senders with a null meter and unknown codes as other, counting both', async () => {
      const { r, problems } = await recorder();
      const stored = await r.recordEvents([
        { terminalId: 'q1', address: '99', code: 'relay-disconnected' },
        { terminalId: 'q1', address: '1', code: 'phase-sequence-reversed', detail: 'DLMS event 85' },
      ], 'dlms-push');
      expect(stored).toMatchObject([
        { meterId: null, code: 'relay-disconnected' },
        { meterId: 'm1', code: 'other', detail: 'code: phase-sequence-reversed; DLMS event 85' },
      ]);
      expect(r.stats()).toMatchObject({ stored: 2, unknownMeter: 1, unknownCode: 1 });
      expect(problems).toEqual(['UNKNOWN_METER', 'UNKNOWN_CODE']);
    });

    it('survives a throwing callback: the events stay stored and the failure is counted', async () => {
      const { r } = await recorder({ onEvent: () => { throw new Error('engine down'); } });
      await r.recordEvents([{ terminalId: 'q1', address: '1', code: 'power-up' }], 'mqtt');
      expect((await r.list({ limit: 10 })).items).toHaveLength(1);
      expect(r.stats().callbackErrors).toBe(1);
    });

    it('prunes by age of arrival and by row count', async () => {
      const { r, advance } = await recorder({ retentionDays: 1, maxRows: 2 });
      await r.recordEvents([{ terminalId: 'q1', address: '1', code: 'power-down' }], 'mqtt');
      advance(2 * 86_400_000);
      await r.recordEvents(['power-up', 'cover-open', 'magnetic-tamper'].map((code) => ({ terminalId: 'q1', address: '1', code })), 'mqtt');
      expect(await r.prune()).toBe(2);
      expect((await r.list({ limit: 10 })).items.map((e) => e.code)).toEqual(['magnetic-tamper', 'cover-open']);
    });

    it('prunes a backlog larger than one retention statement, by age and then by count, keeping the newest', async () => {
      const { r, advance } = await recorder({ retentionDays: 1, maxRows: 5 });
      const old = Array.from({ length: PRUNE_CHUNK + 3 }, () => ({ terminalId: 'q1', address: '1', code: 'power-down' }));
      await r.recordEvents(old, 'mqtt');
      advance(2 * 86_400_000);
      const recent = Array.from({ length: PRUNE_CHUNK + 7 }, (_, i) => ({ terminalId: 'q1', address: '1', code: 'power-up', ts: T0 + i }));
      await r.recordEvents(recent, 'mqtt');
      expect(await r.prune()).toBe(2 * PRUNE_CHUNK + 5);
      const left = await r.list({ limit: 10 });
      expect(left.items.map((e) => e.ts)).toEqual([4, 3, 2, 1, 0].map((i) => T0 + PRUNE_CHUNK + 2 + i));
      expect(left.next).toBeNull();
      expect(r.stats().pruned).toBe(2 * PRUNE_CHUNK + 5);
      expect(await r.prune()).toBe(0);
    });

    it('gives each event of a batch its id in batch order, so the cursor pages through equal times', async () => {
      const { r } = await recorder();
      const stored = await r.recordEvents(['power-down', 'power-up', 'cover-open'].map((code) => ({ terminalId: 'q1', address: '1', code, ts: T0 })), 'mqtt');
      expect(stored.map((e) => Number(e.id))).toEqual([...stored.map((e) => Number(e.id))].sort((x, y) => x - y));
      const p1 = await r.list({ limit: 2 });
      expect(p1.items.map((e) => e.code)).toEqual(['cover-open', 'power-up']);
      const p2 = await r.list({ limit: 2, cursor: p1.next ?? '' });
      expect(p2).toMatchObject({ items: [{ code: 'power-down', id: stored[0]?.id }], next: null });
    });
  });

  describe('events API', () => {
    it('filters by meter, terminal, code and time, pages with a cursor, and refuses bad filters', async () => {
      const { r } = await recorder();
      await r.recordEvents([
        { terminalId: 'q1', address: '1', code: 'power-down', ts: T0 - 3_000 },
        { terminalId: 'q1', address: '1', code: 'power-up', ts: T0 - 2_000 },
        { terminalId: 'q1', address: '2', code: 'cover-open', ts: T0 - 1_000 },
      ], 'mqtt');
      const app = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
      app.addSchema(Problem);
      installProblemHandlers(app);
      await app.register(eventRoutes, { prefix: '/api/v1', events: r });
      await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const get = async (q: string) => {
          const res = await fetch(`http://127.0.0.1:${String((app.server.address() as { port: number }).port)}/api/v1/events?${q}`);
          return { status: res.status, body: await res.json() as { items: { code: string; meterId: string | null; ts: string }[]; next: string | null } };
        };
        expect((await get('meter=m1')).body.items.map((e) => e.code)).toEqual(['power-up', 'power-down']);
        expect((await get('terminal=q1&code=cover-open')).body.items).toMatchObject([{ meterId: 'm2', ts: new Date(T0 - 1_000).toISOString() }]);
        expect((await get(`from=${new Date(T0 - 2_500).toISOString()}&to=${new Date(T0 - 1_500).toISOString()}`)).body.items.map((e) => e.code)).toEqual(['power-up']);
        const p1 = await get('limit=2');
        expect(p1.body.items.map((e) => e.code)).toEqual(['cover-open', 'power-up']);
        const p2 = await get(`limit=2&cursor=${p1.body.next ?? ''}`);
        expect(p2.body).toMatchObject({ items: [{ code: 'power-down' }], next: null });
        for (const q of ['code=exploded', 'cursor=zzz', 'from=never', 'limit=5000', 'meters=m1', `from=${new Date(T0).toISOString()}&to=${new Date(T0 - 1).toISOString()}`]) {
          expect((await get(q)).status, q).toBe(400);
        }
      } finally {
        await app.close();
      }
    });
  });
});
