/**
 * Cross-field checks of `loadControl.programs` the schema cannot express: each kind's own
 * fields present and no other kind's, one load source, rounds in time order, ids unique.
 * Meter ids are not checked here: meters may come from the simulated fleet at start.
 * Also the one reading of a purchased kWh figure as exact Wh, for the config and the API.
 */
import type { ConfigIssue } from './load.js';
import type { LoadControlProgramConfig } from './schema.js';

type Kind = LoadControlProgramConfig['kind'];
type KindField = 'periods' | 'weekdays' | 'limitKw' | 'from' | 'to' | 'windowMs' | 'percent' | 'durationMs' | 'budgetKwh' | 'warnShare' | 'purchasedKwh' | 'warnKwh';

const REQUIRED: Readonly<Record<Kind, readonly KindField[]>> = {
  period: ['periods'],
  'rest-day': ['weekdays', 'limitKw'],
  suspension: ['from', 'to'],
  'floating-down': ['windowMs', 'percent', 'durationMs'],
  'monthly-energy': ['budgetKwh'],
  'purchase-energy': [],
};
const OPTIONAL: Readonly<Partial<Record<Kind, readonly KindField[]>>> = {
  suspension: ['limitKw'],
  'monthly-energy': ['warnShare'],
  'purchase-energy': ['purchasedKwh', 'warnKwh'],
};
const ALL_FIELDS: readonly KindField[] = ['periods', 'weekdays', 'limitKw', 'from', 'to', 'windowMs', 'percent', 'durationMs', 'budgetKwh', 'warnShare', 'purchasedKwh', 'warnKwh'];

/**
 * A kWh figure with at most three decimals as the whole Wh it is exactly, so purchases add up
 * without binary-float drift; undefined for a figure finer than 1 Wh, negative or not finite.
 * A decimal literal and the quotient of its Wh by 1000 round to the same double, hence the test.
 */
export function wattHoursOf(kwh: number): number | undefined {
  if (!Number.isFinite(kwh) || kwh < 0) return undefined;
  const wh = Math.round(kwh * 1000);
  return Number.isSafeInteger(wh) && wh / 1000 === kwh ? wh : undefined;
}

/** `areaLoadFreshMs`: the station's one freshness of area load (`station.areaLoadFreshMs`). */
export function checkLoadControl(programs: readonly LoadControlProgramConfig[], areaLoadFreshMs: number): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ids = new Set<string>();
  programs.forEach((p, i) => {
    const at = `loadControl.programs[${i}]`;
    if (ids.has(p.id)) issues.push({ path: `${at}.id`, message: `duplicate program id ${JSON.stringify(p.id)}` });
    ids.add(p.id);
    const sources = [p.meters, p.area, p.totalMeter].filter((x) => x !== undefined).length;
    if (sources !== 1) issues.push({ path: at, message: 'give exactly one load source: meters, area or totalMeter' });
    const allowed = new Set([...REQUIRED[p.kind], ...(OPTIONAL[p.kind] ?? [])]);
    for (const f of REQUIRED[p.kind]) if (p[f] === undefined) issues.push({ path: `${at}.${f}`, message: `required for a ${p.kind} program` });
    for (const f of ALL_FIELDS) if (p[f] !== undefined && !allowed.has(f)) issues.push({ path: `${at}.${f}`, message: `not used by a ${p.kind} program` });
    // A program's own freshness would judge the load differently from the overload rule and the overview.
    if (p.freshMs !== undefined && p.freshMs !== areaLoadFreshMs) {
      issues.push({ path: `${at}.freshMs`, message: `superseded by station.areaLoadFreshMs (${areaLoadFreshMs}): set the freshness there, for every area load, or remove this key` });
    }
    if (p.purchasedKwh !== undefined && wattHoursOf(p.purchasedKwh) === undefined) issues.push({ path: `${at}.purchasedKwh`, message: 'give kWh with at most 3 decimals' });
    if (p.warnKwh !== undefined && new Set(p.warnKwh).size !== p.warnKwh.length) issues.push({ path: `${at}.warnKwh`, message: 'thresholds must differ' });
    if (p.from !== undefined && p.to !== undefined && p.from > p.to) issues.push({ path: `${at}.to`, message: 'must not be before from' });
    p.rounds.forEach((r, j) => {
      const ra = `${at}.rounds[${j}]`;
      const prev = p.rounds[j - 1];
      if (prev !== undefined && r.afterMs <= prev.afterMs) issues.push({ path: `${ra}.afterMs`, message: 'must be later than the previous round' });
      if (r.action === 'set-limit' && r.limitKw === undefined) issues.push({ path: `${ra}.limitKw`, message: 'required for a set-limit round' });
      if (r.action !== 'set-limit' && r.limitKw !== undefined) issues.push({ path: `${ra}.limitKw`, message: 'only for a set-limit round' });
    });
  });
  return issues;
}
