/** Collection success rate: readings collected ÷ readings expected, per terminal, area and day. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Registry } from '../registry/registry.js';
import { utcMidnightOf } from '../domain/calendarDate.js';
import { problemResponses } from './problem.js';
import { CollectionStatsOut } from './statsSchemas.js';

export interface CollectionRate {
  readonly terminalId: string;
  readonly expected: number;
  readonly collected: number;
}

export interface CollectionStatsQueries {
  /** Per-terminal counts for a station-local day `YYYY-MM-DD`, restricted to `terminalIds` when given. */
  perTerminal(day: string, terminalIds?: readonly string[]): Promise<readonly CollectionRate[]>;
  /** Today's day key in station-local time. */
  today(): string;
}

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
    let expected = 0;
    let collected = 0;
    for (const r of rows) {
      expected += r.expected;
      collected += r.collected;
    }
    return {
      date: day,
      area: area ?? null,
      expected,
      collected,
      successRate: rate(collected, expected),
      terminals: rows.map((r) => ({ ...r, successRate: rate(r.collected, r.expected) })),
    };
  });
  await Promise.resolve();
};
