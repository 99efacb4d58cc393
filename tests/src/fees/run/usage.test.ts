/**
 * Usage for charging from the billing module's validated interval data over the embedded store:
 * consecutive charge periods, cut at random, add up to the meter's energy to the Wh with no
 * interval charged twice or skipped, across a register rollover, a meter replacement and a gap
 * too long to estimate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingOptions } from '../../../../src/billing/index.js';
import type { IntervalRow } from '../../../../src/billing/service.js';
import { BillingService } from '../../../../src/billing/service.js';
import { buildConfig } from '../../../../src/config/load.js';
import { meterId, terminalId } from '../../../../src/domain/ids.js';
import type { Reading } from '../../../../src/domain/reading.js';
import { UsageUnitError, readMeterUsage, usageFromIntervals, type ChargeCursor, type MeterUsage } from '../../../../src/fees/run/usage.js';
import { Registry } from '../../../../src/registry/registry.js';
import { prng } from '../../../helpers/prng.js';
import { billingStoreOf, embeddedDriver, readingWriterOf, registryStoreOf, type StoreDatabase } from '../../../helpers/storeDrivers.js';

const Q = 15 * 60_000;
const H = 4 * Q;
const OFFSET_MIN = 480;
/** 2026-03-10 00:00 at UTC+8. */
const T0 = Date.UTC(2026, 2, 10) - OFFSET_MIN * 60_000;
const END = T0 + 12 * H;
/** m2 is exchanged 5 h in: the old register ends at 7321.5, the new one starts at 0.2. */
const SWAP = T0 + 5 * H;

describe('usage from validated interval data', () => {
  let database: StoreDatabase;
  let billing: BillingService;
  /** Each meter's true energy over [T0, END), Wh. */
  const truth = new Map<string, number>();

  beforeAll(async () => {
    database = await embeddedDriver.create();
    const c = await database.connect();
    const registry = await Registry.open(registryStoreOf(c), { registerMapExists: () => true, profileExists: () => true });
    await registry.seed({
      areas: [],
      terminals: [{ id: 't1', name: 't1', protocol: 'mqtt', enabled: true, profiles: [] }],
      meters: ['m1', 'm2', 'm3'].map((id, i) => ({ id, name: id, terminalId: 't1', address: String(i + 1), ctRatio: 1, ptRatio: 1, protected: false })),
    });
    const store = await readingWriterOf(c, (id) => registry.meterKey(id), { now: END, retentionDays: 40 });
    const source = { protocol: 'mqtt' as const, terminalId: terminalId('t1'), mode: 'poll' as const };
    const batch: Reading[] = [];
    const put = (id: string, ts: number, value: number): void => {
      batch.push({ meterId: meterId(id), quantity: 'energy.active.import', ts, value, unit: 'kWh', quality: 'good', source });
    };
    // m1: a 4-digit register (wraps at 10000 kWh) read every quarter hour, 0.337 kWh each, wrapping 3 h in.
    for (let t = T0 - H, v = 10_000 - 4 * 0.337 * 4 + 0.05; t <= END + H; t += Q, v += 0.337) put('m1', t, v % 10_000);
    truth.set('m1', 48 * 337);
    // m2: 0.2 kWh a quarter on the old meter up to the swap, 0.3 on the new one after.
    for (let t = T0 - H; t <= END + H; t += Q) put('m2', t, t < SWAP ? 7321.5 - ((SWAP - t) / Q) * 0.2 : 0.2 + ((t - SWAP) / Q) * 0.3);
    truth.set('m2', 20 * 200 + 28 * 300);
    // m3: silent from 2 h to 7 h (too long to estimate), 1.111 kWh a quarter throughout.
    for (let t = T0 - H; t <= END + H; t += Q) if (t <= T0 + 2 * H || t >= T0 + 7 * H) put('m3', t, 100 + ((t - T0) / Q) * 1.111);
    truth.set('m3', 48 * 1_111);
    await store.write(batch);
    await store.close();
    const config = buildConfig({
      billing: { registerDigits: 4, replacements: [{ meterId: 'm2', at: new Date(SWAP).toISOString(), oldFinal: 7321.5, newInitial: 0.2 }] },
    }, 'test').billing;
    billing = new BillingService(billingStoreOf(c), billingOptions(config, OFFSET_MIN, () => new Set()));
  });

  afterAll(() => database.dispose());

  /** Charges a meter from T0 to END in cycles ending at random quarter hours, as the prepaid cycle would; a cycle may find nothing new. */
  async function chargeInPieces(id: string, seed: number): Promise<MeterUsage[]> {
    const r = prng(seed);
    let cursor: ChargeCursor = { from: T0, carryWh: 0 };
    const out: MeterUsage[] = [];
    for (let until = T0; until < END;) {
      until = Math.min(END, until + (1 + Math.floor(r() * 8)) * Q);
      const u = await readMeterUsage(billing, id, cursor, until);
      if (u === undefined) continue;
      out.push(u);
      cursor = { from: u.usage.to, carryWh: u.carryWh };
    }
    return out;
  }

  for (const id of ['m1', 'm2', 'm3']) {
    it(`charges ${id} in contiguous periods that add up to its energy to the Wh`, async () => {
      for (const seed of [1, 2, 3]) {
        const periods = await chargeInPieces(id, seed);
        for (let i = 1; i < periods.length; i++) expect(periods[i]?.usage.from).toBe(periods[i - 1]?.usage.to);
        expect(periods[0]?.usage.from).toBe(T0);
        expect(periods[periods.length - 1]?.usage.to).toBe(END);
        const total = periods.reduce((s, p) => s + p.totalWh, 0);
        expect(total).toBe(truth.get(id));
        expect(periods.flatMap((p) => p.usage.intervals).reduce((s, i) => s + i.importWh, 0)).toBe(total);
        expect(periods.every((p) => p.usage.intervals.every((i) => Number.isInteger(i.importWh) && i.importWh >= 0))).toBe(true);
      }
    });
  }

  it('charges a long gap once reads resume, as one provisional interval with the register delta', async () => {
    const u = await readMeterUsage(billing, 'm3', { from: T0 + 2 * H, carryWh: 0 }, T0 + 8 * H);
    expect(u?.quality).toBe('provisional');
    expect(u?.usage.intervals[0]).toEqual({ start: T0 + 2 * H, end: T0 + 7 * H, importWh: 20 * 1_111 });
    expect(u?.usage.to).toBe(T0 + 8 * H);
    expect(u?.totalWh).toBe(24 * 1_111);
  });

  it('stops at the newest data and has nothing to charge beyond it', async () => {
    const u = await readMeterUsage(billing, 'm1', { from: END, carryWh: 0 }, END + 6 * H);
    expect(u?.usage.to).toBe(END + H);
    expect(await readMeterUsage(billing, 'm1', { from: END + 2 * H, carryWh: 0 }, END + 6 * H)).toBeUndefined();
  });

  it('charges valid data as valid and the rollover and replacement intervals among it', async () => {
    const u = await readMeterUsage(billing, 'm2', { from: T0, carryWh: 0 }, END);
    expect(u?.quality).toBe('valid');
    expect(u?.usage.intervals.find((i) => i.end === SWAP)?.importWh).toBe(200);
    expect(u?.usage.intervals.find((i) => i.start === SWAP)?.importWh).toBe(300);
  });
});

describe('usageFromIntervals', () => {
  const row = (k: number, value: number | null, status: IntervalRow['status'], unit = 'kWh'): IntervalRow => ({
    meter: 'm', start: k * Q, end: (k + 1) * Q, quantity: 'energy.active.import', value, unit, status, source: 'register', raw: null, flags: [],
  });

  it('marks estimated or suspect data provisional and charges a suspect drop as nothing', () => {
    const u = usageFromIntervals('m', [row(0, 1, 'valid'), row(1, 0.5, 'estimated'), row(2, -3, 'suspect')], 0);
    expect(u).toMatchObject({ quality: 'provisional', provisionalIntervals: 2, totalWh: 1_500 });
    expect(u?.usage.intervals.map((i) => i.importWh)).toEqual([1_000, 500, 0]);
  });

  it('ends the period at the first missing interval', () => {
    expect(usageFromIntervals('m', [row(0, 1, 'valid'), row(1, null, 'missing'), row(2, 1, 'valid')], 0)?.usage.to).toBe(Q);
    expect(usageFromIntervals('m', [row(0, null, 'missing')], 0)).toBeUndefined();
  });

  it('refuses data that is not energy', () => {
    expect(() => usageFromIntervals('m', [row(0, 1, 'valid', 'kvarh')], 0)).toThrow(UsageUnitError);
  });
});
