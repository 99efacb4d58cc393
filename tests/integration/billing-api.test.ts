/**
 * The billing routes over HTTP on a whole head-end: frozen reads from profiles and
 * interpolated from registers at a UTC+8 midnight, monthly TOU split, intervals, cursor
 * pagination, RFC 4180 CSV, and the roles that may call them.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

const H = 3_600_000;
const OFFSET_MIN = 480;
/** 2026-03-10 00:00 at UTC+8. */
const MIDNIGHT = Date.UTC(2026, 2, 10) - OFFSET_MIN * 60_000;
const MONTH_START = Date.UTC(2026, 2, 1) - OFFSET_MIN * 60_000;
const MONTH_END = Date.UTC(2026, 3, 1) - OFFSET_MIN * 60_000;

let started: TestHeadEnd | undefined;
const he = (): TestHeadEnd => {
  if (started === undefined) throw new Error('head-end not started');
  return started;
};
let billingToken: string;
let viewerToken: string;

async function call(path: string, token: string, accept?: string): Promise<{ status: number; type: string | null; text: string; json: () => unknown }> {
  const res = await fetch(`${he().url}${path}`, { headers: { authorization: `Bearer ${token}`, ...(accept === undefined ? {} : { accept }) } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: () => JSON.parse(text) as unknown };
}

async function newToken(name: string, role: string): Promise<string> {
  const res = await he().send('POST', '/api/v1/tokens', { name, role });
  expect(res.status).toBe(201);
  return (res.body as { token: string }).token;
}

beforeAll(async () => {
  started = await startTestHeadEnd({
    station: { utcOffsetMinutes: OFFSET_MIN },
    mqtt: { embeddedBroker: { enabled: true, port: 0 } },
    registry: {
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 }],
      terminals: [{ id: 't1', protocol: 'mqtt' }],
      meters: [
        { id: 'm1', terminalId: 't1', address: '1', areaId: 'tx1', customerRef: 'C1', accountRef: 'A1' },
        { id: 'm2', terminalId: 't1', address: '2', areaId: 'tx1', customerRef: 'Smith, "Jr"', accountRef: 'A2' },
        { id: 'm3', terminalId: 't1', address: '3', areaId: 'tx1' },
        { id: 'm4', terminalId: 't1', address: '4' },
        { id: 'm5', terminalId: 't1', address: '5' },
      ],
    },
    billing: {
      tariff: { defaultBucket: 'flat', periods: [
        { bucket: 'peak', from: '08:00', to: '12:00' }, { bucket: 'peak', from: '18:00', to: '22:00' }, { bucket: 'valley', from: '22:00', to: '06:00' },
      ] },
    },
  }, { env: { GRIDHEAD_MASTER_KEY: randomBytes(32).toString('hex') } });
  // Reads written straight into the store, as collection would have left them.
  const db = new Database(join(he().dataDir, 'gridhead.db'));
  try {
    const key = (id: string) => (db.prepare('SELECT key FROM meters WHERE id = ?').get(id) as { key: number }).key;
    const code = (db.prepare("SELECT code FROM quantity_codes WHERE name = 'energy.active.import'").get() as { code: number }).code;
    const put = db.prepare('INSERT OR REPLACE INTO readings (meter_key, quantity, ts, value, quality, source) VALUES (?, ?, ?, ?, 0, 0)');
    db.transaction(() => {
      // m1: hourly register reads, 1 kWh an hour, from an hour before the month to an hour after.
      for (let t = MONTH_START - H; t <= MONTH_END + H; t += H) put.run(key('m1'), code, t, 1000 + (t - MONTH_START) / H);
      // m2 keeps a daily profile: its entry lands on midnight.
      put.run(key('m2'), code, MIDNIGHT, 200);
      db.prepare("INSERT INTO profile_cursors (meter_id, profile, last_ts, updated_at) VALUES ('m2', 'daily', ?, ?)").run(MIDNIGHT, Date.now());
      // m4: one read 3 h before and one 1 h after midnight.
      put.run(key('m4'), code, MIDNIGHT - 3 * H, 100);
      put.run(key('m4'), code, MIDNIGHT + H, 104);
      // m5 was exchanged mid-month: 500 at the start on the old meter, 50 at the end on the new one.
      put.run(key('m5'), code, MONTH_START, 500);
      put.run(key('m5'), code, MONTH_END, 50);
    })();
  } finally {
    db.close();
  }
  billingToken = await newToken('billing-system', 'billing');
  viewerToken = await newToken('wallboard', 'viewer');
}, 60_000);

afterAll(async () => {
  await started?.stop();
});

describe('GET /api/v1/billing/daily', () => {
  it('gives profile, register and interpolated frozen reads at local midnight, missing without reads, page by page', async () => {
    const first = await call('/api/v1/billing/daily?date=2026-03-10&limit=2', billingToken);
    expect(first.status).toBe(200);
    const p1 = first.json() as { items: Record<string, unknown>[]; next: string | null };
    expect(p1.next).toBe('m2');
    expect(p1.items).toEqual([
      { meter: 'm1', customerRef: 'C1', accountRef: 'A1', area: 'tx1', date: '2026-03-10', quantity: 'energy.active.import', value: 1216, unit: 'kWh', status: 'valid', source: 'register', raw: null },
      { meter: 'm2', customerRef: 'Smith, "Jr"', accountRef: 'A2', area: 'tx1', date: '2026-03-10', quantity: 'energy.active.import', value: 200, unit: 'kWh', status: 'valid', source: 'profile', raw: null },
    ]);
    const p2 = (await call('/api/v1/billing/daily?date=2026-03-10&limit=2&cursor=m2', billingToken)).json() as { items: Record<string, unknown>[]; next: string | null };
    expect(p2.next).toBe('m4');
    expect(p2.items.map((r) => [r.meter, r.value, r.status, r.source])).toEqual([['m3', null, 'missing', null], ['m4', 103, 'valid', 'interpolated']]);
    const p3 = (await call('/api/v1/billing/daily?date=2026-03-10&limit=2&cursor=m4', billingToken)).json() as { items: { meter: string }[]; next: string | null };
    expect(p3.items.map((r) => r.meter)).toEqual(['m5']);
    expect(p3.next).toBeNull();
  });

  it('filters by area, the areas below it included', async () => {
    const res = (await call('/api/v1/billing/daily?date=2026-03-10&area=r1', billingToken)).json() as { items: { meter: string }[] };
    expect(res.items.map((r) => r.meter)).toEqual(['m1', 'm2', 'm3']);
  });

  it('exports RFC 4180 CSV with a header, CRLF lines and quoted fields, by Accept or by format', async () => {
    const expected = [
      'meter,customer_ref,account_ref,area,date,quantity,value,unit,status,source,raw',
      'm1,C1,A1,tx1,2026-03-10,energy.active.import,1216,kWh,valid,register,',
      'm2,"Smith, ""Jr""",A2,tx1,2026-03-10,energy.active.import,200,kWh,valid,profile,',
      'm3,,,tx1,2026-03-10,energy.active.import,,kWh,missing,,',
      'm4,,,,2026-03-10,energy.active.import,103,kWh,valid,interpolated,',
      'm5,,,,2026-03-10,energy.active.import,,kWh,missing,,',
      '',
    ].join('\r\n');
    const byAccept = await call('/api/v1/billing/daily?date=2026-03-10', billingToken, 'text/csv');
    expect(byAccept.status).toBe(200);
    expect(byAccept.type).toMatch(/^text\/csv/);
    expect(byAccept.text).toBe(expected);
    expect((await call('/api/v1/billing/daily?date=2026-03-10&format=csv', billingToken)).text).toBe(expected);
  });

  it('answers problem+json for an unknown area and an impossible date', async () => {
    const unknown = await call('/api/v1/billing/daily?date=2026-03-10&area=nowhere&format=csv', billingToken);
    expect(unknown.status).toBe(404);
    expect(unknown.type).toMatch(/problem\+json/);
    expect((await call('/api/v1/billing/daily?date=2026-02-30', billingToken)).status).toBe(400);
  });
});

describe('GET /api/v1/billing/monthly', () => {
  it('gives the month consumption and its exact TOU split from interval data', async () => {
    const res = await call('/api/v1/billing/monthly?month=2026-03&limit=1', billingToken);
    expect(res.status).toBe(200);
    const body = res.json() as { items: Record<string, unknown>[]; next: string | null };
    expect(body.next).toBe('m1');
    expect(body.items[0]).toMatchObject({
      meter: 'm1', month: '2026-03', startValue: 1000, endValue: 1744, consumption: 744, status: 'valid', source: 'register',
      tou: { flat: 248, peak: 248, valley: 248 }, intervalsMissing: 0, flags: [],
    });
    const csv = (await call('/api/v1/billing/monthly?month=2026-03&limit=1&format=csv', billingToken)).text.split('\r\n');
    expect(csv[0]).toBe('meter,customer_ref,account_ref,area,month,quantity,start_value,end_value,consumption,unit,status,source,raw,flags,intervals_missing,tou_flat,tou_peak,tou_valley');
    expect(csv[1]).toBe('m1,C1,A1,tx1,2026-03,energy.active.import,1000,1744,744,kWh,valid,register,,,0,248,248,248');
  });
});

describe('meter replacements', () => {
  it('turns the drop across a recorded exchange into per-meter consumption; only an admin records one', async () => {
    const before = (await call('/api/v1/billing/monthly?month=2026-03&cursor=m4', billingToken)).json() as { items: Record<string, unknown>[] };
    expect(before.items[0]).toMatchObject({ meter: 'm5', consumption: null, raw: -450, status: 'suspect', flags: ['negative'] });
    const body = { meterId: 'm5', at: '2026-03-15T00:00:00.000Z', oldFinal: 600, newInitial: 0 };
    const refused = await fetch(`${he().url}/api/v1/billing/replacements`, {
      method: 'POST', headers: { authorization: `Bearer ${billingToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(refused.status).toBe(403);
    expect((await he().send('POST', '/api/v1/billing/replacements', body)).status).toBe(201);
    expect((await he().send('POST', '/api/v1/billing/replacements', { ...body, meterId: 'nope' })).status).toBe(404);
    const after = (await call('/api/v1/billing/monthly?month=2026-03&cursor=m4', billingToken)).json() as { items: Record<string, unknown>[] };
    expect(after.items[0]).toMatchObject({ meter: 'm5', startValue: 500, endValue: 50, consumption: 150, status: 'valid', flags: ['replacement'] });
    expect((await call('/api/v1/billing/replacements?meter=m5', billingToken)).json()).toEqual({ items: [body] });
  });
});

describe('GET /api/v1/billing/intervals', () => {
  it('gives 15-minute consumption from register reads, paged by interval start', async () => {
    const q = '/api/v1/billing/intervals?meter=m1&from=2026-03-10T00:00:00%2B08:00&to=2026-03-10T02:00:00%2B08:00';
    const first = (await call(`${q}&limit=4`, billingToken)).json() as { items: Record<string, unknown>[]; next: string | null };
    expect(first.items.map((r) => [r.start, r.value, r.status, r.source])).toEqual([
      ['2026-03-09T16:00:00.000Z', 0.25, 'valid', 'interpolated'],
      ['2026-03-09T16:15:00.000Z', 0.25, 'valid', 'interpolated'],
      ['2026-03-09T16:30:00.000Z', 0.25, 'valid', 'interpolated'],
      ['2026-03-09T16:45:00.000Z', 0.25, 'valid', 'interpolated'],
    ]);
    expect(first.next).toBe('2026-03-09T17:00:00.000Z');
    const second = (await call(`${q}&limit=4&cursor=${encodeURIComponent(first.next ?? '')}`, billingToken)).json() as { items: { start: string }[]; next: string | null };
    expect(second.items.map((r) => r.start)).toEqual(['2026-03-09T17:00:00.000Z', '2026-03-09T17:15:00.000Z', '2026-03-09T17:30:00.000Z', '2026-03-09T17:45:00.000Z']);
    expect(second.next).toBeNull();
    const csv = (await call(q, billingToken, 'text/csv')).text.split('\r\n');
    expect(csv[0]).toBe('meter,start,end,quantity,value,unit,status,source,raw,flags');
    expect(csv).toHaveLength(10);
  });

  it('answers 404 for an unknown meter', async () => {
    expect((await call('/api/v1/billing/intervals?meter=nope&from=2026-03-10T00:00:00Z&to=2026-03-10T01:00:00Z', billingToken)).status).toBe(404);
  });
});

describe('billing access', () => {
  it('admits the billing role and refuses a viewer', async () => {
    for (const path of ['/api/v1/billing/daily?date=2026-03-10', '/api/v1/billing/monthly?month=2026-03', '/api/v1/billing/intervals?meter=m1&from=2026-03-10T00:00:00Z&to=2026-03-10T01:00:00Z']) {
      expect((await call(path, billingToken)).status).toBe(200);
      expect((await call(path, viewerToken)).status).toBe(403);
    }
  });

  it('documents the routes in OpenAPI', async () => {
    const doc = (await call('/docs/json', billingToken)).json() as { paths: Record<string, { get?: { description?: string } }> };
    for (const p of ['/api/v1/billing/daily', '/api/v1/billing/monthly', '/api/v1/billing/intervals']) expect(doc.paths[p]?.get?.description).toMatch(/CSV/);
  });
});
