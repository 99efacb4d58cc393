/**
 * Only the leader's rounds: on a real PostgreSQL, a leader that raised a program's alarm and was
 * then paused while a standby took over wakes up when round 1 is due; the store refuses the
 * round's state under its old token, so it sends nothing and stops the program, saying so once.
 * The new leader takes the program up where the store has it and runs the round.
 */
import { Value } from 'typebox/value';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { StationCommand } from '../../../../src/control/commandModel.js';
import type { Leadership, StaleFencingToken } from '../../../../src/cluster/fencing.js';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../../src/config/schema.js';
import { meterId, terminalId, type Meter } from '../../../../src/domain/index.js';
import { LatestValues } from '../../../../src/live/latest.js';
import { LoadControlEvaluator } from '../../../../src/rules/loadControl/evaluator.js';
import { PostgresProgramStateStore } from '../../../../src/rules/loadControl/postgresStateStore.js';
import { openDatabase } from '../../../../src/storage/db.js';
import { openPostgres } from '../../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../../src/storage/postgres/migrations.js';
import { testCommandService } from '../../../helpers/commandService.js';
import { pausableLeader } from '../../../helpers/pausableLeader.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the fenced load-control round tests: ${unavailable}`);

const T0 = Date.UTC(2024, 5, 12, 2, 0, 0);
const S = 1_000;
const METERS: Meter[] = ['m1', 'm2'].map((id) => ({
  id: meterId(id), name: id, terminalId: terminalId('t1'), address: id.slice(1), ctRatio: 1, ptRatio: 1, areaId: null,
  protected: false, customerRef: null, accountRef: null,
}));
const PROGRAM = Value.Default(LoadControlProgram, {
  id: 'peak', kind: 'period', periods: [{ from: '00:00', to: '00:00', limitKw: 200 }], meters: ['m1', 'm2'],
  rounds: [{ afterMs: 60 * S, action: 'disconnect', meters: ['m1'] }],
}) as LoadControlProgramConfig;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let cluster: TestPostgres | undefined;
afterAll(async () => {
  await cluster?.dispose();
});

/** One node's load control over its own stand-in device; `clock` is shared so both nodes see one time. */
function node(store: PostgresProgramStateStore, leadership: Leadership, clock: { t: number }) {
  const db = openDatabase(':memory:');
  const sent: string[] = [];
  const run = (_t: string, c: StationCommand) => {
    sent.push(`m${c.address}:${c.type}`);
    return Promise.resolve({ connected: c.type !== 'disconnect' });
  };
  const { service: port } = testCommandService({ db, meters: METERS, run, now: () => clock.t });
  cleanups.push(async () => { await port.close(); db.close(); });
  const live = new LatestValues();
  const fencedOut: (StaleFencingToken | undefined)[] = [];
  const errors: Error[] = [];
  const evaluator = new LoadControlEvaluator({
    programs: [PROGRAM], port, live, store, utcOffsetMinutes: 0, leadership, now: () => clock.t,
    meters: { meter: (id) => METERS.find((m) => m.id === id), metersOfArea: () => METERS },
    areaLoad: { freshMs: 180 * S, powerFactor: 0.9, excluded: new Set() },
    onSignal: () => undefined, onError: (_p, e) => { errors.push(e); },
    onFenced: (_p, refusal) => { fencedOut.push(refusal); },
  });
  const at = async (seconds: number, kw: readonly [number, number]) => {
    clock.t = T0 + seconds * S;
    live.write(METERS.map((m, i) => ({
      meterId: m.id, quantity: 'power.active', value: kw[i] ?? 0, unit: 'kW', ts: clock.t, quality: 'good',
      source: { protocol: 'modbus', terminalId: terminalId('t1'), mode: 'poll' },
    })));
    await evaluator.tick();
  };
  return { evaluator, sent, fencedOut, errors, at };
}

describe.skipIf(unavailable !== undefined)('fenced load-control rounds on PostgreSQL', () => {
  /** A fresh migrated database, its program state store, two nodes that can lead, and the shared clock. */
  async function station() {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    cleanups.push(() => db.close());
    await migratePostgres(db);
    const store = new PostgresProgramStateStore(db);
    const leaders = await pausableLeader(db, url);
    cleanups.push(() => leaders.dispose());
    return { store, leaders, clock: { t: T0 } };
  }

  it('refuses the round of a woken old leader before any command; the new leader runs it from the stored state', async () => {
    const { store, leaders, clock } = await station();

    // Leading, the old node raises the alarm: stored under its token.
    const old = node(store, leaders.believed, clock);
    await old.evaluator.ready();
    await old.at(0, [150, 70]);
    expect(await store.load('peak')).toMatchObject({ phase: 'alarming', round: 0 });

    const current = await leaders.takeOver();

    // Awake when round 1 is due: refused before the device hears anything, said once.
    await old.at(60, [150, 70]);
    await old.at(61, [150, 70]);
    expect(old.sent).toEqual([]);
    expect(old.fencedOut).toHaveLength(1);
    expect(old.fencedOut[0]).toMatchObject({ code: 'STALE_FENCING_TOKEN', token: 1, current: 2 });
    expect(await store.load('peak')).toMatchObject({ phase: 'alarming', round: 0, executingRound: null, tripped: [] });

    // The new leader takes the program up from the store and runs round 1, once.
    const fresh = node(store, current, clock);
    await fresh.evaluator.ready();
    await fresh.at(62, [150, 70]);
    expect(fresh.sent).toEqual(['m1:disconnect']);
    expect(await store.load('peak')).toMatchObject({ phase: 'round', round: 1, executingRound: null, tripped: [{ meterId: 'm1', status: 'verified' }] });
    expect(old.sent).toEqual([]);
    expect([...old.errors, ...fresh.errors]).toEqual([]);
  }, 60_000);
  it('a standby that takes over runs the round the old leader stored, not the state it loaded at its own start', async () => {
    const { store, leaders, clock } = await station();

    // The standby starts first and stays warm: its program state is what the store held then (nothing).
    const term: { lease?: Leadership } = {};
    const standby = node(store, { fence: () => term.lease?.fence() }, clock);
    await standby.evaluator.ready();
    const old = node(store, leaders.believed, clock);
    await old.evaluator.ready();
    await old.at(0, [150, 70]);
    await standby.at(0, [150, 70]);
    expect(standby.sent).toEqual([]);
    expect(await store.load('peak')).toMatchObject({ phase: 'alarming', round: 0 });

    // Taking over, the standby goes on from the stored onset: round 1 is due at 60 s, not 60 s after the takeover.
    term.lease = await leaders.takeOver();
    await standby.at(62, [150, 70]);
    await standby.at(63, [150, 70]);
    expect(standby.sent).toEqual(['m1:disconnect']);
    expect(await store.load('peak')).toMatchObject({ phase: 'round', round: 1, tripped: [{ meterId: 'm1', status: 'verified' }] });
    expect([...old.errors, ...standby.errors]).toEqual([]);
  }, 60_000);
});
