/**
 * The HTTP API as a route test needs it: the registry, audit log and auth it gives, the parts
 * under test, and every other part an empty stand-in (no readings, no collection statistics,
 * a healthy single node, no metrics). Listens on a free port of 127.0.0.1.
 */
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiDeps } from '../../src/api/server.js';
import { createLogger } from '../../src/observe/logger.js';
import { createMetrics } from '../../src/observe/metrics.js';

type Given = Pick<ApiDeps, 'registry' | 'audit' | 'auth'> & Partial<ApiDeps>;

/** The listening API and its origin, `http://127.0.0.1:<port>`. */
export async function listenRouteApi(given: Given): Promise<{ readonly app: FastifyInstance; readonly origin: string }> {
  const app = await buildApi({
    logger: createLogger('silent'), bodyLimitBytes: 1 << 20, registryImportLimitBytes: 1 << 20,
    readings: { latest: () => Promise.resolve([]), series: () => Promise.resolve([]) },
    stats: { perTerminal: () => Promise.resolve([]), areaDays: () => Promise.resolve([]), today: () => '2026-01-05' },
    terminalState: () => undefined,
    health: () => ({ status: 'ok', node: { id: 'test', roles: ['api'], leader: true, duties: 'active', leaderDuties: 'active', shards: [] }, components: {} }),
    metrics: createMetrics([]),
    ...given,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, origin: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` };
}
