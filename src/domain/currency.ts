/**
 * ISO 4217 currencies and their minor units, for money held as integer minor units (fen for
 * CNY) everywhere: the ledger, tariffs, commands that top up a meter's own credit.
 */

let known: ReadonlySet<string> | undefined;

/** Whether `code` is an ISO 4217 code this runtime knows (Intl formats any well-formed code, known or not: the list decides). */
export function isCurrency(code: string): boolean {
  known ??= new Set(Intl.supportedValuesOf('currency'));
  return known.has(code);
}

/** Decimals of the currency's minor unit (CNY and EUR 2, JPY 0, BHD 3); undefined for a code that is no currency. */
export function currencyDigits(code: string): number | undefined {
  if (!isCurrency(code)) return undefined;
  return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
}

/**
 * A scaled amount (raw × 10^scale units of `currency`, as a meter keeps it) in minor units;
 * undefined when `currency` is no ISO 4217 code or the amount is finer than a minor unit (a
 * meter that keeps tenths of a fen), which no ledger row can hold.
 */
export function minorUnitsOf(amount: { readonly raw: number; readonly scale: number; readonly currency: string }): number | undefined {
  const digits = currencyDigits(amount.currency.trim().toUpperCase());
  if (digits === undefined) return undefined;
  const k = amount.scale + digits;
  const minor = k >= 0 ? amount.raw * 10 ** k : amount.raw / 10 ** -k;
  return Number.isSafeInteger(minor) ? minor : undefined;
}
