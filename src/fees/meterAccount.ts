/**
 * Meters that keep their own account (本地费控: DLMS payment metering, read through the
 * command service's `read-account`): their credit in the station's money, and whether it
 * agrees with the station's own balance. Pure: the fee runner reads, compares and raises the
 * alarm (detector METER_CREDIT_MISMATCH) from the result.
 *
 * Money here is as everywhere in fees: integer minor units of an ISO 4217 currency. A meter's
 * amount is raw × 10^scale in its currency; in minor units that is raw × 10^(scale + digits),
 * digits being the currency's minor unit exponent (2 for CNY and EUR, 0 for JPY).
 */
import type { AccountAmount } from '../../protocols/adapter.js';
import { minorUnitsOf } from '../domain/currency.js';
import type { Money } from './model.js';

/** The alarm detector for a meter whose own credit and the station's balance disagree. */
export const METER_CREDIT_MISMATCH = 'meter-credit-mismatch';

export type CreditComparison =
  | { readonly kind: 'agree'; readonly differenceMinor: number }
  /** The meter holds more (positive) or less (negative) than the station's balance, beyond the tolerance. */
  | { readonly kind: 'mismatch'; readonly differenceMinor: number; readonly meterMinor: number; readonly stationMinor: number }
  /** They cannot be compared: another currency, or an amount no minor unit holds. */
  | { readonly kind: 'incomparable'; readonly reason: string };

/**
 * Compares the station's balance with the meter's available
 * credit: agree within `toleranceMinor` (inclusive), else a mismatch with the difference,
 * meter minus station.
 */
export function creditMismatch(
  stationBalance: Money,
  meterAvailableCredit: Pick<AccountAmount, 'raw' | 'scale' | 'currency'>,
  toleranceMinor: number,
): CreditComparison {
  const meterCurrency = meterAvailableCredit.currency.trim().toUpperCase();
  if (meterCurrency !== stationBalance.currency.toUpperCase()) {
    return { kind: 'incomparable', reason: `the meter counts in ${JSON.stringify(meterAvailableCredit.currency)}, the account in ${stationBalance.currency}` };
  }
  const meterMinor = minorUnitsOf(meterAvailableCredit);
  if (meterMinor === undefined) {
    return { kind: 'incomparable', reason: `${meterAvailableCredit.raw}e${meterAvailableCredit.scale} ${meterCurrency} is no whole number of minor units` };
  }
  const differenceMinor = meterMinor - stationBalance.amountMinor;
  return Math.abs(differenceMinor) <= toleranceMinor
    ? { kind: 'agree', differenceMinor }
    : { kind: 'mismatch', differenceMinor, meterMinor, stationMinor: stationBalance.amountMinor };
}
