/**
 * The idempotency keys a program's requests carry: derived from the program's stored state, so
 * the node that resumes a round (after a restart, or a new leader after a takeover) asks for the
 * meters with no stored result under the keys the round used before, and the control port
 * answers with the commands those made instead of making new ones. A restore resumed the same
 * way keeps its keys; a retry after a failed restore, and the next shedding episode, get new ones.
 */
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../../src/config/schema.js';
import type { ControlPort, ControlRequest, ControlResult } from '../../../../src/control/port.js';
import { meterId, terminalId, type Meter } from '../../../../src/domain/index.js';
import { LatestValues } from '../../../../src/live/latest.js';
import { LoadControlEvaluator } from '../../../../src/rules/loadControl/evaluator.js';
import { MemoryProgramStateStore } from '../../../../src/rules/loadControl/stateStore.js';

const T0 = Date.UTC(2024, 5, 12, 2, 0, 0);
const S = 1_000;
const METERS: Meter[] = ['m1', 'm2'].map((id) => ({
  id: meterId(id), name: id, terminalId: terminalId('t1'), address: id.slice(1), ctRatio: 1, ptRatio: 1, areaId: null,
  protected: false, customerRef: null, accountRef: null,
}));
const PROGRAM = Value.Default(LoadControlProgram, {
  id: 'peak', kind: 'period', periods: [{ from: '00:00', to: '00:00', limitKw: 200 }], meters: ['m1', 'm2'],
  hysteresisPercent: 10, restoreAfterMs: 300 * S, rounds: [{ afterMs: 60 * S, action: 'disconnect', meters: ['m1', 'm2'] }],
}) as LoadControlProgramConfig;

/** A control port that records what it is asked and answers as the test says; `never` leaves a request unanswered (the node dies waiting). */
class RecordingPort implements ControlPort {
  readonly asked: ControlRequest[] = [];
  constructor(private readonly answer: (r: ControlRequest) => ControlResult | 'never' = () => ({ status: 'verified' })) {}

  execute(request: ControlRequest): Promise<ControlResult> {
    this.asked.push(request);
    const a = this.answer(request);
    return a === 'never' ? new Promise<ControlResult>(() => undefined) : Promise.resolve(a);
  }

  keys(): string[] {
    return this.asked.map((r) => `${r.meterId} ${r.command} ${r.idempotencyKey ?? '(none)'}`);
  }
}

/** One node's evaluator over the shared state store, on a shared clock. */
function node(store: MemoryProgramStateStore, port: ControlPort, clock: { t: number }) {
  const live = new LatestValues();
  const evaluator = new LoadControlEvaluator({
    programs: [PROGRAM], port, live, store, utcOffsetMinutes: 0, now: () => clock.t,
    meters: { meter: (id) => METERS.find((m) => m.id === id), metersOfArea: () => METERS },
    areaLoad: { freshMs: 180 * S, powerFactor: 0.9, excluded: new Set() },
    onSignal: () => undefined,
  });
  const at = (seconds: number, kw: readonly [number, number]): Promise<void> => {
    clock.t = T0 + seconds * S;
    live.write(METERS.map((m, i) => ({
      meterId: m.id, quantity: 'power.active', value: kw[i] ?? 0, unit: 'kW', ts: clock.t, quality: 'good',
      source: { protocol: 'modbus', terminalId: terminalId('t1'), mode: 'poll' },
    })));
    // A tick whose round never ends (the node "dies") is not awaited.
    return Promise.race([evaluator.tick(), new Promise<void>((r) => { setImmediate(r); })]);
  };
  return { evaluator, at };
}

describe('idempotency keys of a program\'s requests', () => {
  it('a round resumed on another node asks for the meters with no stored result under the keys the round used', async () => {
    const store = new MemoryProgramStateStore();
    const clock = { t: T0 };
    const dying = new RecordingPort((r) => (r.meterId === 'm2' ? 'never' : { status: 'verified' }));
    const first = node(store, dying, clock);
    await first.at(0, [150, 70]);
    await first.at(60, [150, 70]);
    expect(dying.asked.map((r) => r.meterId)).toEqual(['m1', 'm2']);
    expect(new Set(dying.asked.map((r) => r.idempotencyKey)).size).toBe(2);
    expect((await store.load('peak'))?.tripped.map((a) => a.meterId)).toEqual(['m1']);

    const taking = new RecordingPort();
    const next = node(store, taking, clock);
    await next.at(61, [150, 70]);
    expect(taking.keys()).toEqual(dying.keys().filter((k) => k.startsWith('m2 ')));
    expect((await store.load('peak'))?.tripped.map((a) => `${a.meterId}:${a.status}`)).toEqual(['m1:verified', 'm2:verified']);
  });

  it('a restore resumed on another node keeps its keys; a retry after a failed restore, and the next episode, ask under new ones', async () => {
    const store = new MemoryProgramStateStore();
    const clock = { t: T0 };
    const shedding = new RecordingPort((r) => (r.command === 'reconnect' ? { status: 'failed', error: { code: 'TIMEOUT', message: 'no answer' } } : { status: 'verified' }));
    const a = node(store, shedding, clock);
    await a.at(0, [150, 70]);
    await a.at(60, [150, 70]);
    await a.at(70, [10, 10]);
    await a.at(370, [10, 10]); // restore attempt 1 fails
    const attempt1 = shedding.keys().filter((k) => k.includes('reconnect'));
    expect(attempt1).toHaveLength(2);
    expect((await store.load('peak'))).toMatchObject({ phase: 'restoring', restoreFailures: 1 });

    // Attempt 2 starts on a node that dies before any answer; the next node resumes it.
    const dying = new RecordingPort((r) => (r.command === 'reconnect' ? 'never' : { status: 'verified' }));
    const b = node(store, dying, clock);
    await b.at(400, [10, 10]);
    expect(dying.keys()).toHaveLength(1);
    const taking = new RecordingPort();
    const c = node(store, taking, clock);
    await c.at(401, [10, 10]);
    const attempt2 = taking.keys();
    expect(attempt2).toHaveLength(2);
    expect(attempt2).toContain(dying.keys()[0]);
    expect(attempt2.filter((k) => attempt1.includes(k))).toEqual([]);
    expect((await store.load('peak'))).toMatchObject({ phase: 'armed', tripped: [] });

    // Shedding again later: a new episode, new keys for the same round and meters.
    await c.at(500, [150, 70]);
    await c.at(560, [150, 70]);
    const rounds = [...shedding.keys(), ...taking.keys()].filter((k) => k.includes('disconnect'));
    expect(rounds).toHaveLength(4);
    expect(new Set(rounds).size).toBe(4);
  });
});
