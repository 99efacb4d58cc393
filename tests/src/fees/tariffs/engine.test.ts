/**
 * The tariff engine against hand-worked examples: the arithmetic of each is written out in
 * the comments, and the amounts asserted are the ones worked by hand.
 */
import { describe, expect, it } from 'vitest';
import { CycleOnlyError, TariffUsageError, compileTariff, type Charge, type TariffDefinition, type UsageInterval } from '../../../../src/fees/tariffs/index.js';
import { prng } from '../../../helpers/prng.js';

const H = 3_600_000;
/** A wall time in Asia/Shanghai (UTC+8 all year). */
const cst = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) - 8 * H;

/** Intervals end to end from `from`, each [ms length, Wh]. */
function intervals(from: number, spans: readonly (readonly [number, number])[]): UsageInterval[] {
  let t = from;
  return spans.map(([ms, wh]) => {
    const iv = { start: t, end: t + ms, importWh: wh };
    t += ms;
    return iv;
  });
}

const summary = (c: Charge) => c.lines.map((l) => [l.label, l.quantity, l.price, l.amountMinor]);

describe('flat', () => {
  it('prices the period\'s kWh once and rounds the line half away from zero', () => {
    const t = compileTariff({ id: 'res', kind: 'flat', currency: 'CNY', price: '0.5' });
    const from = cst(2026, 3, 10);
    // 250 Wh = 0.250 kWh × 0.5 CNY = 0.125 CNY = 12.5 fen → 13 fen (half away from zero, 四舍五入).
    const c = t.charge({ from, to: from + 2 * H, intervals: intervals(from, [[H, 100], [H, 150]]) });
    expect(summary(c)).toEqual([['energy', '0.250', '0.5', 13]]);
    expect(c).toMatchObject({ amountMinor: 13, currency: 'CNY', tariffId: 'res', from, to: from + 2 * H });
    expect(t.cycleOnly).toBe(false);
  });

  it('uses the currency\'s own minor unit: yen have none', () => {
    const t = compileTariff({ id: 'jp', kind: 'flat', currency: 'JPY', price: '25.5' });
    const from = Date.UTC(2026, 0, 1);
    // 1.000 kWh × 25.5 JPY = 25.5 JPY → 26 JPY.
    expect(t.charge({ from, to: from + H, intervals: intervals(from, [[H, 1000]]) }).amountMinor).toBe(26);
  });
});

describe('time of use (峰谷分时)', () => {
  const night = [
    { bucket: 'valley', from: '22:00', to: '06:00' },
    { bucket: 'flat', from: '06:00', to: '08:00' },
    { bucket: 'peak', from: '08:00', to: '22:00' },
  ];
  const def: TariffDefinition = {
    id: 'tou-sh', kind: 'tou', currency: 'CNY', timeZone: 'Asia/Shanghai',
    prices: { peak: '1.0', flat: '0.6', valley: '0.3' },
    seasons: [{ periods: night }],
  };

  it('charges a night across midnight, splitting an interval across 22:00 in proportion to time', () => {
    const t = compileTariff(def);
    const from = cst(2026, 3, 10, 20);
    const c = t.charge({
      from, to: cst(2026, 3, 11, 8),
      intervals: intervals(from, [
        [1.5 * H, 1500], // 20:00–21:30 peak
        [H, 1001], // 21:30–22:30: 30 min peak, 30 min valley: 500.5 each → 500 + 500, the spare Wh to the earlier piece → peak 501, valley 500
        [7.5 * H, 7500], // 22:30–06:00 valley, cut at midnight: 1500 + 6000
        [2 * H, 2000], // 06:00–08:00 flat
      ]),
    });
    // peak   1500 + 501 = 2001 Wh = 2.001 kWh × 1.0 = 2.001 CNY = 200.1 fen → 200
    // flat   2000 Wh = 2.000 kWh × 0.6 = 1.20 CNY → 120
    // valley 500 + 7500 = 8000 Wh = 8.000 kWh × 0.3 = 2.40 CNY → 240
    expect(summary(c)).toEqual([
      ['energy, peak', '2.001', '1.0', 200],
      ['energy, flat', '2.000', '0.6', 120],
      ['energy, valley', '8.000', '0.3', 240],
    ]);
    expect(c.amountMinor).toBe(560);
    const valley = c.lines.find((l) => l.bucket === 'valley');
    expect([valley?.from, valley?.to]).toEqual([cst(2026, 3, 10, 22), cst(2026, 3, 11, 6)]);
  });

  describe('a daylight-saving day in Europe/Berlin', () => {
    const berlin = compileTariff({
      id: 'tou-de', kind: 'tou', currency: 'EUR', timeZone: 'Europe/Berlin', prices: { peak: '0.40', valley: '0.20' },
      seasons: [{ periods: [{ bucket: 'valley', from: '22:00', to: '06:00' }, { bucket: 'peak', from: '06:00', to: '22:00' }] }],
    });
    const hourly = (from: number, hours: number) => intervals(from, Array.from({ length: hours }, () => [H, 1000] as const));

    it('has 23 hours on the last Sunday of March, one fewer of valley', () => {
      // 2026-03-29: 00:00 CET = 03-28 23:00Z; clocks jump 02:00 CET → 03:00 CEST at 01:00Z; 24:00 CEST = 22:00Z.
      const from = Date.UTC(2026, 2, 28, 23);
      const c = berlin.charge({ from, to: Date.UTC(2026, 2, 29, 22), intervals: hourly(from, 23) });
      // valley: 00:00–02:00 CET (2 h) + 03:00–06:00 CEST (3 h) + 22:00–24:00 (2 h) = 7 h × 1 kWh × 0.20 = 1.40 EUR
      // peak:   06:00–22:00 CEST = 16 h × 1 kWh × 0.40 = 6.40 EUR
      expect(summary(c)).toEqual([['energy, peak', '16.000', '0.40', 640], ['energy, valley', '7.000', '0.20', 140]]);
      expect(c.amountMinor).toBe(780);
    });

    it('has 25 hours on the last Sunday of October, the repeated hour in the valley', () => {
      // 2026-10-25: 00:00 CEST = 10-24 22:00Z; clocks fall back 03:00 CEST → 02:00 CET at 01:00Z; 24:00 CET = 23:00Z.
      const from = Date.UTC(2026, 9, 24, 22);
      const c = berlin.charge({ from, to: Date.UTC(2026, 9, 25, 23), intervals: hourly(from, 25) });
      // valley: 00:00–06:00 local holds 7 h (02:00–03:00 twice) + 22:00–24:00 (2 h) = 9 h × 0.20 = 1.80 EUR
      // peak:   06:00–22:00 CET = 16 h × 0.40 = 6.40 EUR
      expect(summary(c)).toEqual([['energy, peak', '16.000', '0.40', 640], ['energy, valley', '9.000', '0.20', 180]]);
      expect(c.amountMinor).toBe(820);
    });
  });

  it('splits generated intervals so that every bucket\'s Wh sum to the interval Wh, whatever the edges', () => {
    const t = compileTariff({
      ...def, id: 'tou-seasons', seasons: [
        { months: [1, 2, 3, 4, 5, 6], periods: night },
        { months: [7, 8, 9, 10, 11, 12], periods: [
          { bucket: 'valley', from: '23:00', to: '07:00' }, { bucket: 'peak', from: '07:00', to: '12:17', weekdays: [1, 2, 3, 4, 5] },
          { bucket: 'flat', from: '07:00', to: '12:17', weekdays: [0, 6] }, { bucket: 'flat', from: '12:17', to: '23:00' },
        ] },
      ],
    });
    const berlin = compileTariff({ ...def, id: 'tou-de', currency: 'EUR', timeZone: 'Europe/Berlin' });
    const random = prng(18);
    for (let run = 0; run < 60; run++) {
      // Around the turn of June in Shanghai, and around both daylight-saving days in Berlin.
      const [tariff, near] = [[t, cst(2026, 6, 28)], [berlin, Date.UTC(2026, 2, 28)], [berlin, Date.UTC(2026, 9, 24)]][run % 3] as [typeof t, number];
      const from = near + Math.floor(random() * 10 * H);
      const spans = Array.from({ length: 40 }, () => [1 + Math.floor(random() * 5 * H), Math.floor(random() * 100_000)] as const);
      const ivs = intervals(from, spans);
      const c = tariff.charge({ from, to: ivs[ivs.length - 1]?.end ?? from, intervals: ivs });
      const lineWh = c.lines.reduce((a, l) => a + Math.round(Number(l.quantity) * 1000), 0);
      expect(lineWh).toBe(spans.reduce((a, [, wh]) => a + wh, 0));
      expect(c.amountMinor).toBe(c.lines.reduce((a, l) => a + l.amountMinor, 0));
    }
  });
});

describe('tiered (阶梯电价)', () => {
  const tiered = compileTariff({
    id: 'tiered', kind: 'tiered', currency: 'CNY', timeZone: 'Asia/Shanghai', cycle: 'monthly',
    tiers: [{ upToKwh: 200, price: '0.5283' }, { upToKwh: 400, price: '0.5783' }, { price: '0.8283' }],
  });

  it('splits the interval in which the month\'s consumption crosses a tier bound, exactly at the bound', () => {
    const from = cst(2026, 3, 10);
    const c = tiered.charge({
      from, to: cst(2026, 3, 11), cycleToDateWh: 190_000,
      intervals: intervals(from, [[6 * H, 6000], [6 * H, 6000], [6 * H, 6000], [6 * H, 6000]]),
    });
    // Before: 190 kWh. 00–06: 196 kWh. 06–12 crosses 200 after 4000 of its 6000 Wh, at 06:00 + 6 h × 4/6 = 10:00.
    // tier 1: 6 + 4 = 10.000 kWh × 0.5283 = 5.283 CNY = 528.3 fen → 528   (00:00–10:00)
    // tier 2: 2 + 6 + 6 = 14.000 kWh × 0.5783 = 8.0962 CNY = 809.62 fen → 810   (10:00–24:00)
    expect(summary(c)).toEqual([['energy, tier 1', '10.000', '0.5283', 528], ['energy, tier 2', '14.000', '0.5783', 810]]);
    expect(c.lines.map((l) => [l.tier, l.from, l.to])).toEqual([[1, from, cst(2026, 3, 10, 10)], [2, cst(2026, 3, 10, 10), cst(2026, 3, 11)]]);
    expect(c.amountMinor).toBe(1338);
  });

  it('starts the next cycle from zero when the period runs past the local month\'s end', () => {
    const from = cst(2026, 3, 31, 12);
    const c = tiered.charge({ from, to: cst(2026, 4, 1, 12), cycleToDateWh: 399_000, intervals: intervals(from, [[24 * H, 4000]]) });
    // The interval is cut at 04-01 00:00 (local): 2000 Wh in March, 2000 Wh in April.
    // March: 399 kWh before; 1 kWh to 400 in tier 2 (12:00–18:00), 1 kWh in tier 3 (18:00–24:00).
    //   tier 2: 1.000 × 0.5783 = 57.83 fen → 58;  tier 3: 1.000 × 0.8283 = 82.83 fen → 83
    // April from zero: tier 1: 2.000 × 0.5283 = 105.66 fen → 106
    expect(summary(c)).toEqual([
      ['energy, tier 2', '1.000', '0.5783', 58], ['energy, tier 3', '1.000', '0.8283', 83], ['energy, tier 1', '2.000', '0.5283', 106],
    ]);
    expect(c.lines[1]?.from).toBe(cst(2026, 3, 31, 18));
    expect(c.amountMinor).toBe(247);
  });
});

describe('two-part (两部制) with the power-factor adjustment (力调电费)', () => {
  const march = { from: cst(2026, 3, 1), to: cst(2026, 4, 1) };
  const energy = [[march.to - march.from, 100_000_000]] as const; // 100 000 kWh in the month

  it('adds a surcharge for a power factor below the standard', () => {
    const t = compileTariff({
      id: 'factory', kind: 'two-part', currency: 'CNY', timeZone: 'Asia/Shanghai',
      basic: { by: 'capacity', contractedKva: 315, price: '25' }, energy: { kind: 'flat', price: '0.6' }, powerFactorStandard: 0.9,
    });
    expect(t.cycleOnly).toBe(true);
    const c = t.charge({ ...march, intervals: intervals(march.from, energy), reactiveVarh: 61_970_000 });
    // basic:  315 kVA × 25 CNY = 7 875.00 CNY = 787 500 fen
    // energy: 100 000 kWh × 0.6 = 60 000.00 CNY = 6 000 000 fen
    // cos φ = 100 000 / √(100 000² + 61 970²) = 1 / √1.38403 = 0.85002 → 0.85; table 0.90: (0.90 − 0.85) / 0.01 × 0.5 % = +2.5 %
    // adjustment: (787 500 + 6 000 000) × 0.025 = 169 687.5 fen → 169 688
    expect(summary(c)).toEqual([
      ['basic charge, contracted capacity', '315.000', '25', 787_500],
      ['energy', '100000.000', '0.6', 6_000_000],
      ['power-factor adjustment, cos φ 0.85 against 0.90', '67875.00', '0.0250', 169_688],
    ]);
    expect(c.powerFactor).toEqual({ activeWh: 100_000_000, reactiveVarh: 61_970_000, value: '0.85', standard: '0.90', rate: '0.0250' });
    expect(c.amountMinor).toBe(6_957_188);
  });

  it('reduces the bill for a power factor above the standard', () => {
    const t = compileTariff({
      id: 'mill', kind: 'two-part', currency: 'CNY', timeZone: 'Asia/Shanghai',
      basic: { by: 'demand', price: '38' }, energy: { kind: 'flat', price: '0.6' }, powerFactorStandard: 0.9,
    });
    const c = t.charge({ ...march, intervals: intervals(march.from, energy), reactiveVarh: 29_000_000, maxDemandW: 250_500 });
    // basic:  250.5 kW × 38 CNY = 9 519.00 CNY = 951 900 fen
    // energy: 6 000 000 fen
    // cos φ = 1 / √(1 + 0.29²) = 1 / 1.04120 = 0.96043 → 0.96; table 0.90 at 0.95 and above: −0.75 %
    // adjustment: 6 951 900 × −0.0075 = −52 139.25 fen → −52 139
    expect(summary(c)).toEqual([
      ['basic charge, maximum demand', '250.500', '38', 951_900],
      ['energy', '100000.000', '0.6', 6_000_000],
      ['power-factor adjustment, cos φ 0.96 against 0.90', '69519.00', '-0.0075', -52_139],
    ]);
    expect(c.amountMinor).toBe(6_899_761);
  });

  it('rounds a reduction half away from zero too', () => {
    const t = compileTariff({
      id: 'small', kind: 'two-part', currency: 'CNY', timeZone: 'Asia/Shanghai',
      basic: { by: 'capacity', contractedKva: 1, price: '2' }, energy: { kind: 'flat', price: '0' }, powerFactorStandard: 0.9,
    });
    // basic 1 kVA × 2 = 200 fen; cos φ = 1.00 → −0.75 %: 200 × −0.0075 = −1.5 fen → −2
    const c = t.charge({ ...march, intervals: intervals(march.from, [[march.to - march.from, 1000]]), reactiveVarh: 0 });
    expect(c.lines.map((l) => l.amountMinor)).toEqual([200, 0, -2]);
  });

  it('refuses a daily charge request with a typed error', () => {
    const t = compileTariff({ id: 'factory', kind: 'two-part', currency: 'CNY', timeZone: 'Asia/Shanghai', basic: { by: 'demand', price: '38' }, energy: { kind: 'flat', price: '0.6' } });
    const from = cst(2026, 3, 10);
    const attempt = () => t.charge({ from, to: from + 24 * H, intervals: intervals(from, [[24 * H, 100]]), maxDemandW: 1000 });
    expect(attempt).toThrow(CycleOnlyError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'TARIFF_CYCLE_ONLY', field: 'to' }));
  });

  it('names the missing reactive energy and maximum demand', () => {
    const t = compileTariff({ id: 'f', kind: 'two-part', currency: 'CNY', timeZone: 'Asia/Shanghai', basic: { by: 'demand', price: '38' }, energy: { kind: 'flat', price: '0.6' }, powerFactorStandard: 0.85 });
    const u = { ...march, intervals: intervals(march.from, energy) };
    expect(() => t.charge(u)).toThrow(expect.objectContaining({ field: 'maxDemandW' }));
    expect(() => t.charge({ ...u, maxDemandW: 1 })).toThrow(expect.objectContaining({ field: 'reactiveVarh' }));
  });
});

describe('usage that cannot be charged', () => {
  const t = compileTariff({ id: 'res', kind: 'flat', currency: 'CNY', price: '0.5' });
  const from = cst(2026, 3, 10);
  it.each([
    ['a gap between intervals', { from, to: from + 3 * H, intervals: [{ start: from, end: from + H, importWh: 1 }, { start: from + 2 * H, end: from + 3 * H, importWh: 1 }] }, 'intervals[1].start'],
    ['intervals short of to', { from, to: from + 3 * H, intervals: [{ start: from, end: from + H, importWh: 1 }] }, 'intervals[0].end'],
    ['negative energy', { from, to: from + H, intervals: [{ start: from, end: from + H, importWh: -5 }] }, 'intervals[0].importWh'],
    ['fractional Wh', { from, to: from + H, intervals: [{ start: from, end: from + H, importWh: 1.5 }] }, 'intervals[0].importWh'],
    ['to before from', { from, to: from - H, intervals: [] }, 'to'],
  ])('names the field of %s', (_name, usage, field) => {
    expect(() => t.charge(usage)).toThrow(TariffUsageError);
    expect(() => t.charge(usage)).toThrow(expect.objectContaining({ field, status: 400 }));
  });
});
