/**
 * Exact money. Prices are decimal strings (currency units, at most 6 decimals), energy is an
 * integer count of Wh, and an amount is an integer count of the currency's minor unit (fen,
 * cent; yen has none). Arithmetic is BigInt; a charge line is rounded once, half away from
 * zero (四舍五入), and a total is the sum of its rounded lines.
 */
import { currencyDigits, isCurrency } from '../../domain/currency.js';

export { isCurrency };

/** Decimals a price may carry. */
export const PRICE_DECIMALS = 6;
const PRICE_SCALE = 10n ** BigInt(PRICE_DECIMALS);

const DECIMAL = /^(-)?(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** A decimal string that cannot be used as money or a price. */
export class MoneyFormatError extends Error {
  readonly code = 'MONEY_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'MoneyFormatError';
  }
}

/** Digits of the currency's minor unit per ISO 4217: CNY 2, JPY 0, BHD 3. */
export function minorDigits(currency: string): number {
  const digits = currencyDigits(currency);
  if (digits === undefined) throw new MoneyFormatError(`${JSON.stringify(currency)} is not an ISO 4217 currency code`);
  return digits;
}

/**
 * `"12.34"` CNY → 1234; exact or not at all: more decimals than the currency has (`"0.001"`
 * CNY) is an error, never rounded. A leading minus is allowed.
 */
export function decimalToMinor(text: string, currency: string): number {
  const digits = minorDigits(currency);
  const scaled = parseScaled(text, digits, `an amount in ${currency}`);
  if (scaled > BigInt(Number.MAX_SAFE_INTEGER) || scaled < -BigInt(Number.MAX_SAFE_INTEGER)) throw new MoneyFormatError(`${text} ${currency} is too large`);
  return Number(scaled);
}

/** 1234 CNY → `"12.34"`; -5 JPY → `"-5"`. */
export function minorToDecimal(amountMinor: number | bigint, currency: string): string {
  return formatScaled(BigInt(amountMinor), minorDigits(currency));
}

/** A price string as an integer count of 10⁻⁶ currency units. */
export function priceMicros(price: string): bigint {
  if (price.startsWith('-')) throw new MoneyFormatError(`price ${price} is negative`);
  return parseScaled(price, PRICE_DECIMALS, 'a price');
}

/**
 * Round n / d half away from zero (d > 0): 2.5 → 3, −2.5 → −3, 2.4999 → 2.
 */
export function divideRounded(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= d) return n < 0n ? q - 1n : q + 1n;
  return q;
}

/**
 * `quantity` (in thousandths: Wh for kWh, W for kW, VA for kVA) at `price` per whole unit,
 * in minor units of a currency with `digits` decimals, rounded once.
 * amount = quantity/1000 × micros/10⁶ × 10^digits.
 */
export function amountOf(quantityMilli: bigint, micros: bigint, digits: number): bigint {
  return divideRounded(quantityMilli * micros * 10n ** BigInt(digits), 1000n * PRICE_SCALE);
}

/**
 * A register value in kWh (a float from the meter) to integer Wh: to the nearest Wh, half
 * away from zero. Convert each register reading and subtract the converted readings, so
 * consecutive deltas sum to the delta of the whole span; never round the deltas themselves.
 */
export function kwhToWh(kwh: number): number {
  if (!Number.isFinite(kwh) || Math.abs(kwh) >= 1e15) throw new MoneyFormatError(`register value ${kwh} kWh is not a usable number`);
  // The shortest decimal that reads back as the same double is the value the meter sent
  // (1234.5675, not 1234.567499…); round that decimal, not the binary product kwh × 1000.
  const text = Math.abs(kwh) < 1e-6 ? '0' : String(Math.abs(kwh));
  const [whole = '0', frac = ''] = text.split('.');
  let wh = Number(whole) * 1000 + Number(frac.slice(0, 3).padEnd(3, '0'));
  if ((frac[3] ?? '0') >= '5') wh += 1;
  return kwh < 0 ? -wh : wh;
}

/** n × 10^-scale as a decimal string with exactly `scale` decimals: (12345n, 3) → `"12.345"`. */
export function formatScaled(n: bigint, scale: number): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${frac}` : ''}`;
}

function parseScaled(text: string, scale: number, what: string): bigint {
  const m = DECIMAL.exec(text);
  if (m === null) throw new MoneyFormatError(`${JSON.stringify(text)} is not a decimal number (expected digits with an optional point, e.g. "0.5583")`);
  const frac = m[3] ?? '';
  const significant = frac.replace(/0+$/, '');
  if (significant.length > scale) throw new MoneyFormatError(`${text} has more decimals than ${what} may carry (${scale})`);
  const value = BigInt(`${m[2] ?? '0'}${significant.padEnd(scale, '0')}`);
  return m[1] === '-' ? -value : value;
}
