/**
 * Money in the dashboard, exact: the API counts integer minor units beside an ISO 4217 code,
 * and the operator types and reads major units. Both ways go through decimal strings, never
 * through a binary float, so 0.1 + 0.2 yuan stays 30 fen.
 */

/** Minor-unit digits of a currency (CNY 2, JPY 0, KWD 3), from the browser's ISO 4217 data. */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export type ParsedAmount = { ok: true; minor: number } | { ok: false; reason: 'format' | 'digits' | 'positive' | 'large' };

/**
 * A positive amount typed in major units (`12`, `12.3`, `12.34`; a comma is taken as the
 * decimal point) as an integer of minor units. More decimals than the currency has are refused
 * rather than rounded: money typed is money meant.
 */
export function parseMajor(text: string, digits: number): ParsedAmount {
  const match = /^(\d+)(?:[.,](\d*))?$/.exec(text.trim());
  if (match === null) return { ok: false, reason: 'format' };
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return { ok: false, reason: 'digits' };
  const minorText = (whole + fraction.padEnd(digits, '0')).replace(/^0+(?=\d)/, '');
  if (minorText.length > 15 && BigInt(minorText) > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'large' };
  const minor = Number(minorText);
  return minor > 0 ? { ok: true, minor } : { ok: false, reason: 'positive' };
}

/** Minor units as a plain decimal string of major units: `-1234` CNY → `-12.34`. */
export function majorText(minor: number, digits: number): string {
  const sign = minor < 0 ? '-' : '';
  const units = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, '0');
  return digits === 0 ? sign + units : `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}`;
}

/** Minor units for reading, in `locale`: grouped major units, the fraction exact, and the code (`-1,234.50 CNY`). */
export function fmtMoney(minor: number | null | undefined, currency: string, locale: string): string {
  if (minor === null || minor === undefined || !Number.isSafeInteger(minor)) return '—';
  const digits = minorDigits(currency);
  const [whole = '0', fraction] = majorText(Math.abs(minor), digits).split('.');
  const grouped = new Intl.NumberFormat(locale, { useGrouping: true, maximumFractionDigits: 0 }).format(BigInt(whole));
  const point = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
  return `${minor < 0 ? '−' : ''}${grouped}${fraction === undefined ? '' : point + fraction} ${currency}`;
}
