/**
 * Load analysis of areas: load curves, daily profiles with peak, valley, load
 * factor and maximum demand, comparisons, and line loss of transformer areas. The SQL lives
 * in analysisQueries.ts; this file turns its buckets into the figures operators read, and
 * bounds every request (range, points, areas) before any query runs.
 *
 * Station time is a fixed UTC offset (`station.utcOffsetMinutes`, no DST): a local day is
 * [local midnight, next local midnight) and 15-minute buckets start on local quarter hours.
 */
import { ValidationError, type Area, type Meter, type MeterId } from '../domain/index.js';
import { utcMidnightOf } from '../domain/calendarDate.js';
import type { AnalysisQueries, LoadPoint } from './analysisQueries.js';
import { summarize, type LoadSummary } from './loadSummary.js';

export { summarize, type LoadSummary };

export interface AnalysisTopology {
  getArea(id: string): Area;
  listAreas(): readonly Area[];
  /** The meters of an area and of every area below it. */
  listMeters(filter: { readonly areaId: string }): readonly Meter[];
  meterKey(id: MeterId): number | undefined;
  findMeter(id: string): Meter | undefined;
}

export interface AreaAnalysisOptions {
  readonly queries: AnalysisQueries;
  readonly topology: AnalysisTopology;
  readonly utcOffsetMinutes: number;
  /** `{ areaId: meterId }`: the supply meter of a transformer area; never summed into loads. */
  readonly supplyMeters: Readonly<Record<string, string>>;
  readonly maxRangeDays: number;
  readonly maxPoints: number;
  readonly maxCompareAreas: number;
  readonly lineLossEdgeToleranceMs: number;
}

export interface LoadSeries {
  readonly areaId: string;
  readonly stepMs: number;
  readonly points: readonly LoadPoint[];
}

export interface PeriodFigures {
  readonly period: string;
  readonly from: number;
  readonly to: number;
  readonly points: readonly LoadPoint[];
  readonly summary: LoadSummary;
}

export interface LineLossRow {
  readonly areaId: string;
  readonly name: string;
  readonly supplyMeterId: string | null;
  readonly supplyKwh: number | null;
  readonly customersKwh: number | null;
  readonly lossKwh: number | null;
  readonly lossPct: number | null;
  readonly customers: number;
  readonly customersWithData: number;
  readonly complete: boolean;
  /** Why the loss is null or incomplete; null when complete. */
  readonly reason: string | null;
  /** Meters without a usable register advance (at most 20 listed). */
  readonly missingMeters: readonly string[];
}

export const QUARTER_HOUR_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const MAX_LISTED_MISSING = 20;

export class AreaAnalysis {
  readonly #o: AreaAnalysisOptions;
  readonly #offsetMs: number;

  constructor(options: AreaAnalysisOptions) {
    this.#o = options;
    this.#offsetMs = options.utcOffsetMinutes * 60_000;
  }

  /** Summed `power.active` of the area's subtree, averaged per step; buckets on local step boundaries. */
  async load(areaId: string, from: number, to: number, stepMs: number): Promise<LoadSeries> {
    this.#o.topology.getArea(areaId);
    this.#checkRange(from, to, stepMs);
    return { areaId, stepMs, points: await this.#series(areaId, from, to, stepMs) };
  }

  /** One local day (`YYYY-MM-DD`) at 15-minute steps, with its figures. */
  profile(areaId: string, date: string): Promise<PeriodFigures> {
    this.#o.topology.getArea(areaId);
    const from = this.localDay(date, 'date');
    return this.#figures(areaId, date, from, from + DAY_MS);
  }

  /** Two days (`period: 'day'`) or two months (`'month'`, `YYYY-MM`) of one area, and their difference. */
  async comparePeriods(areaId: string, period: 'day' | 'month', a: string, b: string): Promise<{ a: PeriodFigures; b: PeriodFigures }> {
    this.#o.topology.getArea(areaId);
    const range = (s: string, field: string): [number, number] => {
      if (period === 'day') {
        const from = this.localDay(s, field);
        return [from, from + DAY_MS];
      }
      return this.localMonth(s, field);
    };
    const [af, at] = range(a, 'a');
    const [bf, bt] = range(b, 'b');
    return { a: await this.#figures(areaId, a, af, at), b: await this.#figures(areaId, b, bf, bt) };
  }

  /** Several areas over the same range and step. */
  async compareAreas(areaIds: readonly string[], from: number, to: number, stepMs: number): Promise<(LoadSeries & { summary: LoadSummary })[]> {
    const unique = [...new Set(areaIds)];
    if (unique.length < 2) throw new ValidationError('name at least two different areas', 'areas');
    if (unique.length > this.#o.maxCompareAreas) throw new ValidationError(`at most ${this.#o.maxCompareAreas} areas per comparison`, 'areas');
    for (const id of unique) this.#o.topology.getArea(id);
    this.#checkRange(from, to, stepMs);
    const out: (LoadSeries & { summary: LoadSummary })[] = [];
    for (const areaId of unique) {
      const points = await this.#series(areaId, from, to, stepMs);
      out.push({ areaId, stepMs, points, summary: summarize(points, stepMs, Math.ceil((to - from) / stepMs)) });
    }
    return out;
  }

  /** Line loss of each transformer area at or below `areaId` (all when absent) over [from, to). */
  async lineLoss(areaId: string | undefined, from: number, to: number): Promise<LineLossRow[]> {
    if (areaId !== undefined) this.#o.topology.getArea(areaId);
    this.#checkRange(from, to, undefined);
    const areas = this.#o.topology.listAreas()
      .filter((a) => a.kind === 'transformer' && (areaId === undefined || a.id === areaId || this.#isBelow(a, areaId)))
      .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const rows: LineLossRow[] = [];
    for (const a of areas) rows.push(await this.#lineLossOf(a, from, to));
    return rows;
  }

  /** Local midnight of `YYYY-MM-DD` as ms since epoch; 400 for a malformed or impossible date. */
  localDay(date: string, field: string): number {
    return utcMidnightOf(date, field) - this.#offsetMs;
  }

  /** [first local midnight, next month's first local midnight) of `YYYY-MM`. */
  localMonth(month: string, field: string): [number, number] {
    const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
    if (m === null) throw new ValidationError(`${field} must be a month YYYY-MM`, field);
    const y = Number(m[1]);
    const mo = Number(m[2]) - 1;
    return [Date.UTC(y, mo, 1) - this.#offsetMs, Date.UTC(y, mo + 1, 1) - this.#offsetMs];
  }

  /** The station-local day an instant falls on. */
  dayOf(ts: number): string {
    return new Date(ts + this.#offsetMs).toISOString().slice(0, 10);
  }

  async #figures(areaId: string, period: string, from: number, to: number): Promise<PeriodFigures> {
    const points = await this.#series(areaId, from, to, QUARTER_HOUR_MS);
    return { period, from, to, points, summary: summarize(points, QUARTER_HOUR_MS, Math.round((to - from) / QUARTER_HOUR_MS)) };
  }

  #series(areaId: string, from: number, to: number, stepMs: number): Promise<LoadPoint[]> {
    const meterKeys = this.#customerKeys(areaId);
    // Local step boundaries: origin at a local midnight (epoch shifted by the offset).
    return this.#o.queries.areaLoad({ meterKeys, from, to, stepMs, origin: -this.#offsetMs });
  }

  #customerKeys(areaId: string): number[] {
    const supply = new Set(Object.values(this.#o.supplyMeters));
    const keys: number[] = [];
    for (const m of this.#o.topology.listMeters({ areaId })) {
      if (supply.has(m.id)) continue;
      const k = this.#o.topology.meterKey(m.id);
      if (k !== undefined) keys.push(k);
    }
    return keys;
  }

  #checkRange(from: number, to: number, stepMs: number | undefined): void {
    if (!Number.isFinite(from) || !Number.isFinite(to)) throw new ValidationError('from and to must be RFC 3339 times or ms since the epoch', 'from');
    if (!(from < to)) throw new ValidationError('`from` must be before `to`', 'from');
    if (to - from > this.#o.maxRangeDays * DAY_MS) throw new ValidationError(`the range may span at most ${this.#o.maxRangeDays} days`, 'to');
    if (stepMs !== undefined && Math.ceil((to - from) / stepMs) > this.#o.maxPoints) {
      throw new ValidationError(`the range holds more than ${this.#o.maxPoints} steps of ${stepMs} ms; widen the step or shorten the range`, 'stepMs');
    }
  }

  #isBelow(a: Area, ancestorId: string): boolean {
    const byId = new Map(this.#o.topology.listAreas().map((x) => [x.id as string, x]));
    let p = a.parentId;
    for (let hops = 0; p !== null && hops < 64; hops++) {
      if (p === ancestorId) return true;
      p = byId.get(p)?.parentId ?? null;
    }
    return false;
  }

  async #lineLossOf(area: Area, from: number, to: number): Promise<LineLossRow> {
    const supplyId = this.#o.supplyMeters[area.id] ?? null;
    const customers = this.#o.topology.listMeters({ areaId: area.id }).filter((m) => m.id !== supplyId);
    const keyOf = new Map<number, string>();
    for (const m of customers) {
      const k = this.#o.topology.meterKey(m.id);
      if (k !== undefined) keyOf.set(k, m.id);
    }
    const supplyMeter = supplyId === null ? undefined : this.#o.topology.findMeter(supplyId);
    const supplyKey = supplyMeter === undefined ? undefined : this.#o.topology.meterKey(supplyMeter.id);
    const edges = await this.#o.queries.energyEdges({
      meterKeys: [...keyOf.keys(), ...(supplyKey === undefined ? [] : [supplyKey])], from, to, toleranceMs: this.#o.lineLossEdgeToleranceMs,
    });
    const advance = new Map<number, number>();
    for (const e of edges) {
      // A register that went backwards (replacement, rollover) gives no trustworthy advance.
      if (e.start !== null && e.end !== null && e.end.ts > e.start.ts && e.end.value >= e.start.value) advance.set(e.meterKey, e.end.value - e.start.value);
    }
    const missing = [...keyOf].filter(([k]) => !advance.has(k)).map(([, id]) => id);
    missing.sort();
    const withData = keyOf.size - missing.length;
    let customersKwh = 0;
    for (const k of keyOf.keys()) customersKwh += advance.get(k) ?? 0;
    const supplyKwh = supplyKey === undefined ? null : advance.get(supplyKey) ?? null;
    const reasons: string[] = [];
    if (supplyId === null) reasons.push('no supply meter configured for this area (analysis.supplyMeters)');
    else if (supplyKey === undefined) reasons.push(`supply meter ${supplyId} is not in the registry`);
    else if (supplyKwh === null) reasons.push(`supply meter ${supplyId} has no energy.active.import reading within ${this.#o.lineLossEdgeToleranceMs / 60_000} min of both period edges`);
    if (missing.length > 0) reasons.push(`${missing.length} of ${customers.length} customer meters have no usable energy.active.import advance over the period`);
    const complete = reasons.length === 0;
    const loss = complete && supplyKwh !== null ? supplyKwh - customersKwh : null;
    return {
      areaId: area.id, name: area.name, supplyMeterId: supplyId,
      supplyKwh,
      customersKwh: missing.length === 0 ? customersKwh : null,
      lossKwh: loss,
      lossPct: loss === null || supplyKwh === null || supplyKwh <= 0 ? null : (loss / supplyKwh) * 100,
      customers: customers.length,
      customersWithData: withData,
      complete,
      reason: complete ? null : reasons.join('; '),
      missingMeters: missing.slice(0, MAX_LISTED_MISSING),
    };
  }
}

/** Collection success rate per area (subtree), worst first; areas with nothing expected last. */
export function rankCollection(
  areas: readonly Area[],
  metersOf: (areaId: string) => readonly Meter[],
  perTerminal: readonly { readonly terminalId: string; readonly expected: number; readonly collected: number }[],
): { id: string; name: string; kind: string; expected: number; collected: number; successRate: number | null }[] {
  const byTerminal = new Map(perTerminal.map((t) => [t.terminalId, t]));
  const rows = areas.map((a) => {
    let expected = 0;
    let collected = 0;
    // A terminal serving meters in the area counts once, whatever its meter count.
    for (const t of new Set(metersOf(a.id).map((m) => m.terminalId as string))) {
      const c = byTerminal.get(t);
      if (c === undefined) continue;
      expected += c.expected;
      collected += c.collected;
    }
    return { id: a.id, name: a.name, kind: a.kind, expected, collected, successRate: expected === 0 ? null : Math.min(1, collected / expected) };
  });
  return rows.sort((x, y) => {
    if (x.successRate === null || y.successRate === null) return x.successRate === null ? (y.successRate === null ? x.id.localeCompare(y.id) : 1) : -1;
    return x.successRate - y.successRate || x.id.localeCompare(y.id);
  });
}
