/**
 * The OpenAPI document at /docs/json is complete: every API route the server
 * enforces access on is documented with a description and its success response, and the
 * document says how to authenticate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHeadEnd, type TestHeadEnd } from '../helpers/headend.js';

let he: TestHeadEnd;

beforeAll(async () => {
  he = await startTestHeadEnd({ simulators: { enabled: false }, mqtt: { embeddedBroker: { enabled: true, port: 0 } } }, { env: { GRIDHEAD_MASTER_KEY: '11'.repeat(32) } });
});

afterAll(async () => {
  await he.close();
});

interface Operation { readonly description?: string; readonly summary?: string; readonly responses?: Record<string, unknown>; readonly security?: unknown[] }

/** Fastify's `/meters/:id` is OpenAPI's `/meters/{id}`; a wildcard stays as it is. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

describe('the OpenAPI document', () => {
  it('documents every /api/v1 route with a description and a success response, and the bearer and cookie schemes', async () => {
    const doc = (await (await fetch(`${he.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
      components?: { securitySchemes?: Record<string, { type: string }> };
      security?: unknown[];
    };
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual(['bearer', 'session']);
    expect(doc.security?.length).toBeGreaterThan(0);

    const routes = (await he.get('/api/v1/auth/routes')).body as { items: { method: string; url: string; access: string }[] };
    const api = routes.items.filter((r) => r.url.startsWith('/api/v1/'));
    expect(api.length).toBeGreaterThan(60);
    const undocumented: string[] = [];
    for (const r of api) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      const text = op?.description ?? op?.summary ?? '';
      const success = Object.keys(op?.responses ?? {}).some((code) => code.startsWith('2'));
      if (op === undefined || text.length === 0 || !success) undocumented.push(`${r.method} ${r.url}`);
    }
    expect(undocumented).toEqual([]);
  });
});
