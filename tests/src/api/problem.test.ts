/**
 * Problem replies for errors the services raise, over a real socket: a domain error that
 * names its field lists it among the problem's `errors`, as a schema failure does.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installProblemHandlers } from '../../../src/api/problem.js';
import { NotFoundError } from '../../../src/domain/errors.js';
import { TariffDefinitionError } from '../../../src/fees/tariffs/index.js';

const app = Fastify();
let base: string;

beforeAll(async () => {
  installProblemHandlers(app);
  app.get('/tariff', () => {
    throw new TariffDefinitionError([{ field: 'tariffs[2].periods[1].from', reason: 'overlapping-periods', message: 'overlaps tariffs[2].periods[0] (22:00–06:00)' }]);
  });
  app.get('/missing', () => { throw new NotFoundError('tariff', 'x'); });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
afterAll(async () => { await app.close(); });

describe('problem replies for domain errors', () => {
  it('lists the field a domain error names', async () => {
    const res = await fetch(`${base}/tariff`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      status: 400, code: 'TARIFF_DEFINITION',
      errors: [{ path: 'tariffs[2].periods[1].from', message: 'tariffs[2].periods[1].from: overlaps tariffs[2].periods[0] (22:00–06:00)' }],
    });
  });

  it('leaves errors out when the error names no field', async () => {
    const res = await fetch(`${base}/missing`);
    expect(res.status).toBe(404);
    expect(await res.json()).not.toHaveProperty('errors');
  });
});
