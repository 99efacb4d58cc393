/**
 * The live overview the dashboard opens on: total load, today's collection success rate,
 * and every area with its load (summed over its subtree), limit, reporting meters, open
 * alarms and state. Computed in one pass over meters and one roll-up over areas.
 */
import type { Area, AreaId, Meter, MeterId } from '../domain/index.js';
import type { LatestValues } from './latest.js';
import { ABNORMAL_AREA_DETECTOR, type OpenAlarmIndex } from './openAlarms.js';

export interface OverviewArea {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly parentId: string | null;
  /** Sum of the fresh `power.active` of the subtree's meters; null when none reports. */
  readonly loadKw: number | null;
  /** transformerKva × 0.9 for transformer areas, else null. */
  readonly limitKw: number | null;
  readonly meters: number;
  readonly metersReporting: number;
  readonly openAlarms: number;
  readonly state: 'normal' | 'alarm' | 'abnormal';
  readonly abnormal: { readonly ruleId: string; readonly explanation: string } | null;
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
  readonly live: Pick<LatestValues, 'value'>;
  readonly alarms: Pick<OpenAlarmIndex, 'all'>;
  /** Today's collected ÷ expected over every terminal, 0..1; null when nothing was expected. */
  readonly collectionRateToday: () => number | null;
  /** Meters never summed into loads (supply meters, which measure what the customers draw). */
  readonly excludedMeters: ReadonlySet<string>;
  readonly freshMs: number;
  readonly now?: () => number;
}

/** Power factor that turns a transformer's kVA rating into its kW limit (the contract's 0.9). */
export const TRANSFORMER_LIMIT_PF = 0.9;

export function liveOverview(s: OverviewSources): Overview {
  const now = (s.now ?? Date.now)();
  const areas = s.areas();
  const own = new Map<AreaId, { load: number; meters: number; reporting: number; alarms: number }>();
  for (const a of areas) own.set(a.id, { load: 0, meters: 0, reporting: 0, alarms: 0 });
  let totalKw = 0;
  for (const m of s.meters()) {
    if (s.excludedMeters.has(m.id)) continue;
    const kw = freshKw(s, m.id, now);
    if (kw !== undefined) totalKw += kw;
    const acc = m.areaId === null ? undefined : own.get(m.areaId);
    if (acc === undefined) continue;
    acc.meters += 1;
    if (kw !== undefined) {
      acc.load += kw;
      acc.reporting += 1;
    }
  }
  const abnormal = new Map<string, { ruleId: string; explanation: string }>();
  for (const al of s.alarms.all()) {
    if (al.subjectKind === 'area' && al.detector === ABNORMAL_AREA_DETECTOR && !abnormal.has(al.subjectId)) abnormal.set(al.subjectId, { ruleId: al.ruleId, explanation: al.explanation });
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

function freshKw(s: OverviewSources, id: MeterId, now: number): number | undefined {
  const p = s.live.value(id, 'power.active');
  if (p === undefined || p.quality === 'bad' || now - p.ts > s.freshMs) return undefined;
  return p.value;
}
