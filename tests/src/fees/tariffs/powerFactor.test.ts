import { describe, expect, it } from 'vitest';
import { adjustmentBasisPoints, powerFactorHundredths } from '../../../../src/fees/tariffs/powerFactor.js';

describe('the power-factor adjustment tables (《功率因数调整电费办法》)', () => {
  it('computes cos φ from active and reactive energy, rounded to two decimals half up', () => {
    expect(powerFactorHundredths(3n, 4n)).toBe(60); // 3 / 5
    expect(powerFactorHundredths(5n, 0n)).toBe(100);
    expect(powerFactorHundredths(0n, 5n)).toBe(0);
    expect(powerFactorHundredths(0n, 0n)).toBeUndefined();
    // 855 / √(855² + 518²) = 0.85528 → 0.86;  855 / √(855² + 519²) = 0.85484 → 0.85
    expect(powerFactorHundredths(855n, 518n)).toBe(86);
    expect(powerFactorHundredths(855n, 519n)).toBe(85);
  });

  it('follows table 1 (standard 0.90)', () => {
    const at = (pf: number) => adjustmentBasisPoints(0.9, pf);
    // reductions 0.91…0.95+: 0.15, 0.30, 0.45, 0.60, 0.75 %
    expect([100, 96, 95, 94, 93, 92, 91, 90].map(at)).toEqual([-75, -75, -75, -60, -45, -30, -15, 0]);
    // 0.5 % per 0.01 down to 0.70 (10 %), 1 % down to 0.65 (15 %), then 2 %: 0.60 → 25 %
    expect([89, 85, 70, 69, 65, 64, 60].map(at)).toEqual([50, 250, 1000, 1100, 1500, 1700, 2500]);
  });

  it('follows table 2 (standard 0.85)', () => {
    const at = (pf: number) => adjustmentBasisPoints(0.85, pf);
    expect([86, 90, 91, 92, 93, 94, 99].map(at)).toEqual([-10, -50, -65, -80, -95, -110, -110]);
    expect([85, 84, 65, 64, 60, 59].map(at)).toEqual([0, 50, 1000, 1100, 1500, 1700]);
  });

  it('follows table 3 (standard 0.80)', () => {
    const at = (pf: number) => adjustmentBasisPoints(0.8, pf);
    expect([81, 90, 91, 92, 100].map(at)).toEqual([-10, -100, -115, -130, -130]);
    expect([80, 79, 60, 59, 55, 54].map(at)).toEqual([0, 50, 1000, 1100, 1500, 1700]);
  });
});
