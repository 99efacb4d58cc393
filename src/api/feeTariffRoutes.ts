/**
 * Tariffs (from the configuration, read-only) and quotes: what a usage would be charged,
 * line by line. A quote charges nothing; a usage the tariff cannot charge is a 400 naming
 * the field.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../domain/errors.js';
import { TariffUsageError, type Tariff, type TariffBook } from '../fees/tariffs/index.js';
import { ChargeOut, TariffListOut, TariffOut, UsageIn } from './feeTariffSchemas.js';
import { problemResponses, sendProblem } from './problem.js';
import { IdParam } from './schemas.js';

export interface FeeTariffRoutesOptions {
  readonly tariffs: TariffBook;
}

export const feeTariffRoutes: FastifyPluginAsyncTypebox<FeeTariffRoutesOptions> = async (app, { tariffs }) => {
  const tags = ['fees'];
  const found = (id: string): Tariff => {
    const t = tariffs.get(id);
    if (t === undefined) throw new NotFoundError('tariff', id);
    return t;
  };
  app.get('/fees/tariffs', { config: { access: 'viewer' }, schema: { summary: 'Lists the tariffs of the configuration with their definitions.', tags, response: { 200: TariffListOut } } },
    () => ({ items: tariffs.list().map(out) }));
  app.get('/fees/tariffs/:id', { config: { access: 'viewer' }, schema: { summary: 'One tariff and its definition.', tags, params: IdParam, response: { 200: TariffOut, ...problemResponses } } },
    (req) => out(found(req.params.id)));
  app.post('/fees/tariffs/:id/quote', {
    config: { access: 'viewer' },
    schema: {
      tags, params: IdParam, body: UsageIn, response: { 200: ChargeOut, ...problemResponses },
      description: 'What the usage would be charged under the tariff: each line with its period, kWh per tier or TOU bucket, price and amount. Charges nothing. A two-part tariff quotes whole local months only.',
    },
  }, (req, reply) => {
    const tariff = found(req.params.id);
    try {
      return tariff.charge(req.body);
    } catch (err) {
      // The engine names the field of the usage; here the usage is the body.
      if (err instanceof TariffUsageError) return sendProblem(reply, err.status, err.code, err.message, [{ path: `body.${err.field}`, message: err.message }]);
      throw err;
    }
  });
  await Promise.resolve();
};

function out(t: Tariff) {
  return { id: t.id, name: t.name, kind: t.kind, currency: t.currency, cycleOnly: t.cycleOnly, definition: t.definition };
}
