/** A meter's latest values and its history. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { QuantityName } from '../config/schema.js';
import { QUANTITIES, ValidationError, type LatestValue, type MeterId, type Quantity } from '../domain/index.js';
import type { Registry } from '../registry/registry.js';
import { problemResponses } from './problem.js';
import { LatestValuesOut, SeriesOut } from './readingSchemas.js';
import { IdParam } from './schemas.js';

export type Aggregation = 'avg' | 'min' | 'max' | 'last';

export interface ReadingQueries {
  latest(meterId: MeterId): Promise<readonly LatestValue[]>;
  series(meterId: MeterId, quantity: Quantity, from: number, to: number, stepMs: number | undefined, agg: Aggregation): Promise<readonly { ts: number; value: number }[]>;
}

export interface ReadingRoutesOptions {
  readonly registry: Registry;
  readonly readings: ReadingQueries;
  /** Points one history request may return, at most. */
  readonly maxPoints: number;
}

const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });

export const readingRoutes: FastifyPluginAsyncTypebox<ReadingRoutesOptions> = async (app, { registry, readings, maxPoints }) => {
  app.get('/meters/:id/latest', {
    config: { access: 'viewer' },
    schema: {
      tags: ['readings'],
      description: 'The latest value of every quantity the meter has reported: primary-side value in the catalogue unit, device timestamp, quality.',
      params: IdParam,
      response: {
        200: LatestValuesOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const meter = registry.getMeter(req.params.id);
    const values = [...await readings.latest(meter.id)]
      .sort((a, b) => (a.quantity < b.quantity ? -1 : 1))
      .map((v) => ({ quantity: v.quantity, value: v.value, unit: v.unit, ts: new Date(v.ts).toISOString(), quality: v.quality }));
    return { meterId: meter.id, values };
  });

  app.get('/meters/:id/readings', {
    config: { access: 'viewer' },
    schema: {
      tags: ['readings'],
      description: 'History of one quantity. Without `step` the raw readings; with `step` (seconds) one aggregated point per bucket, labelled by the bucket start.',
      params: IdParam,
      querystring: Type.Object({
        quantity: QuantityName,
        from: Timestamp,
        to: Timestamp,
        step: Type.Optional(Type.Integer({ minimum: 1, maximum: 31 * 86_400 })),
        agg: Type.Union([Type.Literal('avg'), Type.Literal('min'), Type.Literal('max'), Type.Literal('last')], { default: 'avg' }),
      }, { additionalProperties: false }),
      response: {
        200: SeriesOut,
        ...problemResponses,
      },
    },
  }, async (req) => {
    const meter = registry.getMeter(req.params.id);
    const { quantity, step, agg } = req.query;
    const from = Date.parse(req.query.from);
    const to = Date.parse(req.query.to);
    if (!(from < to)) throw new ValidationError('`from` must be before `to`', 'from');
    if (step !== undefined && (to - from) / (step * 1000) > maxPoints) {
      throw new ValidationError(`the range holds more than ${maxPoints} buckets of ${step} s; use a larger step or a shorter range`, 'step');
    }
    const points = await readings.series(meter.id, quantity, from, to, step === undefined ? undefined : step * 1000, agg);
    if (points.length > maxPoints) throw new ValidationError(`more than ${maxPoints} points; give a step or a shorter range`, 'step');
    return {
      meterId: meter.id, quantity, unit: QUANTITIES[quantity].unit, step: step ?? null, agg,
      points: points.map((p) => ({ ts: new Date(p.ts).toISOString(), value: p.value })),
    };
  });
  await Promise.resolve();
};
