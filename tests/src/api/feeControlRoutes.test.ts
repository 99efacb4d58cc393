/**
 * The emergency flag and dry-run routes over a real socket, in front of fee control on the
 * embedded store: operators declare and lift the flag (audited), viewers may not; the dry run
 * shows what the next runs would decide, marked dryRun, and records nothing.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installAccessControl } from '../../../src/api/access.js';
import { feeControlRoutes } from '../../../src/api/feeControlRoutes.js';
import { Problem, installProblemHandlers } from '../../../src/api/problem.js';
import type { Principal } from '../../../src/auth/roles.js';
import { Q, T0, feeStation } from '../fees/run/station.js';

const TOKENS: Readonly<Record<string, Principal>> = {
  operator: { subject: 'user:olga', role: 'operator', via: 'token' },
  viewer: { subject: 'token:view', role: 'viewer', via: 'token' },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve() {
  const s = await feeStation(cleanups);
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(Problem);
  installProblemHandlers(app);
  installAccessControl(app, { auth: { authenticateToken: (t) => Promise.resolve(TOKENS[t]), authenticateSession: () => Promise.resolve(undefined), noteRefusal: () => undefined } });
  await app.register(feeControlRoutes, { prefix: '/api/v1', control: s.control });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  return { ...s, call };
}

describe('fee control routes', () => {
  it('lets operators declare and lift the emergency flag, audited, and refuses viewers', async () => {
    const s = await serve();
    s.clock.set(T0 + Q);
    expect((await s.call('GET', '/fees/emergency', 'operator')).body).toEqual({ active: false, reason: null, setBy: null, since: null });
    expect((await s.call('PUT', '/fees/emergency', 'viewer', { active: true })).status).toBe(403);
    const declared = await s.call('PUT', '/fees/emergency', 'operator', { active: true, reason: 'typhoon warning' });
    expect(declared).toEqual({ status: 200, body: { active: true, reason: 'typhoon warning', setBy: 'user:olga', since: new Date(T0 + Q).toISOString() } });
    expect((await s.call('GET', '/fees/emergency', 'operator')).body).toMatchObject({ active: true, reason: 'typhoon warning' });
    expect((await s.commands.audit.query({ limit: 10 })).items.map((e) => [e.action, e.actor])).toEqual([['fees.emergency.declare', 'user:olga']]);
    const bad = await s.call('PUT', '/fees/emergency', 'operator', { active: 'yes' });
    expect(bad.status).toBe(400);
  });

  it('shows what the next runs would decide, marked dryRun, and records nothing', async () => {
    const s = await serve();
    // Charged at once down to -10.00 CNY: the final warning now, disconnection at the next run.
    s.clock.set(T0 + 40 * Q + 60_000);
    await s.runner().run();
    expect((await s.fees.account('acc-1'))?.control.stage).toBe('warned-second');
    const at = [new Date(T0 + 41 * Q).toISOString(), new Date(T0 + 42 * Q).toISOString()];
    const page = await s.call('GET', `/fees/dry-run?at=${encodeURIComponent(at[1] ?? '')}&at=${encodeURIComponent(at[0] ?? '')}`, 'viewer');
    expect(page.status).toBe(200);
    expect(page.body.runs).toEqual(at);
    expect((page.body.decisions as Record<string, unknown>[]).map((d) => [d.accountId, d.at, d.action, d.dryRun])).toEqual([
      ['acc-1', at[0], 'disconnect', true], ['acc-1', at[1], 'none', true],
    ]);
    expect(page.body.next).toBeNull();
    expect(s.relay.log).toEqual([]);
    expect((await s.fees.decisions('acc-1', { limit: 10 })).items.map((d) => d.action)).toEqual(['warn-second']);
    // Under an emergency, the same run would wait.
    await s.call('PUT', '/fees/emergency', 'operator', { active: true });
    const held = await s.call('GET', `/fees/dry-run?at=${encodeURIComponent(at[0] ?? '')}`, 'viewer');
    expect((held.body.decisions as Record<string, unknown>[])[0]).toMatchObject({ action: 'wait', reason: 'emergency' });
    // Without times: the next two daily runs, 10:00 on the policy's clock (Asia/Shanghai; it is 18:01 there).
    const daily = await s.call('GET', '/fees/dry-run', 'viewer');
    expect(daily.body.runs).toEqual([new Date(Date.UTC(2025, 8, 25, 2)).toISOString(), new Date(Date.UTC(2025, 8, 26, 2)).toISOString()]);
    expect((await s.call('GET', '/fees/dry-run?at=soon', 'viewer')).status).toBe(400);
  });
});
