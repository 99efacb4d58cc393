/**
 * The ledger rows of charging, from a meter's usage and the account's tariff. A row's key names
 * the meter and the start of its period, the meter's charge cursor: a period starts where the
 * meter's last one ended, so two nodes, or a restart, charging the same meter compute the same
 * key and the ledger adds the row once, whatever newer data one of them had seen (the cursor
 * then moves to the end of the row already there). Valid data gives a `charge`; estimated or
 * suspect data a `provisional-charge`, trued up once valid data covers the same period.
 */
import { TimeZone } from '../tariffs/timeZone.js';
import type { FeeAccount, LedgerEntry } from '../model.js';
import type { Tariff, Usage } from '../tariffs/index.js';
import type { MeterUsage, UsageQuality } from './usage.js';

/** What the runner needs of a compiled tariff. */
export type ChargingTariff = Pick<Tariff, 'id' | 'charge' | 'definition'>;

/** A row for the ledger, before the store numbers it. */
export type ChargeEntry = Omit<LedgerEntry, 'seq'>;

/** What a charge row keeps beside its amount: enough to explain it and to carry on from it. */
export interface ChargeDetail {
  readonly meterId: string;
  readonly tariffId: string;
  readonly quality: UsageQuality;
  readonly wh: number;
  /** Rounding carried in from the meter's previous period and out to its next. */
  readonly carryInWh: number;
  readonly carryWh: number;
  /** The tier cycle the period lies in (its local start), null for a tariff without tiers; `cycleToDateWh` is what it used before the period. */
  readonly cycleStart: number | null;
  readonly cycleToDateWh: number;
  readonly provisionalIntervals: number;
  readonly lines: readonly unknown[];
}

export const FEE_RUN_ACTOR = 'fee-run';

/** A tariff that does not charge in the account's currency. */
export class TariffCurrencyError extends Error {
  readonly code = 'FEE_TARIFF_CURRENCY';
  constructor(readonly accountId: string, readonly tariffId: string, readonly accountCurrency: string, readonly tariffCurrency: string) {
    super(`account ${accountId} is kept in ${accountCurrency}, its tariff ${tariffId} charges in ${tariffCurrency}`);
    this.name = 'TariffCurrencyError';
  }
}

export function chargeKey(kind: 'charge' | 'provisional-charge' | 'true-up', meterId: string, from: number): string {
  return `${kind === 'provisional-charge' ? 'provisional' : kind}:${meterId}:${from}`;
}

/** The charge row of a meter's usage: `charge` for valid data, `provisional-charge` otherwise. */
export function chargeEntry(account: FeeAccount, used: MeterUsage, carryInWh: number, tariff: ChargingTariff, cycle: { readonly start: number | null; readonly toDateWh: number }, at: number): ChargeEntry {
  const cycleToDateWh = cycle.toDateWh;
  const usage: Usage = { ...used.usage, cycleToDateWh };
  const priced = price(account, tariff, usage);
  const kind = used.quality === 'valid' ? 'charge' : 'provisional-charge';
  const detail: ChargeDetail = {
    meterId: used.meterId, tariffId: tariff.id, quality: used.quality, wh: used.totalWh, carryInWh, carryWh: used.carryWh, cycleStart: cycle.start, cycleToDateWh,
    provisionalIntervals: used.provisionalIntervals, lines: priced.lines,
  };
  return {
    accountId: account.id, kind, amountMinor: -priced.amountMinor, currency: account.currency, key: chargeKey(kind, used.meterId, usage.from), at,
    periodFrom: usage.from, periodTo: usage.to, detail, actor: FEE_RUN_ACTOR,
  };
}

/**
 * The true-up of a provisional charge once valid data covers its period: the difference between
 * what the valid data costs and what was charged. Undefined while the data is not yet valid
 * over exactly that period. A true-up of zero is still a row: it closes the provisional one.
 */
export function trueUpEntry(account: FeeAccount, provisional: LedgerEntry, used: MeterUsage, tariff: ChargingTariff, at: number): ChargeEntry | undefined {
  const before = chargeDetailOf(provisional);
  if (before === undefined || used.quality !== 'valid' || used.usage.from !== provisional.periodFrom || used.usage.to !== provisional.periodTo) return undefined;
  const priced = price(account, tariff, { ...used.usage, cycleToDateWh: before.cycleToDateWh });
  const detail: ChargeDetail = { ...before, tariffId: tariff.id, quality: 'valid', wh: used.totalWh, carryWh: used.carryWh, provisionalIntervals: 0, lines: priced.lines };
  return {
    accountId: account.id, kind: 'true-up', amountMinor: -priced.amountMinor - provisional.amountMinor, currency: account.currency,
    key: chargeKey('true-up', before.meterId, used.usage.from), at, periodFrom: used.usage.from, periodTo: used.usage.to, detail, actor: FEE_RUN_ACTOR,
  };
}

/** The tier cycle (local month or year of a tiered tariff) an instant lies in; undefined for a tariff without tiers. */
export function tierCycleOf(tariff: ChargingTariff, ts: number): { readonly start: number; readonly next: number } | undefined {
  const def = tariff.definition;
  if (def.kind !== 'tiered') return undefined;
  const zone = TimeZone.named(def.timeZone);
  const l = zone.local(ts);
  // Date.UTC carries month 13 into January of the next year.
  return def.cycle === 'monthly'
    ? { start: zone.instantOf(l.year, l.month, 1), next: zone.instantOf(l.year, l.month + 1, 1) }
    : { start: zone.instantOf(l.year, 1, 1), next: zone.instantOf(l.year + 1, 1, 1) };
}

/** The detail of a row the runner wrote (charge, provisional charge, true-up); undefined for any other. */
export function chargeDetailOf(entry: LedgerEntry): ChargeDetail | undefined {
  if (entry.kind !== 'charge' && entry.kind !== 'provisional-charge' && entry.kind !== 'true-up') return undefined;
  const d = entry.detail as Partial<ChargeDetail> | undefined;
  if (typeof d?.meterId !== 'string' || typeof d.wh !== 'number' || typeof d.carryWh !== 'number' || typeof d.cycleToDateWh !== 'number') return undefined;
  return d as ChargeDetail;
}

function price(account: FeeAccount, tariff: ChargingTariff, usage: Usage): { amountMinor: number; lines: readonly unknown[] } {
  const c = tariff.charge(usage);
  if (c.currency !== account.currency) throw new TariffCurrencyError(account.id, tariff.id, account.currency, c.currency);
  return c;
}
