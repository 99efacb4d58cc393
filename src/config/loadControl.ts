/**
 * Cross-field checks of `loadControl.programs` the schema cannot express: each kind's own
 * fields present and no other kind's, one load source, rounds in time order, ids unique.
 * Meter ids are not checked here: meters may come from the simulated fleet at start.
 */
import type { ConfigIssue } from './load.js';
import type { LoadControlProgramConfig } from './schema.js';

type Kind = LoadControlProgramConfig['kind'];
type KindField = 'periods' | 'weekdays' | 'limitKw' | 'from' | 'to' | 'windowMs' | 'percent' | 'durationMs' | 'budgetKwh' | 'warnShare';

const REQUIRED: Readonly<Record<Kind, readonly KindField[]>> = {
  period: ['periods'],
  'rest-day': ['weekdays', 'limitKw'],
  suspension: ['from', 'to'],
  'floating-down': ['windowMs', 'percent', 'durationMs'],
  'monthly-energy': ['budgetKwh'],
};
const OPTIONAL: Readonly<Partial<Record<Kind, readonly KindField[]>>> = {
  suspension: ['limitKw'],
  'monthly-energy': ['warnShare'],
};
const ALL_FIELDS: readonly KindField[] = ['periods', 'weekdays', 'limitKw', 'from', 'to', 'windowMs', 'percent', 'durationMs', 'budgetKwh', 'warnShare'];

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
