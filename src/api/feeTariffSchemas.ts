/**
 * The wire shapes of the tariff routes: a tariff with its definition, a usage to quote, and
 * the charge that explains itself line by line. Types only from here on the browser side:
 * this module must not import Node code.
 */
import Type from 'typebox';
import { MAX_USAGE_INTERVALS } from '../fees/tariffs/charge.js';
import { TariffDefinition } from '../fees/tariffs/schema.js';

const Ms = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'ms since the epoch' });
const WholeQuantity = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });

export const TariffOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String({ description: 'flat | tou | tiered | two-part' }),
  currency: Type.String({ description: 'ISO 4217' }),
  cycleOnly: Type.Boolean({ description: 'Charged once per billing cycle (a whole local month) only; a shorter quote is refused.' }),
  definition: TariffDefinition,
});

export const TariffListOut = Type.Object({ items: Type.Array(TariffOut) });

export const UsageIn = Type.Object(
  {
    from: Ms,
    to: Ms,
    intervals: Type.Array(Type.Object({ start: Ms, end: Ms, importWh: WholeQuantity('Active import energy, integer Wh.') }, { additionalProperties: false }), {
      minItems: 1, maxItems: MAX_USAGE_INTERVALS, description: 'In time order, end to start, covering exactly [from, to).',
    }),
    cycleToDateWh: Type.Optional(WholeQuantity('Tiered: Wh already charged in the cycle before from.')),
    reactiveVarh: Type.Optional(WholeQuantity('Two-part with a power-factor standard: reactive energy of the month, varh.')),
    maxDemandW: Type.Optional(WholeQuantity('Two-part by demand: maximum demand of the month, W.')),
  },
  { additionalProperties: false },
);

const ChargeLineOut = Type.Object({
  kind: Type.String({ description: 'energy | basic | power-factor' }),
  label: Type.String(),
  bucket: Type.Optional(Type.String()),
  tier: Type.Optional(Type.Integer()),
  from: Type.Number(),
  to: Type.Number(),
  quantity: Type.String({ description: 'Decimal: kWh, kVA or kW, or for power-factor the adjusted amount in currency units.' }),
  unit: Type.String(),
  price: Type.String({ description: 'Decimal: currency units per unit, or for power-factor the rate (0.0250 = +2.5 %).' }),
  amountMinor: Type.Integer({ description: 'quantity × price in minor units, rounded once, half away from zero.' }),
});

export const ChargeOut = Type.Object({
  tariffId: Type.String(),
  currency: Type.String(),
  from: Type.Number(),
  to: Type.Number(),
  amountMinor: Type.Integer({ description: 'The sum of the lines.' }),
  lines: Type.Array(ChargeLineOut),
  powerFactor: Type.Optional(Type.Object({
    activeWh: Type.Integer(), reactiveVarh: Type.Integer(), value: Type.String(), standard: Type.String(), rate: Type.String(),
  })),
});
