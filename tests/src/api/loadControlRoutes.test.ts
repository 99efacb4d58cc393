/**
 * The load-control routes over a real socket, in front of a real evaluator whose devices are
 * stand-ins (the device side is covered by tests/integration/load-control.test.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState } from '../../../protocols/adapter.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import { loadControlRoutes } from '../../../src/api/loadControlRoutes.js';
import { installProblemHandlers, Problem } from '../../../src/api/problem.js';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../src/config/schema.js';
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

async function serve() {
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
    programs: [program], live, store: new MemoryProgramStateStore(), utcOffsetMinutes: 0, now: () => clock.t,
    port,
    meters: { meter: (id) => meters.find((m) => m.id === id), metersOfArea: () => meters },
    onSignal: () => undefined, history: (id, limit) => actions.list({ programId: id, limit }),
  });
  await evaluator.ready();
  live.write(meters.map((m) => ({ meterId: m.id, quantity: 'power.active', value: 80, unit: 'kW', ts: T0, quality: 'good', source: { protocol: 'modbus', terminalId: terminalId('t1'), mode: 'poll' } })));
  const app: FastifyInstance = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(Problem);
  installProblemHandlers(app);
  await app.register(loadControlRoutes, { prefix: '/api/v1', programs: evaluator });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/load-control/programs`;
  const call = async (method: string, path = '') => {
    const res = await fetch(`${base}${path}`, { method });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { call, evaluator, sent };
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
