/**
 * The meter's own credit against the station's balance, in integer minor units: agree within the
 * tolerance, a mismatch with its sign, and amounts that cannot be compared.
 */
import { describe, expect, it } from 'vitest';
import { minorUnitsOf } from '../../../src/domain/currency.js';
import { creditMismatch } from '../../../src/fees/meterAccount.js';

const cny = (raw: number, scale = -2) => ({ raw, scale, currency: 'CNY' });

describe('creditMismatch', () => {
  it('agrees within the tolerance, inclusive', () => {
    expect(creditMismatch({ amountMinor: 12_345, currency: 'CNY' }, cny(12_350), 5)).toEqual({ kind: 'agree', differenceMinor: 5 });
  });

  it('reports a mismatch beyond it, meter minus station, from any scale of the meter', () => {
    expect(creditMismatch({ amountMinor: 10_000, currency: 'CNY' }, cny(80, 0), 100)).toEqual({ kind: 'mismatch', differenceMinor: -2_000, meterMinor: 8_000, stationMinor: 10_000 });
    expect(creditMismatch({ amountMinor: 1_000, currency: 'CNY' }, cny(120_000, -3), 0)).toMatchObject({ kind: 'mismatch', differenceMinor: 11_000 });
  });

  it('cannot compare another currency or an amount finer than a minor unit', () => {
    expect(creditMismatch({ amountMinor: 100, currency: 'EUR' }, cny(100), 0).kind).toBe('incomparable');
    expect(creditMismatch({ amountMinor: 100, currency: 'CNY' }, cny(1_005, -3), 0).kind).toBe('incomparable');
  });

  it('counts a currency without minor units (JPY) in whole units', () => {
    expect(minorUnitsOf({ raw: 500, scale: 0, currency: 'JPY' })).toBe(500);
    expect(minorUnitsOf({ raw: 500, scale: 0, currency: 'XYZ' })).toBeUndefined();
  });
});
