import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { eventRoutes } from '../../../src/api/eventRoutes.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import type { DeviceEvent } from '../../../src/domain/index.js';
import { EventRecorder } from '../../../src/events/recorder.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { seededRegistry } from '../alarms/fixtures.js';

const T0 = 1_750_000_000_000;
const dbs: Db[] = [];

function recorder(extra: { maxRows?: number; retentionDays?: number; onEvent?: (e: DeviceEvent) => void } = {}) {
  const db = openDatabase(':memory:');
  dbs.push(db);
  const registry = seededRegistry(db);
  let now = T0;
  const problems: string[] = [];
  const r = new EventRecorder(db, { meterAt: (t, a) => registry.meterAt(t, a), now: () => now, onProblem: (p) => problems.push(p.code), ...extra });
  return { r, problems, advance: (ms: number) => { now += ms; } };
}

afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

describe('event recorder', () => {
  it('maps terminal and address to the meter, stores, and hands each stored event to the callback', () => {
    const seen: DeviceEvent[] = [];
    const { r } = recorder({ onEvent: (e) => seen.push(e) });
    const stored = r.recordEvents([
      { terminalId: 'q1', address: '1', code: 'cover-open', ts: T0 - 5_000 },
      { terminalId: 'q1', address: '2', code: 'power-down' },
    ], 'mqtt');
    expect(stored).toMatchObject([
      { meterId: 'm1', terminalId: 'q1', code: 'cover-open', ts: T0 - 5_000, receivedAt: T0, source: 'mqtt', detail: null },
      { meterId: 'm2', code: 'power-down', ts: T0 },
    ]);
    expect(seen.map((e) => e.code)).toEqual(['cover-open', 'power-down']);
  });

  it('stores events of unknown senders with a null meter and unknown codes as other, counting both', () => {
    const { r, problems } = recorder();
    const stored = r.recordEvents([
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

  it('survives a throwing callback: the events stay stored and the failure is counted', () => {
    const { r } = recorder({ onEvent: () => { throw new Error('engine down'); } });
    r.recordEvents([{ terminalId: 'q1', address: '1', code: 'power-up' }], 'mqtt');
    expect(r.list({ limit: 10 }).items).toHaveLength(1);
    expect(r.stats().callbackErrors).toBe(1);
  });

  it('prunes by age of arrival and by row count', () => {
    const { r, advance } = recorder({ retentionDays: 1, maxRows: 2 });
    r.recordEvents([{ terminalId: 'q1', address: '1', code: 'power-down' }], 'mqtt');
    advance(2 * 86_400_000);
    r.recordEvents(['power-up', 'cover-open', 'magnetic-tamper'].map((code) => ({ terminalId: 'q1', address: '1', code })), 'mqtt');
    expect(r.prune()).toBe(2);
    expect(r.list({ limit: 10 }).items.map((e) => e.code)).toEqual(['magnetic-tamper', 'cover-open']);
  });
});

describe('events API', () => {
  it('filters by meter, terminal, code and time, pages with a cursor, and refuses bad filters', async () => {
    const { r } = recorder();
    r.recordEvents([
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
