/**
 * Figures of a load curve: energy, peak, valley, average, load factor, maximum demand.
 * Pure: a function of the buckets. Missing buckets are counted, never filled in.
 */

export interface LoadSummary {
  /** ∑ bucket average kW × bucket hours: the energy the curve covers, kWh. */
  readonly energyKwh: number;
  readonly peak: { readonly value: number; readonly ts: number } | null;
  readonly valley: { readonly value: number; readonly ts: number } | null;
  /** Mean of the buckets present, kW. */
  readonly average: number | null;
  /** average ÷ peak; null when there is no positive peak. */
  readonly loadFactor: number | null;
  /** Highest bucket average (the demand over one bucket, 15 min for profiles), kW. */
  readonly maxDemand: { readonly value: number; readonly ts: number } | null;
  /** Buckets the period holds. */
  readonly intervals: number;
  /** Buckets without any reading. */
  readonly missingIntervals: number;
}

export function summarize(points: readonly { readonly ts: number; readonly value: number }[], stepMs: number, intervals: number): LoadSummary {
  let peak: { value: number; ts: number } | null = null;
  let valley: { value: number; ts: number } | null = null;
  let sum = 0;
  for (const p of points) {
    sum += p.value;
    // The first of equal extremes wins: the earliest time is reported.
    if (peak === null || p.value > peak.value) peak = { value: p.value, ts: p.ts };
    if (valley === null || p.value < valley.value) valley = { value: p.value, ts: p.ts };
  }
  const average = points.length === 0 ? null : sum / points.length;
  return {
    energyKwh: (sum * stepMs) / 3_600_000,
    peak,
    valley,
    average,
    loadFactor: average === null || peak === null || peak.value <= 0 ? null : average / peak.value,
    maxDemand: peak,
    intervals,
    missingIntervals: Math.max(0, intervals - points.length),
  };
}
