/**
 * The tariff engine's share of a balance run: charging one account's day of 96 quarter-hour
 * intervals under each kind (TOU in a zone with daylight saving and in one without, tiered,
 * flat), and a month of a two-part TOU tariff, in charges per second on one core, with the
 * time 100,000 accounts' days would take.
 */
import { describe, expect, it } from 'vitest';
import { compileTariff, type Tariff, type TariffDefinition, type Usage } from '../../src/fees/tariffs/index.js';

const Q = 15 * 60_000;
const H = 3_600_000;
const ACCOUNTS = 100_000;
const periods = [
  { bucket: 'valley', from: '23:00', to: '07:00' }, { bucket: 'flat', from: '07:00', to: '10:00' },
  { bucket: 'peak', from: '10:00', to: '15:00' }, { bucket: 'flat', from: '15:00', to: '18:00' },
  { bucket: 'peak', from: '18:00', to: '21:00' }, { bucket: 'flat', from: '21:00', to: '23:00' },
];
const prices = { peak: '0.9532', flat: '0.6133', valley: '0.3066' };

function usage(from: number, count: number, extra: Partial<Usage> = {}): Usage {
  return { from, to: from + count * Q, intervals: Array.from({ length: count }, (_, i) => ({ start: from + i * Q, end: from + (i + 1) * Q, importWh: 100 + (i % 7) * 37 })), ...extra };
}

/** Charges per second, best of 3 runs of `n` after a warm-up. */
function rate(t: Tariff, u: Usage, n: number): number {
  let best = Infinity;
  for (let run = 0; run < 4; run++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) t.charge(u);
    const ms = performance.now() - start;
    if (run > 0) best = Math.min(best, ms);
  }
  return Math.round((n / best) * 1000);
}

describe('tariff engine throughput', () => {
  const cases: [string, TariffDefinition, Usage, number][] = [
    ['flat-day', { id: 'f', kind: 'flat', currency: 'CNY', price: '0.5583' }, usage(Date.UTC(2026, 2, 9, 16), 96), 20_000],
    ['tou-day-shanghai', { id: 't', kind: 'tou', currency: 'CNY', timeZone: 'Asia/Shanghai', prices, seasons: [{ periods }] }, usage(Date.UTC(2026, 2, 9, 16), 96), 5_000],
    ['tou-day-berlin-dst', { id: 'b', kind: 'tou', currency: 'EUR', timeZone: 'Europe/Berlin', prices, seasons: [{ periods }] }, usage(Date.UTC(2026, 2, 28, 23), 92), 5_000],
    ['tiered-day', {
      id: 'l', kind: 'tiered', currency: 'CNY', timeZone: 'Asia/Shanghai', cycle: 'monthly',
      tiers: [{ upToKwh: 200, price: '0.5283' }, { upToKwh: 400, price: '0.5783' }, { price: '0.8283' }],
    }, usage(Date.UTC(2026, 2, 9, 16), 96, { cycleToDateWh: 190_000 }), 5_000],
  ];
  for (const [name, def, u, n] of cases) {
    it(name, () => {
      const perSecond = rate(compileTariff(def), u, n);
      console.log(`bench: tariff-${name} = ${perSecond} charges/s`);
      console.log(`bench: tariff-${name}-100k-accounts = ${(ACCOUNTS / perSecond).toFixed(2)} s`);
      expect(perSecond).toBeGreaterThan(0);
    });
  }

  it('two-part-month', () => {
    const t = compileTariff({
      id: 'tp', kind: 'two-part', currency: 'CNY', timeZone: 'Asia/Shanghai', basic: { by: 'capacity', contractedKva: 315, price: '25' },
      energy: { kind: 'tou', prices, seasons: [{ periods }] }, powerFactorStandard: 0.9,
    });
    const from = Date.UTC(2026, 2, 1) - 8 * H;
    const perSecond = rate(t, usage(from, 31 * 96, { reactiveVarh: 120_000 }), 200);
    console.log(`bench: tariff-two-part-month = ${perSecond} charges/s`);
    expect(perSecond).toBeGreaterThan(0);
  });
});
