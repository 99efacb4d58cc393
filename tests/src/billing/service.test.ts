/**
 * The billing reads over a real store, one suite run on every driver (the embedded store, and
 * PostgreSQL on a throw-away cluster, skipped with the reason printed where it is not
 * installed): frozen reads from profiles and interpolated from registers at a UTC+8 midnight,
 * area filters, the monthly TOU split, replacements and intervals, page by page. The fixture's
 * readings go through the driver's reading store, as collection would have stored them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { billingOptions } from '../../../src/billing/index.js';
import { BillingService } from '../../../src/billing/service.js';
import { buildConfig } from '../../../src/config/load.js';
import { NotFoundError } from '../../../src/domain/errors.js';
import { meterId, terminalId } from '../../../src/domain/ids.js';
import type { Reading } from '../../../src/domain/reading.js';
import { Registry } from '../../../src/registry/registry.js';
import {
  STORE_DRIVERS, billingStoreOf, disposeStoreDrivers, execute, readingWriterOf, registryStoreOf, replacementStoreOf, type StoreDatabase,
} from '../../helpers/storeDrivers.js';

const H = 3_600_000;
const OFFSET_MIN = 480;
/** 2026-03-10 00:00 at UTC+8. */
const MIDNIGHT = Date.UTC(2026, 2, 10) - OFFSET_MIN * 60_000;
const MONTH_START = Date.UTC(2026, 2, 1) - OFFSET_MIN * 60_000;
const MONTH_END = Date.UTC(2026, 3, 1) - OFFSET_MIN * 60_000;

afterAll(() => disposeStoreDrivers());

describe.each(STORE_DRIVERS)('billing reads on $name', (driver) => {
  let database: StoreDatabase | undefined;
  let registry: Registry;
  let billing: BillingService;
  let closeReplacements: (() => Promise<void>) | undefined;

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
    registry = await Registry.open(registryStoreOf(c), { registerMapExists: () => true, profileExists: () => true });
    await registry.seed({
      areas: [{ id: 'r1', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'r1', transformerKva: 400 }],
      terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }],
      meters: [
        { id: 'm1', terminalId: 't1', address: '1', areaId: 'tx1', customerRef: 'C1', accountRef: 'A1' },
        { id: 'm2', terminalId: 't1', address: '2', areaId: 'tx1', customerRef: 'Smith, "Jr"', accountRef: 'A2' },
        { id: 'm3', terminalId: 't1', address: '3', areaId: 'tx1' },
        { id: 'm4', terminalId: 't1', address: '4' },
        { id: 'm5', terminalId: 't1', address: '5' },
      ].map((m) => ({ name: m.id, ctRatio: 1, ptRatio: 1, protected: false, ...m })),
    });
    const store = await readingWriterOf(c, (id) => registry.meterKey(id), { now: MONTH_END, retentionDays: 40 });
    const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
    const batch: Reading[] = [];
    const put = (id: string, ts: number, value: number): void => {
      batch.push({ meterId: meterId(id), quantity: 'energy.active.import', ts, value, unit: 'kWh', quality: 'good', source });
    };
    // m1: hourly register reads, 1 kWh an hour, from an hour before the month to an hour after.
    for (let t = MONTH_START - H; t <= MONTH_END + H; t += H) put('m1', t, 1000 + (t - MONTH_START) / H);
    // m2 keeps a daily profile: its entry lands on midnight.
    put('m2', MIDNIGHT, 200);
    // m4: one read 3 h before and one 1 h after midnight.
    put('m4', MIDNIGHT - 3 * H, 100);
    put('m4', MIDNIGHT + H, 104);
    // m5 was exchanged mid-month: 500 at the start on the old meter, 50 at the end on the new one.
    put('m5', MONTH_START, 500);
    put('m5', MONTH_END, 50);
    await store.write(batch);
    await store.close();
    await execute(c, `INSERT INTO profile_cursors (meter_id, profile, last_ts, updated_at) VALUES ('m2', 'daily', ${MIDNIGHT}, ${MIDNIGHT})`);
    const config = buildConfig({
      billing: {
        tariff: { defaultBucket: 'flat', periods: [
          { bucket: 'peak', from: '08:00', to: '12:00' }, { bucket: 'peak', from: '18:00', to: '22:00' }, { bucket: 'valley', from: '22:00', to: '06:00' },
        ] },
      },
    }, 'test').billing;
    const replacements = await replacementStoreOf(c);
    closeReplacements = () => replacements.close();
    billing = new BillingService(billingStoreOf(c), billingOptions(config, OFFSET_MIN, (id) => registry.areaSubtree(id)), replacements);
  }, 60_000);

  afterAll(async () => {
    await closeReplacements?.();
    await database?.dispose();
  });

  it('gives profile, register and interpolated frozen reads at local midnight, missing without reads, page by page', async () => {
    const p1 = await billing.daily('2026-03-10', { limit: 2 });
    expect(p1.next).toBe('m2');
    expect(p1.rows).toEqual([
      { meter: 'm1', customerRef: 'C1', accountRef: 'A1', area: 'tx1', date: '2026-03-10', quantity: 'energy.active.import', value: 1216, unit: 'kWh', status: 'valid', source: 'register', raw: null },
      { meter: 'm2', customerRef: 'Smith, "Jr"', accountRef: 'A2', area: 'tx1', date: '2026-03-10', quantity: 'energy.active.import', value: 200, unit: 'kWh', status: 'valid', source: 'profile', raw: null },
    ]);
    const p2 = await billing.daily('2026-03-10', { limit: 2, cursor: 'm2' });
    expect(p2.next).toBe('m4');
    expect(p2.rows.map((r) => [r.meter, r.value, r.status, r.source])).toEqual([['m3', null, 'missing', null], ['m4', 103, 'valid', 'interpolated']]);
    const p3 = await billing.daily('2026-03-10', { limit: 2, cursor: 'm4' });
    expect(p3.rows.map((r) => r.meter)).toEqual(['m5']);
    expect(p3.next).toBeNull();
  });

  it('filters by area, the areas below it included, and refuses an unknown area', async () => {
    const page = await billing.daily('2026-03-10', { areaId: 'r1', limit: 100 });
    expect(page.rows.map((r) => r.meter)).toEqual(['m1', 'm2', 'm3']);
    await expect(billing.daily('2026-03-10', { areaId: 'nowhere', limit: 100 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('walks the whole fleet in chunks from a cursor', async () => {
    const seen: string[] = [];
    for await (const rows of billing.dailyChunks('2026-03-10', { cursor: 'm1' })) seen.push(...rows.map((r) => r.meter));
    expect(seen).toEqual(['m2', 'm3', 'm4', 'm5']);
  });

  it('pages meters added to the registry after the first export', async () => {
    expect((await billing.daily('2026-03-10', { limit: 100 })).rows).toHaveLength(5);
    await registry.createMeter({ id: 'm6', name: 'm6', terminalId: 't1', address: '6', ctRatio: 1, ptRatio: 1, protected: false });
    try {
      const page = await billing.daily('2026-03-10', { cursor: 'm5', limit: 100 });
      expect(page.rows.map((r) => [r.meter, r.status])).toEqual([['m6', 'missing']]);
    } finally {
      await registry.deleteMeter('m6');
    }
    expect((await billing.daily('2026-03-10', { cursor: 'm5', limit: 100 })).rows).toEqual([]);
  });

  it('gives the month consumption and its exact TOU split from interval data', async () => {
    const page = await billing.monthly('2026-03', { limit: 1 });
    expect(page.next).toBe('m1');
    expect(page.rows[0]).toMatchObject({
      meter: 'm1', month: '2026-03', startValue: 1000, endValue: 1744, consumption: 744, status: 'valid', source: 'register',
      tou: { flat: 248, peak: 248, valley: 248 }, intervalsMissing: 0, flags: [],
    });
  });

  it('turns the drop across a recorded exchange into per-meter consumption', async () => {
    const before = await billing.monthly('2026-03', { cursor: 'm4', limit: 100 });
    expect(before.rows[0]).toMatchObject({ meter: 'm5', consumption: null, raw: -450, status: 'suspect', flags: ['negative'] });
    const exchange = { meterId: 'm5', at: Date.parse('2026-03-15T00:00:00.000Z'), oldFinal: 600, newInitial: 0 };
    await billing.recordReplacement(exchange);
    await expect(billing.recordReplacement({ ...exchange, meterId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    const after = await billing.monthly('2026-03', { cursor: 'm4', limit: 100 });
    expect(after.rows[0]).toMatchObject({ meter: 'm5', startValue: 500, endValue: 50, consumption: 150, status: 'valid', flags: ['replacement'] });
    expect(billing.replacementsOf('m5')).toEqual([exchange]);
  });

  it('gives 15-minute consumption from register reads', async () => {
    const rows = await billing.intervals('m1', Date.parse('2026-03-10T00:00:00+08:00'), Date.parse('2026-03-10T02:00:00+08:00'));
    expect(rows).toHaveLength(8);
    expect(rows.slice(0, 4).map((r) => [new Date(r.start).toISOString(), r.value, r.status, r.source])).toEqual([
      ['2026-03-09T16:00:00.000Z', 0.25, 'valid', 'interpolated'],
      ['2026-03-09T16:15:00.000Z', 0.25, 'valid', 'interpolated'],
      ['2026-03-09T16:30:00.000Z', 0.25, 'valid', 'interpolated'],
      ['2026-03-09T16:45:00.000Z', 0.25, 'valid', 'interpolated'],
    ]);
    await expect(billing.intervals('nope', MIDNIGHT, MIDNIGHT + H)).rejects.toBeInstanceOf(NotFoundError);
  });
});
