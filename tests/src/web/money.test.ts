/** The dashboard's money: major units typed become exact minor units, and back, by decimal strings only. */
import { describe, expect, it } from 'vitest';
import { fmtMoney, majorText, minorDigits, parseMajor } from '../../../src/web/money.js';

describe('dashboard money', () => {
  it('turns typed major units into exact minor units, where a float would not', () => {
    // 19.99 * 100 is 1998.9999999999998 in binary floating point.
    expect(parseMajor('19.99', 2)).toEqual({ ok: true, minor: 1999 });
    expect(parseMajor('0.29', 2)).toEqual({ ok: true, minor: 29 });
    expect(parseMajor('12', 2)).toEqual({ ok: true, minor: 1200 });
    expect(parseMajor(' 12,5 ', 2)).toEqual({ ok: true, minor: 1250 });
    expect(parseMajor('1500', 0)).toEqual({ ok: true, minor: 1500 });
    expect(parseMajor('90071992547409.91', 2)).toEqual({ ok: true, minor: 9_007_199_254_740_991 });
  });

  it('refuses what is not a positive amount with the currency\'s decimals, saying why', () => {
    expect(parseMajor('1.234', 2)).toEqual({ ok: false, reason: 'digits' });
    expect(parseMajor('1.5', 0)).toEqual({ ok: false, reason: 'digits' });
    expect(parseMajor('0.00', 2)).toEqual({ ok: false, reason: 'positive' });
    for (const bad of ['-5', '1e3', '', '12.3.4', 'abc', '0x10']) expect(parseMajor(bad, 2)).toEqual({ ok: false, reason: 'format' });
    expect(parseMajor('90071992547409.92', 2)).toEqual({ ok: false, reason: 'large' });
  });

  it('writes minor units back as major units exactly, in the reader\'s locale', () => {
    expect([majorText(-1234, 2), majorText(5, 2), majorText(1500, 0), majorText(7, 3)]).toEqual(['-12.34', '0.05', '1500', '0.007']);
    expect([minorDigits('CNY'), minorDigits('JPY'), minorDigits('KWD')]).toEqual([2, 0, 3]);
    expect(fmtMoney(-123_456_789, 'CNY', 'en-GB')).toBe('−1,234,567.89 CNY');
    expect(fmtMoney(9_007_199_254_740_991, 'CNY', 'zh-CN')).toBe('90,071,992,547,409.91 CNY');
    expect(fmtMoney(null, 'CNY', 'en-GB')).toBe('—');
  });
});
