/**
 * What a tariff looks like in the configuration (`fees.tariffs`) and the API: a union on
 * `kind`. Prices are decimal strings in currency units (never binary floats); times are
 * HH:MM of the tariff's own IANA time zone. The rules the schema cannot say (periods that
 * overlap, a bucket without a price, tiers out of order…) are checked by check.ts, each
 * naming its field. Types only from here on the browser side: no Node code.
 */
import Type, { type Static } from 'typebox';
import { Id, OneOf, strict } from '../../../protocols/config.js';

export const TARIFF_KINDS = ['flat', 'tou', 'tiered', 'two-part'] as const;
export type TariffKind = (typeof TARIFF_KINDS)[number];

/** At most 6 decimals: the finest prices utilities publish (0.558300 CNY/kWh) fit. */
export const Price = Type.String({ pattern: '^(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?$', description: 'Currency units per unit, a decimal string with at most 6 decimals, e.g. "0.5583".' });
export const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217; the `fees.currency` when absent.' });
export const TimeZoneName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_+/-]*$', description: 'IANA time zone, e.g. Asia/Shanghai.' });
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', description: 'HH:MM local; `24:00` is the end of the day.' });
export const BUCKET_PATTERN = '^[A-Za-z0-9_-]{1,32}$';
export const Bucket = Type.String({ minLength: 1, maxLength: 32, pattern: BUCKET_PATTERN, description: 'peak, flat, valley, sharp (尖峰)…' });

const common = {
  id: Id,
  name: Type.Optional(Type.String({ maxLength: 200 })),
  currency: Type.Optional(CurrencyCode),
};

export const TouPeriod = Type.Object(
  {
    bucket: Bucket,
    /** `to` at or before `from` runs over midnight (22:00 → 06:00) and belongs to the day it starts on. */
    from: ClockTime,
    to: ClockTime,
    weekdays: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, description: 'Local weekdays, 0 Sunday … 6 Saturday; every day when absent.' })),
  },
  strict,
);

export const TouSeason = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 64 })),
    /** Every month when absent (then it must be the only season). */
    months: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 12 }), { minItems: 1, maxItems: 12 })),
    periods: Type.Array(TouPeriod, { minItems: 1, maxItems: 48 }),
  },
  strict,
);

/** The TOU part of a `tou` tariff and of a two-part tariff's energy. */
const touFields = {
  /** Bucket of a moment no period covers; without it the periods must cover every minute. */
  defaultBucket: Type.Optional(Bucket),
  prices: Type.Record(Type.String(), Price, { description: 'Price per kWh of each bucket.' }),
  seasons: Type.Array(TouSeason, { minItems: 1, maxItems: 12 }),
};

export const FlatTariff = Type.Object({ ...common, kind: Type.Literal('flat'), price: Price }, strict);

/** 峰谷分时: a bucket per local time of day, by season and weekday. */
export const TouTariff = Type.Object({ ...common, kind: Type.Literal('tou'), timeZone: TimeZoneName, ...touFields }, strict);

export const Tier = Type.Object(
  {
    /** Upper bound of the tier in the cycle's consumption, kWh (at most 3 decimals); absent on the last, open tier. */
    upToKwh: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e12 })),
    price: Price,
  },
  strict,
);

/** 阶梯电价: the price depends on the consumption so far in the cycle (local month or year). */
export const TieredTariff = Type.Object(
  {
    ...common, kind: Type.Literal('tiered'), timeZone: TimeZoneName,
    cycle: OneOf(['monthly', 'annual'] as const),
    tiers: Type.Array(Tier, { minItems: 1, maxItems: 10 }),
  },
  strict,
);

/** 按容量: contracted transformer capacity × price per kVA and month. */
export const CapacityBasic = Type.Object({ by: Type.Literal('capacity'), contractedKva: Type.Number({ exclusiveMinimum: 0, maximum: 1e9 }), price: Price }, strict);
/** 按需量: the month's maximum demand × price per kW and month. */
export const DemandBasic = Type.Object({ by: Type.Literal('demand'), price: Price }, strict);
export const BasicCharge = Type.Union([CapacityBasic, DemandBasic]);

export const FlatEnergy = Type.Object({ kind: Type.Literal('flat'), price: Price }, strict);
export const TouEnergy = Type.Object({ kind: Type.Literal('tou'), ...touFields }, strict);
export const EnergyCharge = Type.Union([FlatEnergy, TouEnergy]);

/**
 * 两部制 for industrial customers, charged once per billing cycle (a local month): basic
 * charge plus energy, adjusted by the month's power factor (力调电费) against its standard.
 */
export const TwoPartTariff = Type.Object(
  {
    ...common, kind: Type.Literal('two-part'), timeZone: TimeZoneName,
    basic: BasicCharge,
    energy: EnergyCharge,
    /** 《功率因数调整电费办法》 standard; no adjustment when absent. */
    powerFactorStandard: Type.Optional(Type.Union([Type.Literal(0.9), Type.Literal(0.85), Type.Literal(0.8)])),
  },
  strict,
);

export const TariffDefinition = Type.Union([FlatTariff, TouTariff, TieredTariff, TwoPartTariff]);
export type TariffDefinition = Static<typeof TariffDefinition>;
export type TouTariff = Static<typeof TouTariff>;
export type TieredTariff = Static<typeof TieredTariff>;
export type TwoPartTariff = Static<typeof TwoPartTariff>;
/** The TOU fields, of a `tou` tariff or a two-part tariff's energy. */
export type TouFields = Static<typeof TouTariff> | Static<typeof TouEnergy>;

/** Each kind's own schema, to check a definition against the kind it names. */
export const KIND_SCHEMAS = { flat: FlatTariff, tou: TouTariff, tiered: TieredTariff, 'two-part': TwoPartTariff } as const;

/**
 * A tariff in `fees.tariffs`. The loader checks only its id and kind; the kind's own schema
 * and the cross-field rules are checked by check.ts (hooked in the loader), so an error
 * names the field of the kind meant instead of one per kind of the union.
 */
export const TariffConfig = Type.Unsafe<TariffDefinition>(Type.Object({ id: Id, kind: OneOf(TARIFF_KINDS) }, { additionalProperties: true }));
