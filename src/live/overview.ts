/**
 * The live overview the dashboard opens on: total load, today's collection success rate,
 * and every area with its load (summed over its subtree), limit, reporting meters, open
 * alarms and state. Each area's own figures are kept up to date as readings and registry
 * changes arrive (areaFigures.ts), so a request costs a roll-up over the areas (children
 * cached until the tree changes) and the contributions that expired since the last one,
 * never a pass over the meters.
 *
 * The load and the limit are the station's one area-load definition (src/domain/areaLoad.ts),
 * the same the overload rule judges, so the overview never calls an area normal while the
 * rule holds it overloaded. "Reporting" is the communication-loss rule's own freshness (src/rules/freshness.ts): a
 * meter counts while it has missed fewer than the rule's intervals, so the overview and the
 * open communication-loss alarms never disagree.
 */
import { addAreaLoadCounts, areaLoadOf, type Area, type AreaLoadCounts, type Explanation } from '../domain/index.js';
import type { Registry } from '../registry/registry.js';
import { LiveAreaFigures, type AreaFiguresSources, type FiguresTopology } from './areaFigures.js';
import type { OpenAlarmIndex } from './openAlarms.js';

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

export interface LiveOverviewSources extends AreaFiguresSources {
  readonly topology: FiguresTopology & Pick<Registry, 'listAreas'>;
  readonly alarms: Pick<OpenAlarmIndex, 'countForArea' | 'abnormal'>;
  /** Missed intervals after which a meter is silent (the communication-loss rules' setting). */
  readonly missedIntervals: () => number;
}

export class LiveOverview {
  readonly #s: LiveOverviewSources;
  readonly #figures: LiveAreaFigures;
  readonly #unsubscribe: () => void;
  #tree: AreaTree | undefined;

  constructor(sources: LiveOverviewSources) {
    this.#s = sources;
    this.#figures = new LiveAreaFigures(sources);
    this.#unsubscribe = sources.topology.onChange((c) => { if (c.kind === 'area') this.#tree = undefined; });
  }

  /**
   * Builds the area figures in the background, so the first overview does not read a million
   * meters while a dispatcher waits; one asked for before the build ends finishes it first.
   */
  start(): void {
    this.#figures.start(this.#s.missedIntervals());
  }

  /** Resolves once the area figures count every meter. */
  whenBuilt(): Promise<void> {
    return this.#figures.whenBuilt();
  }

  /** `collectionRateToday`: today's collected ÷ expected over every terminal, 0..1; null when nothing was expected. */
  overview(collectionRateToday: number | null): Overview {
    const now = this.#figures.advance(this.#s.missedIntervals(), (this.#s.now ?? Date.now)());
    const tree = this.#tree ??= areaTree(this.#s.topology.listAreas());
    const { areas, parent, childrenFirst } = tree;
    const subtree: Figures[] = areas.map((a) => {
      const own = this.#figures.own(a.id);
      return { load: { ...own.load }, reporting: own.reporting, alarms: this.#s.alarms.countForArea(a.id) };
    });
    for (const i of childrenFirst) {
      const p = parent[i] ?? -1;
      const mine = subtree[i];
      const t = subtree[p];
      if (mine === undefined || t === undefined) continue;
      addAreaLoadCounts(t.load, mine.load);
      t.reporting += mine.reporting;
      t.alarms += mine.alarms;
    }
    const { powerFactor } = this.#s.areaLoad;
    return {
      ts: now,
      totalKw: this.#figures.totalKw(),
      collectionSuccessTodayPct: collectionRateToday === null ? null : collectionRateToday * 100,
      areas: areas.map((a, i) => {
        const t = subtree[i] ?? { load: { loadKw: 0, meters: 0, fresh: 0, stale: 0, missing: 0 }, reporting: 0, alarms: 0 };
        const al = this.#s.alarms.abnormal(a.id);
        const ab = al === undefined ? null : { ruleId: al.ruleId, explanation: al.explanation, explanationData: al.explanationData };
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

  close(): void {
    this.#unsubscribe();
    this.#figures.close();
  }
}

/** One area's subtree figures: its load counts, reporting meters and open alarms. */
interface Figures {
  load: AreaLoadCounts;
  reporting: number;
  alarms: number;
}

/** The areas as listed, each with its parent's index, and every area with a parent ordered after its descendants. */
interface AreaTree {
  readonly areas: readonly Area[];
  readonly parent: Int32Array;
  /** Indexes of areas with a parent, deepest first: adding each to its parent in this order rolls the tree up. */
  readonly childrenFirst: readonly number[];
}

function areaTree(areas: readonly Area[]): AreaTree {
  const index = new Map(areas.map((a, i) => [a.id, i]));
  const parent = new Int32Array(areas.length).fill(-1);
  const children: number[][] = areas.map(() => []);
  const roots: number[] = [];
  areas.forEach((a, i) => {
    const p = a.parentId === null ? undefined : index.get(a.parentId);
    if (p === undefined) roots.push(i);
    else {
      parent[i] = p;
      children[p]?.push(i);
    }
  });
  // Breadth first from the roots, then reversed: every area comes after all of its descendants.
  // The registry refuses cycles; an area in one would not be reached and keeps its own figures.
  const order: number[] = [];
  const queue = [...roots];
  // An array's iterator reads its length at every step: children pushed meanwhile are visited too.
  for (const i of queue) {
    if ((parent[i] ?? -1) >= 0) order.push(i);
    for (const c of children[i] ?? []) queue.push(c);
  }
  return { areas, parent, childrenFirst: order.reverse() };
}
