/**
 * When a meter counts as reporting: the one definition the communication-loss rule and the
 * live overview share, so the overview never says "reporting" about a meter the rule holds
 * in communication loss. A meter is reporting while fewer than `missedIntervals` whole
 * expected intervals have passed since it was last heard from (or, never heard from, since
 * it was expected to start: when it was added, or when the rule started).
 */

/** The communication-loss detector's default: three missed intervals. */
export const DEFAULT_MISSED_INTERVALS = 3;

export interface SilenceVerdict {
  readonly silent: boolean;
  /** Whole expected intervals elapsed without data. */
  readonly missed: number;
  readonly silentForMs: number;
}

/** `lastHeardTs`: last reading received (or, for a meter never heard from, when it became expected). */
export function checkSilence(
  lastHeardTs: number,
  now: number,
  expectedIntervalMs: number,
  missedIntervals: number,
): SilenceVerdict {
  const silentForMs = Math.max(0, now - lastHeardTs);
  const missed = Math.floor(silentForMs / expectedIntervalMs);
  return { silent: missed >= missedIntervals, missed, silentForMs };
}

/** The instant a meter last heard from at `lastHeardTs` becomes silent. */
export function silentAt(lastHeardTs: number, expectedIntervalMs: number, missedIntervals: number): number {
  return lastHeardTs + expectedIntervalMs * missedIntervals;
}

/**
 * Whether a meter is reporting: heard from, and not silent. A meter never heard from (null)
 * or whose interval is unknown (terminal disabled) is not reporting.
 */
export function isReporting(lastHeardTs: number | null | undefined, now: number, expectedIntervalMs: number | undefined, missedIntervals: number): boolean {
  if (lastHeardTs === null || lastHeardTs === undefined || expectedIntervalMs === undefined) return false;
  return !checkSilence(lastHeardTs, now, expectedIntervalMs, missedIntervals).silent;
}

/**
 * The strictest setting of the enabled communication-loss rules (fewest missed intervals), so
 * a meter any of them holds silent is not counted as reporting; the detector's default when
 * none is enabled.
 */
export function missedIntervalsOf(rules: readonly { readonly params: unknown }[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const r of rules) {
    const n = (r.params as { missedIntervals?: unknown } | null)?.missedIntervals;
    if (typeof n === 'number' && n >= 1) min = Math.min(min, n);
  }
  return Number.isFinite(min) ? min : DEFAULT_MISSED_INTERVALS;
}
