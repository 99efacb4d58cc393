/**
 * 力调电费: the power-factor adjustment of 《功率因数调整电费办法》 (水利电力部、国家物价局,
 * 1983). The month's average power factor, from its active and reactive energy and rounded
 * to two decimals half up (rule 4: 取小数后二位, 四舍五入), is looked up in the table of the
 * customer's standard (0.90, 0.85 or 0.80); the rate found adjusts the month's basic plus
 * energy charges: a surcharge below the standard, a reduction above it.
 *
 * Rates are in hundredths of a percent (basis points): 250 = +2.5 %, −75 = −0.75 %.
 */

export type PowerFactorStandard = 0.9 | 0.85 | 0.8;

interface Table {
  /** Reduction at standard + 1, + 2, …; the last holds for everything above. */
  readonly reward: readonly number[];
  /** Lower limits (hundredths) of the three surcharge bands: 0.5 % per 0.01, then 1 %, then 2 %. */
  readonly halfPercentTo: number;
  readonly onePercentTo: number;
}

/**
 * Table 1 (0.90), 2 (0.85) and 3 (0.80). Below the standard each 0.01 adds 0.5 % down to
 * 0.70 / 0.65 / 0.60 (10 %), then 1 % down to 0.65 / 0.60 / 0.55 (15 %), then 2 % per 0.01.
 */
const TABLES: Readonly<Record<number, Table>> = {
  90: { reward: [15, 30, 45, 60, 75], halfPercentTo: 70, onePercentTo: 65 },
  85: { reward: [10, 20, 30, 40, 50, 65, 80, 95, 110], halfPercentTo: 65, onePercentTo: 60 },
  80: { reward: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 115, 130], halfPercentTo: 60, onePercentTo: 55 },
};

/**
 * cos φ = P / √(P² + Q²) in hundredths, rounded half up, computed exactly: k is the largest
 * integer with k − ½ ≤ 100·cos φ, i.e. (200·P)² ≥ (2k − 1)²·(P² + Q²). Undefined when both are 0.
 */
export function powerFactorHundredths(activeWh: bigint, reactiveVarh: bigint): number | undefined {
  if (activeWh === 0n && reactiveVarh === 0n) return undefined;
  const left = 40_000n * activeWh * activeWh;
  const s = activeWh * activeWh + reactiveVarh * reactiveVarh;
  for (let k = 100; k >= 1; k--) {
    const odd = BigInt(2 * k - 1);
    if (left >= odd * odd * s) return k;
  }
  return 0;
}

/** The adjustment rate, basis points, for a power factor in hundredths against a standard. */
export function adjustmentBasisPoints(standard: PowerFactorStandard, pf: number): number {
  const std = Math.round(standard * 100);
  const t = TABLES[std];
  if (t === undefined) throw new RangeError(`no power-factor table for standard ${standard}`);
  if (pf >= std) return pf === std ? 0 : -(t.reward[Math.min(pf - std, t.reward.length) - 1] ?? 0);
  if (pf >= t.halfPercentTo) return (std - pf) * 50;
  const atHalf = (std - t.halfPercentTo) * 50;
  if (pf >= t.onePercentTo) return atHalf + (t.halfPercentTo - pf) * 100;
  return atHalf + (t.halfPercentTo - t.onePercentTo) * 100 + (t.onePercentTo - pf) * 200;
}
