/**
 * The live overview the dashboard opens on: total load, today's collection success rate,
 * and every area with its load (summed over its subtree), limit, reporting meters, open
 * alarms and state. Computed in one pass over meters and one roll-up over areas.
 *
 * The load and the limit are the station's one area-load definition (src/domain/areaLoad.ts),
 * the same the overload rule judges, so the overview never calls an area normal while the
 * rule holds it overloaded. "Reporting" is the communication-loss rule's own freshness (src/rules/freshness.ts): a
 * meter counts while it has missed fewer than the rule's intervals, so the overview and the
 * open communication-loss alarms never disagree.
 */
import {
  addAreaLoadCounts, areaLoadOf, countPower, emptyAreaLoadCounts,
  type Area, type AreaId, type AreaLoadCounts, type AreaLoadSettings, type Explanation, type Meter,
} from '../domain/index.js';
import { isReporting } from '../rules/freshness.js';
import type { LatestValues } from './latest.js';
import { ABNORMAL_AREA_DETECTOR, type OpenAlarmIndex } from './openAlarms.js';

export interface OverviewArea {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly parentId: string | null;
  /** Sum of the fresh `power.active` of the subtree's meters; null when none is fresh. */
  readonly loadKw: number | null;
  /** transformerKva × the station's power factor for transformer areas, else null. */
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
  readonly collectionRateToday: number | null;
  /** The station's one area-load definition: freshness, power factor, meters left out (supply meters). */
  readonly areaLoad: AreaLoadSettings;
  /** How often a meter's data is expected (undefined: not expected, e.g. terminal disabled). */
  readonly expectedIntervalMs: (meter: Meter) => number | undefined;
  /** Missed intervals after which a meter is silent (the communication-loss rules' setting). */
  readonly missedIntervals: () => number;
  readonly now?: () => number;
}

export function liveOverview(s: OverviewSources): Overview {
  const now = (s.now ?? Date.now)();
  const areas = s.areas();
  const own = new Map<AreaId, Figures>();
  for (const a of areas) own.set(a.id, emptyFigures());
  const missed = s.missedIntervals();
  const { excluded, freshMs, powerFactor } = s.areaLoad;
  const total = emptyAreaLoadCounts();
  for (const m of s.meters()) {
    if (excluded.has(m.id)) continue;
    const power = s.live.value(m.id, 'power.active');
    countPower(total, power, now, freshMs);
    const acc = m.areaId === null ? undefined : own.get(m.areaId);
    if (acc === undefined) continue;
    countPower(acc.load, power, now, freshMs);
    if (isReporting(s.live.lastHeard(m.id), now, s.expectedIntervalMs(m), missed)) acc.reporting += 1;
  }
  const abnormal = new Map<string, NonNullable<OverviewArea['abnormal']>>();
  for (const al of s.alarms.all()) {
    if (al.subjectKind === 'area' && al.detector === ABNORMAL_AREA_DETECTOR && !abnormal.has(al.subjectId)) abnormal.set(al.subjectId, { ruleId: al.ruleId, explanation: al.explanation, explanationData: al.explanationData });
    const acc = al.areaId === null ? undefined : own.get(al.areaId as AreaId);
    if (acc !== undefined) acc.alarms += 1;
  }
  // Roll every area's own figures up to each ancestor (bounded depth guards a corrupt cycle).
  const subtree = new Map([...own].map(([id, v]) => [id, { ...v, load: { ...v.load } }]));
  const byId = new Map(areas.map((a) => [a.id, a]));
  for (const a of areas) {
    const mine = own.get(a.id);
    if (mine === undefined) continue;
    let p = a.parentId;
    for (let hops = 0; p !== null && hops < 64; hops++) {
      const t = subtree.get(p);
      if (t !== undefined) {
        addAreaLoadCounts(t.load, mine.load);
        t.reporting += mine.reporting;
        t.alarms += mine.alarms;
      }
      p = byId.get(p)?.parentId ?? null;
    }
  }
  const rate = s.collectionRateToday;
  return {
    ts: now,
    totalKw: total.loadKw,
    collectionSuccessTodayPct: rate === null ? null : rate * 100,
    areas: areas.map((a) => {
      const t = subtree.get(a.id) ?? emptyFigures();
      const ab = abnormal.get(a.id) ?? null;
      const load = areaLoadOf(t.load, a.transformerKva, powerFactor);
      return {
        id: a.id, name: a.name, kind: a.kind, parentId: a.parentId,
        loadKw: load.loadKw,
        limitKw: load.limitKw,
        meters: t.load.meters,
        metersReporting: t.reporting,
        openAlarms: t.alarms,
        state: ab !== null ? 'abnormal' : t.alarms > 0 ? 'alarm' : 'normal',
        abnormal: ab,
      };
    }),
  };
}

/** One area's own (then subtree) figures: its load counts, reporting meters and open alarms. */
interface Figures {
  load: AreaLoadCounts;
  reporting: number;
  alarms: number;
}

function emptyFigures(): Figures {
  return { load: emptyAreaLoadCounts(), reporting: 0, alarms: 0 };
}
