/**
 * The tariff engine: pure functions from a tariff definition and a usage to a charge that
 * explains itself (period, kWh per tier or TOU bucket, price, amount). Money is exact: prices
 * are decimal strings, energy integer Wh, amounts integer minor units rounded once per line,
 * half away from zero. `createTariffs` compiles the configured tariffs once at start.
 */
import { TimeZone } from './timeZone.js';
import { checkUsage, totalOf, type Charge, type PowerFactorExplanation, type ChargeLine, type Usage } from './charge.js';
import { tariffIssues, tariffListIssues } from './check.js';
import { flatEnergy, touEnergy, type EnergyPricing } from './energy.js';
import { TariffDefinitionError } from './errors.js';
import { minorDigits } from './money.js';
import type { TariffDefinition, TariffKind } from './schema.js';
import { tieredLines } from './tiered.js';
import { twoPartLines } from './twoPart.js';

export type { Charge, ChargeLine, ChargeLineKind, PowerFactorExplanation, Usage, UsageInterval } from './charge.js';
export { MAX_USAGE_INTERVALS } from './charge.js';
export { CycleOnlyError, TariffDefinitionError, TariffUsageError, type TariffIssue } from './errors.js';
export { MoneyFormatError, decimalToMinor, isCurrency, kwhToWh, minorDigits, minorToDecimal } from './money.js';
export { TARIFF_KINDS, TariffConfig, TariffDefinition, type TariffKind } from './schema.js';
export { tariffIssues, tariffListIssues } from './check.js';

export interface Tariff {
  readonly id: string;
  readonly name: string;
  readonly kind: TariffKind;
  readonly currency: string;
  /** Charged once per billing cycle (a whole local month) only: two-part. A shorter period is a CycleOnlyError. */
  readonly cycleOnly: boolean;
  /** The definition it was compiled from, its currency filled in. */
  readonly definition: TariffDefinition;
  /** Throws TariffUsageError (CycleOnlyError) naming the field when the usage cannot be charged. */
  charge(usage: Usage): Charge;
}

/** The station's tariffs, compiled once. */
export interface TariffBook {
  get(id: string): Tariff | undefined;
  has(id: string): boolean;
  /** In configuration order. */
  list(): readonly Tariff[];
}

export interface CompileOptions {
  /** Path of the definition in error fields, e.g. `tariffs[2]`; `tariff` when absent. */
  readonly at?: string;
  /** Currency of a definition that names none. */
  readonly currency?: string;
}

/** Checks and compiles one definition; throws TariffDefinitionError naming the field of every problem. */
export function compileTariff(def: TariffDefinition, options: CompileOptions = {}): Tariff {
  const [first, ...rest] = tariffIssues(def, options.at ?? 'tariff', options.currency);
  if (first !== undefined) throw new TariffDefinitionError([first, ...rest]);
  const currency = def.currency ?? options.currency ?? '';
  const digits = minorDigits(currency);
  const definition = { ...def, currency } as TariffDefinition;
  const price = pricing(definition, digits);
  return {
    id: def.id, name: def.name ?? def.id, kind: def.kind, currency, cycleOnly: def.kind === 'two-part', definition,
    charge: (usage) => {
      checkUsage(usage);
      const { lines, powerFactor } = price(usage);
      return totalOf(def.id, currency, usage, lines, powerFactor);
    },
  };
}

/** Compiles the configured tariffs (checked by the loader already; a bad one still throws here). */
export function createTariffs(config: { readonly tariffs: readonly TariffDefinition[]; readonly currency: string }): TariffBook {
  const [first, ...rest] = tariffListIssues(config.tariffs, 'fees.tariffs', config.currency);
  if (first !== undefined) throw new TariffDefinitionError([first, ...rest]);
  const tariffs = config.tariffs.map((def, i) => compileTariff(def, { at: `fees.tariffs[${i}]`, currency: config.currency }));
  const byId = new Map(tariffs.map((t) => [t.id, t]));
  return { get: (id) => byId.get(id), has: (id) => byId.has(id), list: () => tariffs };
}

type Pricing = (u: Usage) => { lines: ChargeLine[]; powerFactor?: PowerFactorExplanation };

function pricing(def: TariffDefinition, digits: number): Pricing {
  switch (def.kind) {
    case 'flat': {
      const energy = flatEnergy(def.price);
      return (u) => ({ lines: energy.lines(u, digits) });
    }
    case 'tou': {
      const energy = touEnergy(def, def.timeZone);
      return (u) => ({ lines: energy.lines(u, digits) });
    }
    case 'tiered': {
      const zone = TimeZone.named(def.timeZone);
      return (u) => ({ lines: tieredLines(def, zone, u, digits) });
    }
    case 'two-part': {
      const zone = TimeZone.named(def.timeZone);
      const energy: EnergyPricing = def.energy.kind === 'flat' ? flatEnergy(def.energy.price) : touEnergy(def.energy, def.timeZone);
      return (u) => twoPartLines(def, zone, energy, u, def.currency ?? '', digits);
    }
  }
}
