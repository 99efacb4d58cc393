/**
 * Collection success rate per day: readings collected ÷ readings expected per terminal, and
 * meters read ÷ meters expected per area (a parent area's figure is its subtree's sum).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { AreaDayCount } from '../collect/meterDays.js';
import { rollUp } from '../collect/meterDays.js';
import type { AreaDaysQuery } from '../collect/statsStore.js';
import { utcMidnightOf } from '../domain/calendarDate.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Area } from '../domain/topology.js';
import type { Registry } from '../registry/registry.js';
import { problemResponses } from './problem.js';
import { IdParam, PageQuery, page } from './schemas.js';
import { AreaCollectionDaysOut, AreaCollectionOut, CollectionStatsOut } from './statsSchemas.js';

export interface CollectionRate {
  readonly terminalId: string;
  readonly expected: number;
  readonly collected: number;
}

export interface CollectionStatsQueries {
  /** Per-terminal counts for a station-local day `YYYY-MM-DD`, restricted to `terminalIds` when given. */
  perTerminal(day: string, terminalIds?: readonly string[]): Promise<readonly CollectionRate[]>;
  /** Each area's own meters expected and read on the days asked, sorted by day and area id. */
  areaDays(query: AreaDaysQuery): Promise<readonly AreaDayCount[]>;
  /** Today's day key in station-local time. */
  today(): string;
}

/** The longest span of days one request may ask of an area. */
export const MAX_AREA_DAYS = 366;

const DateParam = (description: string) => Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description });

export interface StatsRoutesOptions {
  readonly registry: Registry;
  readonly stats: CollectionStatsQueries;
}

const rate = (collected: number, expected: number): number | null => (expected === 0 ? null : Math.min(1, collected / expected));

export const statsRoutes: FastifyPluginAsyncTypebox<StatsRoutesOptions> = async (app, { registry, stats }) => {
  app.get('/stats/collection', {
    config: { access: 'viewer' },
    schema: {
      tags: ['statistics'],
      description: 'Collection success rate for a day: readings collected ÷ readings expected, in total and per terminal. With `area`, only terminals that serve a meter in that area or below it.',
      querystring: Type.Object({
        date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Station-local day, YYYY-MM-DD; today by default.' })),
        area: Type.Optional(Type.String({ maxLength: 64 })),
      }, { additionalProperties: false }),
      response: {
        200: CollectionStatsOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const day = req.query.date ?? stats.today();
    utcMidnightOf(day);
    const area = req.query.area;
    const terminalIds = area === undefined ? undefined : [...new Set(registry.listMeters({ areaId: area }).map((m) => m.terminalId))];
    const rows = terminalIds?.length === 0 ? [] : await stats.perTerminal(day, terminalIds);
    return {
      date: day,
      area: area ?? null,
      ...withRate(total(rows)),
      terminals: rows.map((r) => ({ ...r, successRate: rate(r.collected, r.expected) })),
    };
  });

  app.get('/stats/collection/areas', {
    config: { access: 'viewer' },
    schema: {
      tags: ['statistics'],
      description: 'Daily read success per area for a day: meters read completely at least once ÷ meters expected, each area with its subtree summed, '
        + 'sorted by area id and paged with `cursor` = the previous page\'s `next`. Without `area`: every area, and the station\'s figure (meters without an area included); '
        + 'with `area`: that area and the areas below it, and its figure. A meter counts in the area it was in when first read that day (never read: when first expected).',
      querystring: Type.Object({
        date: Type.Optional(DateParam('Station-local day, YYYY-MM-DD; today by default.')),
        area: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        ...PageQuery,
      }, { additionalProperties: false }),
      response: { 200: AreaCollectionOut, ...problemResponses },
    },
  }, async (req) => {
    const { area, limit, cursor } = req.query;
    const day = req.query.date ?? stats.today();
    utcMidnightOf(day);
    const subtree = area === undefined ? undefined : subtreeOf(registry, area);
    const own = await stats.areaDays({ from: day, to: day, ...(subtree === undefined ? {} : { areaIds: [...subtree] }) });
    const sums = rollUp(own, (id) => registry.findArea(id)?.parentId);
    const listed = subtree === undefined ? registry.listAreas() : [...subtree].flatMap((id) => registry.findArea(id) ?? []);
    const figure = area === undefined ? total(own) : (sums.get(area) ?? { expected: 0, collected: 0 });
    const one = page(listed, limit, cursor);
    return {
      date: day,
      area: area ?? null,
      ...withRate(figure),
      areas: one.items.map((a: Area) => ({ areaId: a.id, name: a.name, kind: a.kind, parentId: a.parentId, ...withRate(sums.get(a.id) ?? { expected: 0, collected: 0 }) })),
      next: one.next,
    };
  });

  app.get('/stats/collection/areas/:id/days', {
    config: { access: 'viewer' },
    schema: {
      tags: ['statistics'],
      description: `Daily read success of one area (its subtree summed) for every day from \`from\` to \`to\`, at most ${MAX_AREA_DAYS} days; days nothing was counted show zeros.`,
      params: IdParam,
      querystring: Type.Object({
        from: DateParam('First station-local day, YYYY-MM-DD.'),
        to: DateParam('Last station-local day, YYYY-MM-DD, inclusive.'),
      }, { additionalProperties: false }),
      response: { 200: AreaCollectionDaysOut, ...problemResponses },
    },
  }, async (req) => {
    const { from, to } = req.query;
    const span = (utcMidnightOf(to, 'to') - utcMidnightOf(from, 'from')) / 86_400_000 + 1;
    if (span < 1) throw new ValidationError('`from` must not be after `to`', 'from');
    if (span > MAX_AREA_DAYS) throw new ValidationError(`at most ${MAX_AREA_DAYS} days at once, not ${span}`, 'to');
    const id = req.params.id;
    const own = await stats.areaDays({ from, to, areaIds: [...subtreeOf(registry, id)] });
    const byDay = new Map<string, { expected: number; collected: number }>();
    for (let i = 0; i < span; i++) byDay.set(new Date(utcMidnightOf(from) + i * 86_400_000).toISOString().slice(0, 10), { expected: 0, collected: 0 });
    for (const c of own) {
      const d = byDay.get(c.day);
      if (d === undefined) continue;
      d.expected += c.expected;
      d.collected += c.collected;
    }
    return {
      area: id, from, to,
      ...withRate(total(own)),
      days: [...byDay].map(([date, c]) => ({ date, ...withRate(c) })),
    };
  });
  await Promise.resolve();
};

function subtreeOf(registry: Registry, area: string): ReadonlySet<string> {
  if (!registry.hasArea(area)) throw new NotFoundError('area', area);
  return registry.areaSubtree(area);
}

function total(rows: readonly { readonly expected: number; readonly collected: number }[]): { expected: number; collected: number } {
  let expected = 0;
  let collected = 0;
  for (const r of rows) {
    expected += r.expected;
    collected += r.collected;
  }
  return { expected, collected };
}

function withRate(c: { readonly expected: number; readonly collected: number }): { expected: number; collected: number; successRate: number | null } {
  return { expected: c.expected, collected: c.collected, successRate: rate(c.collected, c.expected) };
}
