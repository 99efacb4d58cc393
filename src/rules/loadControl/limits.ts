/**
 * What each kind of program holds the load to at an instant (DESIGN.md, load management
 * vocabulary): pure functions of the program, the time and what the evaluator remembers.
 * Station local time is UTC + `utcOffsetMinutes` (fixed offset, no DST), as everywhere else.
 *
 * - period (时段功控): the limit of the time-of-day period the instant falls in; a period whose
 *   `from` is after its `to` wraps midnight; outside every period there is no limit.
 * - rest-day (厂休控): `limitKw` on the configured weekdays.
 * - suspension (营业报停控): `limitKw` (default 0) from `from` to `to`, both days inclusive.
 * - floating-down (当前功率下浮控): the mean of the load samples of the `windowMs` before arming,
 *   lowered by `percent`, for `durationMs` from arming.
 * - monthly-energy (月电控): the month's energy (energy.active.import deltas counted in the
 *   station-local month, measure.ts) against `budgetKwh`; the alarm comes at `warnShare` of it
 *   (default 0.8), the rounds once it is exceeded.
 * - purchase-energy (购电控): the energy counted since the program started against the kWh
 *   purchased (the configured load and every top-up); the rounds once nothing remains
 *   (remaining ≤ 0), the restore as soon as a top-up leaves some (remaining > 0). The warnings
 *   at `warnKwh` remaining are the evaluator's, one per crossing.
 */
import type { LoadControlProgramConfig } from '../../config/schema.js';
import { renderExplanation, say, term, type ExplanationPart } from '../explanation.js';

export interface Target {
  /** The figure the load is held to (kW, or kWh for monthly-energy); undefined: no limit now. */
  readonly limit: number | undefined;
  /** monthly-energy: the figure at which the alarm is raised before the budget is exceeded. */
  readonly warnAt?: number;
  /**
   * purchase-energy: a bought budget is used up at the limit itself, not only past it, and the
   * load is under only below it; no hysteresis band, as energy counted never flaps back.
   */
  readonly exhaustedAtLimit?: true;
  readonly unit: 'kW' | 'kWh';
  /** Which rule set the limit, for explanations ("period 08:00–12:00"), in English. */
  readonly basis: string;
  /** The same as explanation data, for the reader's language. */
  readonly basisData: ExplanationPart;
}

/** A basis in both forms (English text and data) from its data. */
export function basisOf(part: ExplanationPart): Pick<Target, 'basis' | 'basisData'> {
  return { basis: renderExplanation({ ref: 0, parts: [part] }, 'en'), basisData: part };
}

/** What the evaluator remembers for the kinds that need memory. */
export interface LimitMemory {
  /** floating-down: when the program was armed and the limit fixed then (null until there were samples). */
  readonly floating?: { readonly armedAt: number; readonly limitKw: number | null } | null;
  /** purchase-energy: every kWh purchased so far (the configured load and the top-ups). */
  readonly purchasedKwh?: number;
}

export const DEFAULT_WARN_SHARE = 0.8;
const MINUTE = 60_000;

export function targetAt(p: LoadControlProgramConfig, t: number, utcOffsetMinutes: number, memory: LimitMemory = {}): Target {
  const local = new Date(t + utcOffsetMinutes * MINUTE);
  switch (p.kind) {
    case 'period': {
      const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
      const period = (p.periods ?? []).find((x) => inPeriod(minute, clockMinutes(x.from), clockMinutes(x.to)));
      return period === undefined
        ? { limit: undefined, unit: 'kW', ...basisOf(say('lc-basis.outside-periods')`outside every period`) }
        : { limit: period.limitKw, unit: 'kW', ...basisOf(say('lc-basis.period')`period ${period.from}–${period.to}`) };
    }
    case 'rest-day': {
      const day = local.getUTCDay();
      return (p.weekdays ?? []).includes(day)
        ? { limit: p.limitKw, unit: 'kW', ...basisOf(say('lc-basis.rest-day')`rest day (${term(WEEKDAYS[day] ?? String(day))})`) }
        : { limit: undefined, unit: 'kW', ...basisOf(say('lc-basis.not-rest-day')`not a rest day`) };
    }
    case 'suspension': {
      const date = local.toISOString().slice(0, 10);
      const inside = p.from !== undefined && p.to !== undefined && date >= p.from && date <= p.to;
      return inside
        ? { limit: p.limitKw ?? 0, unit: 'kW', ...basisOf(say('lc-basis.suspension')`suspension ${p.from ?? ''} to ${p.to ?? ''}`) }
        : { limit: undefined, unit: 'kW', ...basisOf(say('lc-basis.outside-suspension')`outside the suspension`) };
    }
    case 'floating-down': {
      const f = memory.floating;
      const live = f !== undefined && f !== null && f.limitKw !== null && t >= f.armedAt && t < f.armedAt + (p.durationMs ?? 0);
      return live
        ? { limit: f.limitKw, unit: 'kW', ...basisOf(say('lc-basis.floating')`floating-down ${String(p.percent ?? 0)} % under the ${String(Math.round((p.windowMs ?? 0) / MINUTE))}-min average before arming`) }
        : { limit: undefined, unit: 'kW', ...basisOf(f === undefined || f === null ? say('lc-basis.floating-unarmed')`floating-down not armed` : say('lc-basis.floating-outside')`outside the floating-down span`) };
    }
    case 'monthly-energy': {
      const budget = p.budgetKwh;
      return {
        limit: budget,
        ...(budget === undefined ? {} : { warnAt: budget * (p.warnShare ?? DEFAULT_WARN_SHARE) }),
        unit: 'kWh',
        ...basisOf(say('lc-basis.monthly')`monthly budget ${String(budget ?? 0)} kWh`),
      };
    }
    case 'purchase-energy': {
      const purchased = memory.purchasedKwh ?? p.purchasedKwh ?? 0;
      return { limit: purchased, exhaustedAtLimit: true, unit: 'kWh', ...basisOf(say('lc-basis.purchased')`purchased ${String(purchased)} kWh`) };
    }
  }
}

/** Mean of the samples in [armedAt − windowMs, armedAt], lowered by `percent`; null without samples. */
export function floatingLimit(samples: readonly { readonly t: number; readonly kw: number }[], armedAt: number, windowMs: number, percent: number): number | null {
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    if (s.t < armedAt - windowMs || s.t > armedAt) continue;
    sum += s.kw;
    n++;
  }
  return n === 0 ? null : (sum / n) * (1 - percent / 100);
}

/** Station-local month of an instant, `YYYY-MM`. */
export function monthOf(t: number, utcOffsetMinutes: number): string {
  return new Date(t + utcOffsetMinutes * MINUTE).toISOString().slice(0, 7);
}

/** `HH:MM` → minutes since midnight (24:00 → 1440). */
export function clockMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function inPeriod(minute: number, from: number, to: number): boolean {
  if (from === to) return true; // a period from a time to itself covers the whole day
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

