/**
 * Every rule of a tariff definition, broken once, is refused with the field named: by
 * compileTariff as a TariffDefinitionError, and by the configuration loader as an issue of
 * `fees.tariffs`.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../../src/config/load.js';
import { TariffDefinitionError, compileTariff, createTariffs, type TariffDefinition } from '../../../../src/fees/tariffs/index.js';

interface TouShape {
  id: string; kind: string; timeZone: string; prices: Record<string, string>;
  seasons: { months: number[]; periods: Record<string, unknown>[] }[];
}

const TOU: TouShape = {
  id: 'tou', kind: 'tou', timeZone: 'Asia/Shanghai', prices: { peak: '1.0', flat: '0.6', valley: '0.3' },
  seasons: [
    { months: [6, 7, 8], periods: [{ bucket: 'valley', from: '23:00', to: '07:00' }, { bucket: 'peak', from: '07:00', to: '23:00' }] },
    { months: [1, 2, 3, 4, 5, 9, 10, 11, 12], periods: [{ bucket: 'valley', from: '22:00', to: '06:00' }, { bucket: 'flat', from: '06:00', to: '22:00' }] },
  ],
};

/** A copy of the TOU tariff with `edit` applied to it. */
function variant(base: TouShape, edit: (d: TouShape) => void): TariffDefinition {
  const d = structuredClone(base);
  edit(d);
  return d as unknown as TariffDefinition;
}

function refusal(def: TariffDefinition): { field: string; reason: string } {
  try {
    compileTariff(def, { at: 'tariffs[2]', currency: 'CNY' });
  } catch (err) {
    if (err instanceof TariffDefinitionError) return { field: err.field, reason: err.reason };
    throw err;
  }
  throw new Error('compiled');
}

describe('tariff definition checks', () => {
  it('accepts a well-formed definition of each kind', () => {
    expect(() => compileTariff(TOU as unknown as TariffDefinition, { currency: 'CNY' })).not.toThrow();
    expect(() => compileTariff({ id: 'f', kind: 'flat', price: '0.5583', currency: 'EUR' })).not.toThrow();
    expect(() => compileTariff({ id: 't', kind: 'tiered', timeZone: 'Asia/Shanghai', cycle: 'annual', tiers: [{ upToKwh: 2760, price: '0.5283' }, { upToKwh: 4800, price: '0.5783' }, { price: '0.8283' }] }, { currency: 'CNY' })).not.toThrow();
  });

  it.each([
    ['overlapping periods within a season', variant(TOU, (d) => { d.seasons[0]!.periods[1]!.from = '06:00'; }), 'tariffs[2].seasons[0].periods[1].from', 'overlapping-periods'],
    ['an overnight period overlapping the next morning', variant(TOU, (d) => { d.seasons[1]!.periods.push({ bucket: 'peak', from: '05:00', to: '05:30', weekdays: [3] }); }), 'tariffs[2].seasons[1].periods[2].from', 'overlapping-periods'],
    ['a bucket without a price', variant(TOU, (d) => { d.seasons[0]!.periods[1]!.bucket = 'sharp'; }), 'tariffs[2].seasons[0].periods[1].bucket', 'bucket-without-price'],
    ['a month in two seasons', variant(TOU, (d) => { d.seasons[1]!.months.push(7); }), 'tariffs[2].seasons[1].months[9]', 'month-in-two-seasons'],
    ['a month in no season', variant(TOU, (d) => { d.seasons[1]!.months.pop(); }), 'tariffs[2].seasons', 'month-without-season'],
    ['a minute no period covers', variant(TOU, (d) => { d.seasons[0]!.periods[1]!.to = '22:00'; }), 'tariffs[2].seasons[0].periods', 'uncovered-time'],
    ['an unknown time zone', variant(TOU, (d) => { d.timeZone = 'Asia/Beijing'; }), 'tariffs[2].timeZone', 'unknown-time-zone'],
    ['a bad price string', variant(TOU, (d) => { d.prices.flat = '0.6.1'; }), 'tariffs[2].prices.flat', 'bad-price'],
    ['a price with 7 decimals', { id: 'f', kind: 'flat', price: '0.5583001' }, 'tariffs[2].price', 'bad-price'],
    ['a price as a number', { id: 'f', kind: 'flat', price: 0.5 }, 'tariffs[2].price', 'bad-price'],
    ['a currency not in ISO 4217', { id: 'f', kind: 'flat', price: '0.5', currency: 'XYZ' }, 'tariffs[2].currency', 'unknown-currency'],
    ['tiers not ascending', { id: 't', kind: 'tiered', timeZone: 'Asia/Shanghai', cycle: 'monthly', tiers: [{ upToKwh: 400, price: '0.5' }, { upToKwh: 200, price: '0.6' }, { price: '0.8' }] }, 'tariffs[2].tiers[1].upToKwh', 'tiers-not-ascending'],
    ['a bounded last tier', { id: 't', kind: 'tiered', timeZone: 'Asia/Shanghai', cycle: 'monthly', tiers: [{ upToKwh: 200, price: '0.5' }] }, 'tariffs[2].tiers[0].upToKwh', 'last-tier-bounded'],
    ['an unknown key', variant(TOU, (d) => { d.seasons[0]!.periods[0]!.days = [1]; }), 'tariffs[2].seasons[0].periods[0].days', 'schema'],
    ['an unknown kind', { id: 'x', kind: 'banded' }, 'tariffs[2].kind', 'unknown-kind'],
    ['a two-part energy period overlapping', {
      id: 'tp', kind: 'two-part', timeZone: 'Asia/Shanghai', basic: { by: 'demand', price: '38' },
      energy: { kind: 'tou', prices: { peak: '1' }, seasons: [{ periods: [{ bucket: 'peak', from: '00:00', to: '24:00' }, { bucket: 'peak', from: '12:00', to: '13:00' }] }] },
    }, 'tariffs[2].energy.seasons[0].periods[1].from', 'overlapping-periods'],
    ['a two-part basic charge without its capacity', { id: 'tp', kind: 'two-part', timeZone: 'Asia/Shanghai', basic: { by: 'capacity', price: '25' }, energy: { kind: 'flat', price: '0.6' } }, 'tariffs[2].basic.contractedKva', 'schema'],
  ])('refuses %s, naming the field', (_name, def, field, reason) => {
    expect(refusal(def as TariffDefinition)).toEqual({ field, reason });
  });

  it('refuses two tariffs with one id', () => {
    const flat = { id: 'same', kind: 'flat', price: '0.5' } as const;
    expect(() => createTariffs({ currency: 'CNY', tariffs: [flat, flat] })).toThrow(expect.objectContaining({ field: 'fees.tariffs[1].id', reason: 'duplicate-id' }));
  });
});

describe('fees.tariffs in the configuration', () => {
  function issuesOf(yaml: string): string[] {
    try {
      parseConfig(yaml, 'test.yaml');
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  }

  it('loads tariffs of every kind, the station currency filled in when compiled', () => {
    const c = parseConfig(`
fees:
  currency: CNY
  tariffs:
    - { id: res, kind: flat, price: "0.5583" }
    - id: tou
      kind: tou
      timeZone: Asia/Shanghai
      prices: { peak: "1.0", valley: "0.3" }
      seasons: [{ periods: [{ bucket: valley, from: "22:00", to: "06:00" }, { bucket: peak, from: "06:00", to: "22:00" }] }]
    - { id: ladder, kind: tiered, timeZone: Asia/Shanghai, cycle: annual, tiers: [{ upToKwh: 2760, price: "0.5283" }, { price: "0.8283" }] }
    - { id: factory, kind: two-part, timeZone: Asia/Shanghai, basic: { by: capacity, contractedKva: 315, price: "25" }, energy: { kind: flat, price: "0.6" }, powerFactorStandard: 0.9 }
`, 't.yaml');
    const book = createTariffs(c.fees);
    expect(book.list().map((t) => [t.id, t.kind, t.currency, t.cycleOnly])).toEqual([
      ['res', 'flat', 'CNY', false], ['tou', 'tou', 'CNY', false], ['ladder', 'tiered', 'CNY', false], ['factory', 'two-part', 'CNY', true],
    ]);
    expect(book.has('tou')).toBe(true);
    expect(book.get('nope')).toBeUndefined();
  });

  it('defaults to no tariffs', () => {
    expect(parseConfig('', 'empty.yaml').fees.tariffs).toEqual([]);
  });

  it('names the field of each problem, for the kind the tariff says it is', () => {
    expect(issuesOf(`
fees:
  tariffs:
    - { id: a, kind: flat, price: "0.5" }
    - id: b
      kind: tou
      timeZone: Asia/Shanghai
      prices: { peak: "1.0", valley: 0.3 }
      seasons: [{ periods: [{ bucket: valley, from: "22:00", to: "07:00" }, { bucket: peak, from: "06:00", to: "22:00" }] }]
    - { id: c, kind: tiered, timeZone: Europe/Nowhere, cycle: monthly, tiers: [{ price: "0.5" }] }
`)).toEqual([
      'fees.tariffs[1].prices.valley: expected a decimal string with at most 6 decimals, e.g. "0.5583"',
      'fees.tariffs[2].timeZone: unknown time zone "Europe/Nowhere" (expected an IANA name such as Asia/Shanghai)',
    ]);
    expect(issuesOf(`
fees:
  tariffs:
    - id: b
      kind: tou
      timeZone: Asia/Shanghai
      prices: { peak: "1.0", valley: "0.3" }
      seasons: [{ periods: [{ bucket: valley, from: "22:00", to: "07:00" }, { bucket: peak, from: "06:00", to: "22:00" }] }]
`)).toEqual(['fees.tariffs[0].seasons[0].periods[1].from: overlaps fees.tariffs[0].seasons[0].periods[0] (22:00–07:00)']);
  });
});
