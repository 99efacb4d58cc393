/**
 * Load analysis for operators: area load curves, daily profiles, comparisons day
 * against day, month against month and area against area, line loss per transformer area,
 * and the collection success ranking. Every query is bounded (range, points, areas) and
 * answers 400 problem+json beyond its bounds; times in replies are RFC 3339.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ValidationError } from '../domain/index.js';
import type { Area, Meter } from '../domain/index.js';
import { rankCollection, type AreaAnalysis, type PeriodFigures } from '../storage/areaAnalysis.js';
import type { LoadSummary } from '../storage/loadSummary.js';
import { problemResponses } from './problem.js';
import { AreaComparisonOut, AreaLoadOut, AreaProfileOut, CollectionRankingOut, LineLossOut, PeriodComparisonOut } from './analysisSchemas.js';
import { IdParam } from './schemas.js';

export interface AnalysisRoutesOptions {
  readonly analysis: AreaAnalysis;
  readonly areas: () => readonly Area[];
  readonly metersOf: (areaId: string) => readonly Meter[];
  /** Per-terminal collection counts of a station-local day. */
  readonly collection: (day: string) => Promise<readonly { readonly terminalId: string; readonly expected: number; readonly collected: number }[]>;
}

const DAY_MS = 86_400_000;
const QueryTime = (description: string) => Type.String({ minLength: 1, maxLength: 40, description: `${description}: RFC 3339 or ms since the epoch.` });
const StepMs = Type.Integer({ minimum: 1_000, maximum: 31 * DAY_MS, default: 900_000, description: 'Bucket width, ms; buckets start on station-local multiples of it.' });
const DateQuery = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Station-local day, YYYY-MM-DD.' });

export const analysisRoutes: FastifyPluginAsyncTypebox<AnalysisRoutesOptions> = async (app, o) => {
  const { analysis } = o;

  app.get('/analysis/areas/:id/load', {
    config: { access: 'viewer' },
    schema: {
      tags: ['analysis'],
      description: 'The area\'s load curve: the summed `power.active` of the meters of the area and its subtree (supply meters excluded), each meter averaged per step. With `compare=yesterday`, `previous` holds the same range 24 h earlier, shifted onto this range\'s time axis.',
      params: IdParam,
      querystring: Type.Object({
        from: QueryTime('Start, inclusive'), to: QueryTime('End, exclusive'), stepMs: StepMs,
        compare: Type.Optional(Type.Literal('yesterday')),
      }, { additionalProperties: false }),
      response: {
        200: AreaLoadOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const { id } = req.params;
    const from = parseTime(req.query.from, 'from');
    const to = parseTime(req.query.to, 'to');
    const s = await analysis.load(id, from, to, req.query.stepMs);
    const points = s.points.map(point);
    if (req.query.compare === undefined) return { areaId: id, unit: 'kW' as const, stepMs: s.stepMs, points };
    const prev = await analysis.load(id, from - DAY_MS, to - DAY_MS, req.query.stepMs);
    return { areaId: id, unit: 'kW' as const, stepMs: s.stepMs, points, previous: prev.points.map((p) => point({ ts: p.ts + DAY_MS, value: p.value })) };
  });

  app.get('/analysis/areas/:id/profile', {
    config: { access: 'viewer' },
    schema: {
      tags: ['analysis'],
      description: 'Load profile of one station-local day at 15-minute steps: peak and valley (value, time), average, load factor (average ÷ peak), maximum demand (highest 15-minute average), energy. Missing quarter hours are counted, never filled in.',
      params: IdParam,
      querystring: Type.Object({ date: DateQuery }, { additionalProperties: false }),
      response: {
        200: AreaProfileOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const p = await analysis.profile(req.params.id, req.query.date);
    const f = periodJson(p);
    return { areaId: req.params.id, date: req.query.date, unit: 'kW' as const, stepMs: 900_000, from: f.from, to: f.to, points: f.points, summary: f.summary };
  });

  app.get('/analysis/areas/:id/compare', {
    config: { access: 'viewer' },
    schema: {
      tags: ['analysis'],
      description: 'Day against day (`period=day`, a and b as YYYY-MM-DD) or month against month (`period=month`, YYYY-MM), station-local: each period\'s 15-minute curve with its energy, peak, load factor and maximum demand, and the difference b − a.',
      params: IdParam,
      querystring: Type.Object({
        period: Type.Union([Type.Literal('day'), Type.Literal('month')]),
        a: Type.String({ maxLength: 10 }), b: Type.String({ maxLength: 10 }),
      }, { additionalProperties: false }),
      response: {
        200: PeriodComparisonOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const { a, b } = await analysis.comparePeriods(req.params.id, req.query.period, req.query.a, req.query.b);
    const sa = a.summary;
    const sb = b.summary;
    const diff = (x: number | null | undefined, y: number | null | undefined): number | null => (x === null || x === undefined || y === null || y === undefined ? null : y - x);
    return {
      areaId: req.params.id, period: req.query.period, unit: 'kW' as const, stepMs: 900_000, a: periodJson(a), b: periodJson(b),
      difference: {
        energyKwh: sb.energyKwh - sa.energyKwh,
        energyPct: sa.energyKwh === 0 ? null : ((sb.energyKwh - sa.energyKwh) / sa.energyKwh) * 100,
        peakKw: diff(sa.peak?.value, sb.peak?.value),
        loadFactor: diff(sa.loadFactor, sb.loadFactor),
        maxDemandKw: diff(sa.maxDemand?.value, sb.maxDemand?.value),
      },
    };
  });

  app.get('/analysis/compare', {
    config: { access: 'viewer' },
    schema: {
      tags: ['analysis'],
      description: 'Area against area: each area\'s load curve over the same range and step, with its energy, peak, valley, average and load factor.',
      querystring: Type.Object({
        areas: Type.String({ minLength: 1, maxLength: 1000, description: 'Comma-separated area ids.' }),
        from: QueryTime('Start, inclusive'), to: QueryTime('End, exclusive'), stepMs: StepMs,
      }, { additionalProperties: false }),
      response: {
        200: AreaComparisonOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const ids = req.query.areas.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const from = parseTime(req.query.from, 'from');
    const to = parseTime(req.query.to, 'to');
    const rows = await analysis.compareAreas(ids, from, to, req.query.stepMs);
    return {
      from: new Date(from).toISOString(), to: new Date(to).toISOString(), stepMs: req.query.stepMs, unit: 'kW' as const,
      areas: rows.map((r) => ({ areaId: r.areaId, points: r.points.map(point), summary: summaryJson(r.summary) })),
    };
  });

  app.get('/analysis/line-loss', {
    config: { access: 'viewer' },
    schema: {
      tags: ['analysis'],
      description: 'Line loss (台区线损) of each transformer area at or below `area` (all when absent) over [from, to): supply energy (the advance of the area\'s supply meter register, `analysis.supplyMeters`) minus the sum of its customer meters\' register advances, in kWh and % of supply. A register counts at an edge when read within the configured tolerance of it. With incomplete data the loss is null and `reason` says what is missing: a number is never made up.',
      querystring: Type.Object({ area: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), from: QueryTime('Start'), to: QueryTime('End') }, { additionalProperties: false }),
      response: {
        200: LineLossOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const from = parseTime(req.query.from, 'from');
    const to = parseTime(req.query.to, 'to');
    const rows = await analysis.lineLoss(req.query.area, from, to);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), areas: rows.map((r) => ({ ...r, missingMeters: [...r.missingMeters] })) };
  });

  app.get('/analysis/collection-ranking', {
    config: { access: 'viewer' },
    schema: {
      tags: ['analysis'],
      description: 'Collection success rate (collected ÷ expected) of every area over the terminals serving its subtree, worst first; areas with nothing expected last.',
      querystring: Type.Object({ date: Type.Optional(DateQuery) }, { additionalProperties: false }),
      response: {
        200: CollectionRankingOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const date = req.query.date ?? analysis.dayOf(Date.now());
    analysis.localDay(date, 'date');
    return { date, areas: rankCollection(o.areas(), o.metersOf, await o.collection(date)) };
  });
  await Promise.resolve();
};

/** RFC 3339, or an integer of ms since the epoch. */
export function parseTime(text: string, field: string): number {
  const ms = /^-?\d{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new ValidationError(`${field} must be an RFC 3339 time or ms since the epoch`, field);
  return ms;
}

function point(p: { readonly ts: number; readonly value: number }): { ts: string; value: number } {
  return { ts: new Date(p.ts).toISOString(), value: p.value };
}

function at(x: { readonly ts: number; readonly value: number } | null): { ts: string; value: number } | null {
  return x === null ? null : point(x);
}

function summaryJson(s: LoadSummary): Omit<LoadSummary, 'peak' | 'valley' | 'maxDemand'> & { peak: ReturnType<typeof at>; valley: ReturnType<typeof at>; maxDemand: ReturnType<typeof at> } {
  return { ...s, peak: at(s.peak), valley: at(s.valley), maxDemand: at(s.maxDemand) };
}

function periodJson(p: PeriodFigures): { period: string; from: string; to: string; points: { ts: string; value: number }[]; summary: ReturnType<typeof summaryJson> } {
  return { period: p.period, from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString(), points: p.points.map(point), summary: summaryJson(p.summary) };
}
