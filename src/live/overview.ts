/**
 * The live overview the dashboard opens on: total load, today's collection success rate,
 * and every area with its load (summed over its subtree), limit, reporting meters, open
 * alarms and state. Computed in one pass over meters and one roll-up over areas.
 *
 * "Reporting" is the communication-loss rule's own freshness (src/rules/freshness.ts): a
 * meter counts while it has missed fewer than the rule's intervals, so the overview and the
 * open communication-loss alarms never disagree.
 */
import type { Area, AreaId, Explanation, Meter } from '../domain/index.js';
import { isReporting } from '../rules/freshness.js';
import type { LatestValues } from './latest.js';
import { ABNORMAL_AREA_DETECTOR, type OpenAlarmIndex } from './openAlarms.js';

export interface OverviewArea {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly parentId: string | null;
  /** Sum of the `power.active` of the subtree's reporting meters; null when none reports. */
  readonly loadKw: number | null;
  /** transformerKva × 0.9 for transformer areas, else null. */
  readonly limitKw: number | null;
  readonly meters: number;
  readonly metersReporting: number;
  readonly openAlarms: number;
  readonly state: 'normal' | 'alarm' | 'abnormal';
  readonly abnormal: { readonly ruleId: string; readonly explanation: string; readonly explanationData: Explanation | null } | null;
}

export interface Overview {
  readonly ts: number;
  readonly totalKw: number;
  readonly collectionSuccessTodayPct: number | null;
  readonly areas: readonly OverviewArea[];
}

export interface OverviewSources {
  readonly areas: () => readonly Area[];
  readonly meters: () => readonly Meter[];
  readonly live: Pick<LatestValues, 'value' | 'lastHeard'>;
  readonly alarms: Pick<OpenAlarmIndex, 'all'>;
  /** Today's collected ÷ expected over every terminal, 0..1; null when nothing was expected. */
  readonly collectionRateToday: () => number | null;
  /** Meters never summed into loads (supply meters, which measure what the customers draw). */
  readonly excludedMeters: ReadonlySet<string>;
  /** How often a meter's data is expected (undefined: not expected, e.g. terminal disabled). */
  readonly expectedIntervalMs: (meter: Meter) => number | undefined;
  /** Missed intervals after which a meter is silent (the communication-loss rules' setting). */
  readonly missedIntervals: () => number;
  readonly now?: () => number;
}

/** Power factor that turns a transformer's kVA rating into its kW limit (the contract's 0.9). */
export const TRANSFORMER_LIMIT_PF = 0.9;

export function liveOverview(s: OverviewSources): Overview {
  const now = (s.now ?? Date.now)();
  const areas = s.areas();
  const own = new Map<AreaId, { load: number; meters: number; reporting: number; alarms: number }>();
  for (const a of areas) own.set(a.id, { load: 0, meters: 0, reporting: 0, alarms: 0 });
  const missed = s.missedIntervals();
  let totalKw = 0;
  for (const m of s.meters()) {
    if (s.excludedMeters.has(m.id)) continue;
    const interval = s.expectedIntervalMs(m);
    const reporting = isReporting(s.live.lastHeard(m.id), now, interval, missed);
    const kw = reporting ? freshKw(s, m, now, interval, missed) : undefined;
    if (kw !== undefined) totalKw += kw;
    const acc = m.areaId === null ? undefined : own.get(m.areaId);
    if (acc === undefined) continue;
    acc.meters += 1;
    if (reporting) acc.reporting += 1;
    if (kw !== undefined) acc.load += kw;
  }
  const abnormal = new Map<string, NonNullable<OverviewArea['abnormal']>>();
  for (const al of s.alarms.all()) {
    if (al.subjectKind === 'area' && al.detector === ABNORMAL_AREA_DETECTOR && !abnormal.has(al.subjectId)) abnormal.set(al.subjectId, { ruleId: al.ruleId, explanation: al.explanation, explanationData: al.explanationData });
    const acc = al.areaId === null ? undefined : own.get(al.areaId as AreaId);
    if (acc !== undefined) acc.alarms += 1;
  }
  // Roll every area's own figures up to each ancestor (bounded depth guards a corrupt cycle).
  const total = new Map([...own].map(([id, v]) => [id, { ...v }]));
  const byId = new Map(areas.map((a) => [a.id, a]));
  for (const a of areas) {
    const mine = own.get(a.id);
    if (mine === undefined) continue;
    let p = a.parentId;
    for (let hops = 0; p !== null && hops < 64; hops++) {
      const t = total.get(p);
      if (t !== undefined) {
        t.load += mine.load;
        t.meters += mine.meters;
        t.reporting += mine.reporting;
        t.alarms += mine.alarms;
      }
      p = byId.get(p)?.parentId ?? null;
    }
  }
  const rate = s.collectionRateToday();
  return {
    ts: now,
    totalKw,
    collectionSuccessTodayPct: rate === null ? null : rate * 100,
    areas: areas.map((a) => {
      const t = total.get(a.id) ?? { load: 0, meters: 0, reporting: 0, alarms: 0 };
      const ab = abnormal.get(a.id) ?? null;
      return {
        id: a.id, name: a.name, kind: a.kind, parentId: a.parentId,
        loadKw: t.reporting === 0 ? null : t.load,
        limitKw: a.kind === 'transformer' && a.transformerKva !== null ? a.transformerKva * TRANSFORMER_LIMIT_PF : null,
        meters: t.meters,
        metersReporting: t.reporting,
        openAlarms: t.alarms,
        state: ab !== null ? 'abnormal' : t.alarms > 0 ? 'alarm' : 'normal',
        abnormal: ab,
      };
    }),
  };
}

/** The meter's latest power when it passes the same freshness rule by its device time. */
function freshKw(s: OverviewSources, m: Meter, now: number, interval: number | undefined, missed: number): number | undefined {
  const p = s.live.value(m.id, 'power.active');
  if (p === undefined || p.quality === 'bad' || !isReporting(p.ts, now, interval, missed)) return undefined;
  return p.value;
}
