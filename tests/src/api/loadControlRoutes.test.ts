/**
 * The load-control routes over a real socket, in front of a real evaluator whose devices are
 * stand-ins (the device side is covered by tests/integration/load-control.test.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState } from '../../../protocols/adapter.js';
import { installAuditHook } from '../../../src/api/auditRoutes.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import { loadControlRoutes } from '../../../src/api/loadControlRoutes.js';
import { installProblemHandlers, Problem } from '../../../src/api/problem.js';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../src/config/schema.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { LatestValues } from '../../../src/live/latest.js';
import { LoadControlEvaluator } from '../../../src/rules/loadControl/evaluator.js';
import { MemoryProgramStateStore } from '../../../src/rules/loadControl/stateStore.js';
import { openDatabase } from '../../../src/storage/db.js';
import { testCommandService } from '../../helpers/commandService.js';

const T0 = Date.UTC(2024, 5, 12, 2, 0, 0);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(more: readonly Partial<LoadControlProgramConfig>[] = []) {
  const clock = { t: T0 };
  const meters: Meter[] = ['m1', 'm2'].map((id) => ({
    id: meterId(id), name: id, terminalId: terminalId('t1'), address: id, ctRatio: 1, ptRatio: 1, areaId: null, protected: id === 'm2', customerRef: null, accountRef: null,
  }));
  const sent: string[] = [];
  const run = (_t: string, c: StationCommand): Promise<DeviceControlState> => {
    sent.push(`${c.address}:${c.type}`);
    return Promise.resolve(c.type === 'disconnect' ? { connected: false } : { connected: true });
  };
  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  const { service: port, actions } = testCommandService({ db, meters, run, now: () => clock.t });
  cleanups.push(() => port.close());
  const live = new LatestValues();
  const program = Value.Default(LoadControlProgram, {
    id: 'peak', name: 'Feeder 3 peak', kind: 'period', periods: [{ from: '00:00', to: '00:00', limitKw: 100 }], meters: ['m1', 'm2'],
    rounds: [{ afterMs: 0, action: 'disconnect', meters: ['m1', 'm2'] }],
  }) as LoadControlProgramConfig;
  const evaluator = new LoadControlEvaluator({
    programs: [program, ...more.map((p) => Value.Default(LoadControlProgram, p) as LoadControlProgramConfig)], live, store: new MemoryProgramStateStore(), utcOffsetMinutes: 0, now: () => clock.t,
    port,
    meters: { meter: (id) => meters.find((m) => m.id === id), metersOfArea: () => meters },
    onSignal: () => undefined, history: (id, limit) => actions.list({ programId: id, limit }),
  });
  await evaluator.ready();
  live.write(meters.map((m) => ({ meterId: m.id, quantity: 'power.active', value: 80, unit: 'kW', ts: T0, quality: 'good', source: { protocol: 'modbus', terminalId: terminalId('t1'), mode: 'poll' } })));
  // Validation as the station's server does it (src/api/server.ts): unknown body fields refused, not dropped.
  const app: FastifyInstance = Fastify({ ajv: { customOptions: { removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: true } } }).withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(Problem);
  installProblemHandlers(app);
  const audit = new SqliteAuditLog(db);
  await app.register(async (v1) => {
    installAuditHook(v1, { audit, onError: (err) => { throw err; } });
    await v1.register(loadControlRoutes, { programs: evaluator });
  }, { prefix: '/api/v1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/load-control/programs`;
  const call = async (method: string, path = '', body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { call, evaluator, sent, audit };
}

describe('load-control API', () => {
  it('lists programs with their state, load and limit', async () => {
    const { call, evaluator } = await serve();
    await evaluator.tick();
    const { status, body } = await call('GET');
    expect(status).toBe(200);
    expect(body.items).toMatchObject([{ id: 'peak', name: 'Feeder 3 peak', kind: 'period', state: 'alarming', load: 160, limit: 100, unit: 'kW', dryRun: false }]);
  });

  it('previews without acting, then shows the actions taken with their results', async () => {
    const { call, evaluator, sent } = await serve();
    const preview = await call('POST', '/peak/preview');
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ over: true, value: 160, limit: 100, rounds: [{ round: 1, meters: [{ meterId: 'm1', outcome: 'would-act' }, { meterId: 'm2', outcome: 'skipped-protected' }] }] });
    expect(sent).toEqual([]);
    await evaluator.tick(); // alarm
    await evaluator.tick(); // round 1 (afterMs 0)
    const detail = await call('GET', '/peak');
    expect(detail.body).toMatchObject({ state: 'round', round: 1 });
    expect((detail.body.actions as unknown[]).length).toBe(2);
    expect(detail.body.actions).toEqual(expect.arrayContaining([
      expect.objectContaining({ meterId: 'm2', status: 'refused', error: expect.objectContaining({ code: 'PROTECTED_METER' }) as unknown }),
      expect.objectContaining({ meterId: 'm1', status: 'verified', state: { connected: false } }),
    ]));
    expect(sent).toEqual(['m1:disconnect']);
  });

  it('disables (restoring what was tripped) and enables again', async () => {
    const { call, evaluator, sent } = await serve();
    await evaluator.tick();
    await evaluator.tick();
    const disabled = await call('POST', '/peak/disable');
    expect(disabled.body).toMatchObject({ state: 'disabled', tripped: [] });
    expect(sent).toEqual(['m1:disconnect', 'm1:reconnect']);
    expect((await call('POST', '/peak/enable')).body).toMatchObject({ state: 'armed' });
  });

  it('answers 404 problem+json for an unknown program', async () => {
    const { call } = await serve();
    for (const [method, path] of [['GET', '/nope'], ['POST', '/nope/enable'], ['POST', '/nope/disable'], ['POST', '/nope/preview']] as const) {
      const res = await call(method, path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});

describe('purchases of a purchase-energy program', () => {
  const prepaid = { id: 'prepaid', kind: 'purchase-energy' as const, purchasedKwh: 10, meters: ['m1'], rounds: [{ afterMs: 0, action: 'disconnect' as const, meters: ['m1'] }] };
  const buy = (call: Awaited<ReturnType<typeof serve>>['call'], body: unknown, key = 'key-1', path = '/prepaid/purchases') => call('POST', path, body, { 'idempotency-key': key });

  it('loads a purchase (201), answers a retry with the same purchase and adds nothing (200), shows it in the program, and audits both', async () => {
    const { call, audit } = await serve([prepaid]);
    const first = await buy(call, { purchaseId: 'receipt-1', kwh: 25.125 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ created: true, purchase: { purchaseId: 'receipt-1', kwh: 25.125 }, program: { id: 'prepaid', purchase: { purchasedKwh: 35.125, initialKwh: 10, remainingKwh: 35.125 } } });
    const retry = await buy(call, { purchaseId: 'receipt-1', kwh: 25.125 });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ created: false, program: { purchase: { purchasedKwh: 35.125, purchaseCount: 1 } } });
    const shown = await call('GET', '/prepaid');
    expect(shown.body).toMatchObject({ kind: 'purchase-energy', unit: 'kWh', purchase: { purchasedKwh: 35.125, consumedKwh: 0, remainingKwh: 35.125, purchases: [{ purchaseId: 'receipt-1', kwh: 25.125 }] } });
    const entries = (await audit.query({ limit: 10 })).items;
    expect(entries.map((e) => [e.action, e.target, e.outcome, e.detail])).toEqual([
      ['load-control.purchase', 'load-control-program:prepaid', 'ok', { status: 200, purchaseId: 'receipt-1', kwh: 25.125, replay: true }],
      ['load-control.purchase', 'load-control-program:prepaid', 'ok', { status: 201, purchaseId: 'receipt-1', kwh: 25.125, replay: false }],
    ]);
  });

  it('refuses bad input with a 400 naming the field, and nothing is loaded', async () => {
    const { call } = await serve([prepaid]);
    const cases: [unknown, string][] = [
      [{ purchaseId: 'r', kwh: 1.0005 }, 'body.kwh'],
      [{ purchaseId: 'r', kwh: 0 }, 'body.kwh'],
      [{ purchaseId: 'r', kwh: -5 }, 'body.kwh'],
      [{ purchaseId: 'r', kwh: 100_000.001 }, 'body.kwh'],
      [{ purchaseId: 'r', kwh: 'twelve' }, 'body.kwh'],
      [{ purchaseId: 'r', kwh: null }, 'body.kwh'],
      [{ kwh: 5 }, 'purchaseId'],
      [{ purchaseId: '', kwh: 5 }, 'body.purchaseId'],
      [{ purchaseId: 'r', kwh: 5, amount: 3 }, 'body.amount'],
    ];
    for (const [body, field] of cases) {
      const res = await buy(call, body);
      expect([JSON.stringify(body), res.status, res.body.code]).toEqual([JSON.stringify(body), 400, 'VALIDATION']);
      expect(res.body.detail).toContain(field);
    }
    const noKey = await call('POST', '/prepaid/purchases', { purchaseId: 'r', kwh: 5 });
    expect([noKey.status, noKey.body.code]).toEqual([400, 'VALIDATION']);
    expect(noKey.body.detail).toContain('idempotency-key');
    expect((await call('GET', '/prepaid')).body).toMatchObject({ purchase: { purchasedKwh: 10, purchaseCount: 0 } });
  });

  it('answers 409 for a key or purchase id used for another purchase, or a program of another kind, and 404 for an unknown one', async () => {
    const { call } = await serve([prepaid]);
    expect((await buy(call, { purchaseId: 'r1', kwh: 5 })).status).toBe(201);
    expect((await buy(call, { purchaseId: 'r2', kwh: 5 })).body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    expect((await buy(call, { purchaseId: 'r1', kwh: 6 }, 'key-2')).body).toMatchObject({ status: 409, code: 'PURCHASE_CONFLICT' });
    expect((await buy(call, { purchaseId: 'r1', kwh: 5 }, 'key-3', '/peak/purchases')).body).toMatchObject({ status: 409, code: 'NOT_PURCHASE_PROGRAM' });
    expect((await buy(call, { purchaseId: 'r1', kwh: 5 }, 'key-3', '/nope/purchases')).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});
