/** Builds the billing service from its configuration section: the one place config meets src/billing. */
import type { BillingConfig } from '../config/schema.js';
import { QUANTITIES, isQuantity } from '../domain/quantity.js';
import { BillingService, type BillingOptions } from './service.js';
import { registerRules, type RegisterRules, type ReplacementStore } from './replacements.js';
import type { BillingStore } from './store.js';
import { Tariff } from '../fees/tariffs/touCalendar.js';

export { BillingService } from './service.js';

export function createBillingService(stores: { readonly billing: BillingStore; readonly replacements: ReplacementStore }, config: BillingConfig, utcOffsetMinutes: number, areaSubtree: (id: string) => ReadonlySet<string>): BillingService {
  return new BillingService(stores.billing, billingOptions(config, utcOffsetMinutes, areaSubtree), stores.replacements);
}

/** The service's options from its configuration section, whichever driver its stores use. */
export function billingOptions(config: BillingConfig, utcOffsetMinutes: number, areaSubtree: (id: string) => ReadonlySet<string>): BillingOptions {
  return {
    utcOffsetMinutes,
    quantity: config.quantity,
    unitOf: (q) => (isQuantity(q) ? QUANTITIES[q].unit : ''),
    snapshotToleranceMs: config.snapshotToleranceSeconds * 1000,
    frozenMaxSpanMs: config.frozenMaxSpanHours * 3_600_000,
    intervalMaxSpanMs: config.intervalMaxSpanMinutes * 60_000,
    vee: {
      maxEstimatedGapMs: config.maxEstimatedGapMinutes * 60_000,
      spikeFactor: config.spikeFactor,
      spikeMinDelta: config.spikeMinDelta,
      baselineSize: config.baselineIntervals,
    },
    ...registerSettings(config),
    tariff: new Tariff(config.tariff, utcOffsetMinutes),
    maxReadsPerMeter: config.maxReadsPerMeter,
    chunkSize: config.exportChunkMeters,
    areaSubtree,
  };
}

/** How the station reads register deltas, for the parts outside billing that count energy from them (load control's energy programs). */
export function registerRulesOf(config: BillingConfig, recorded: ReplacementStore): RegisterRules {
  const { rolloverAt, replacements } = registerSettings(config);
  return registerRules(rolloverAt, replacements, recorded);
}

function registerSettings(config: BillingConfig): Pick<BillingOptions, 'rolloverAt' | 'replacements'> {
  return {
    ...(config.registerDigits === 0 ? {} : { rolloverAt: 10 ** config.registerDigits }),
    replacements: config.replacements.map((r) => ({ meterId: r.meterId, at: Date.parse(r.at), oldFinal: r.oldFinal, newInitial: r.newInitial })),
  };
}
