/**
 * The live overview counted from scratch, as the station did before its area figures were
 * kept incrementally (src/live/areaFigures.ts): one pass over every meter and one roll-up over
 * the areas per call. Kept as the oracle the incremental overview must agree with, and as the
 * "before" of the live-overview bench.
 */
import {
  addAreaLoadCounts, areaLoadOf, countPower, emptyAreaLoadCounts,
  type Area, type AreaId, type AreaLoadCounts, type AreaLoadSettings, type Meter,
} from '../../src/domain/index.js';
import type { MeterVisitor } from '../../src/registry/image.js';
import type { LatestValues } from '../../src/live/latest.js';
import { ABNORMAL_AREA_DETECTOR, type OpenAlarmIndex } from '../../src/live/openAlarms.js';
import type { Overview, OverviewArea } from '../../src/live/overview.js';
import type { RegistryChange } from '../../src/registry/registry.js';
import { isReporting } from '../../src/rules/freshness.js';

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
  readonly expectedIntervalMs: (meter: Pick<Meter, 'terminalId'>) => number | undefined;
  /** Missed intervals after which a meter is silent (the communication-loss rules' setting). */
  readonly missedIntervals: () => number;
  readonly now?: () => number;
}

export function liveOverviewFromScratch(s: OverviewSources): Overview {
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

/**
 * A topology that never changes, for the overview over a fixed fixture: what the incremental
 * overview asks of the registry, answered from lists.
 */
export function fixedTopology(areas: Iterable<Area>, meters: Iterable<Meter>): {
  listAreas(): Area[];
  findMeter(id: string): Meter | undefined;
  visitMeters(from: number, count: number, visit: MeterVisitor): number;
  metersOfTerminal(id: string): Meter[];
  onChange(listener: (c: RegistryChange) => void): () => void;
} {
  const byId = new Map([...meters].map((m) => [m.id as string, m]));
  const areaList = [...areas];
  return {
    listAreas: () => [...areaList],
    findMeter: (id) => byId.get(id),
    visitMeters: (from, count, visit) => {
      const list = [...byId.values()];
      for (const m of list.slice(from, from + count)) visit(m.id, m.terminalId, m.areaId);
      return from + count < list.length ? from + count : -1;
    },
    metersOfTerminal: (id) => [...byId.values()].filter((m) => m.terminalId === id),
    onChange: () => () => undefined,
  };
}
