import { describe, expect, it } from 'vitest';
import { MoneyFormatError, amountOf, decimalToMinor, divideRounded, formatScaled, isCurrency, kwhToWh, minorDigits, minorToDecimal, priceMicros } from '../../../../src/fees/tariffs/money.js';

describe('exact money', () => {
  it('rounds half away from zero (四舍五入), on both sides of zero', () => {
    expect([25n, 24n, 26n, -25n, -24n, -26n].map((n) => divideRounded(n, 10n))).toEqual([3n, 2n, 3n, -3n, -2n, -3n]);
    // 0.5 + 1e-30 still rounds up, 0.5 − 1e-30 down: no floats on the way.
    expect(divideRounded(5n * 10n ** 29n + 1n, 10n ** 30n)).toBe(1n);
    expect(divideRounded(5n * 10n ** 29n - 1n, 10n ** 30n)).toBe(0n);
  });

  it('prices Wh exactly: 3 345 Wh × 0.5583 CNY/kWh = 1.8675135 CNY = 186.75135 fen → 187', () => {
    expect(amountOf(3345n, priceMicros('0.5583'), 2)).toBe(187n);
    // 10⁹ Wh = 10⁶ kWh × 0.000001 CNY = 1 CNY = 100 fen, exactly.
    expect(amountOf(1_000_000_000n, priceMicros('0.000001'), 2)).toBe(100n);
    // 10¹⁵ Wh at 999999999.999999 CNY/kWh: past 2⁵³ on the way, still exact in BigInt.
    expect(amountOf(10n ** 15n, priceMicros('999999999.999999'), 2)).toBe(99_999_999_999_999_900_000_000n);
  });

  it('knows each currency\'s minor unit from ISO 4217', () => {
    expect([minorDigits('CNY'), minorDigits('EUR'), minorDigits('JPY'), minorDigits('BHD')]).toEqual([2, 2, 0, 3]);
    expect(isCurrency('CNY')).toBe(true);
    expect(isCurrency('XYZ')).toBe(false);
    expect(() => minorDigits('XYZ')).toThrow(MoneyFormatError);
  });

  it('turns a decimal string into minor units exactly, or refuses it', () => {
    expect(decimalToMinor('12.34', 'CNY')).toBe(1234);
    expect(decimalToMinor('12.3', 'CNY')).toBe(1230);
    expect(decimalToMinor('12.340', 'CNY')).toBe(1234);
    expect(decimalToMinor('-0.05', 'EUR')).toBe(-5);
    expect(decimalToMinor('500', 'JPY')).toBe(500);
    for (const bad of ['0.001', '1e3', '1,5', ' 1', '', '.5', '01']) expect(() => decimalToMinor(bad, 'CNY'), bad).toThrow(MoneyFormatError);
    expect(() => decimalToMinor('0.5', 'JPY')).toThrow(MoneyFormatError);
    expect(() => decimalToMinor('99999999999999999', 'CNY')).toThrow(MoneyFormatError);
    expect(minorToDecimal(1234, 'CNY')).toBe('12.34');
    expect(minorToDecimal(-5, 'CNY')).toBe('-0.05');
    expect(minorToDecimal(7, 'JPY')).toBe('7');
    expect(formatScaled(5n, 3)).toBe('0.005');
  });

  it('refuses a price with more than 6 decimals or a sign', () => {
    expect(priceMicros('0.558300')).toBe(558_300n);
    expect(() => priceMicros('0.5583001')).toThrow(MoneyFormatError);
    expect(() => priceMicros('-1')).toThrow(MoneyFormatError);
  });

  it('converts register kWh to Wh from the decimal the meter sent, half away from zero', () => {
    expect(kwhToWh(1234.567)).toBe(1_234_567);
    // 1234.5675 × 1000 is 1234567.4999… in binary; the decimal 1234.5675 rounds up.
    expect(kwhToWh(1234.5675)).toBe(1_234_568);
    expect(kwhToWh(0.0004)).toBe(0);
    expect(kwhToWh(-2.0005)).toBe(-2001);
    expect(() => kwhToWh(Number.NaN)).toThrow(MoneyFormatError);
  });
});
