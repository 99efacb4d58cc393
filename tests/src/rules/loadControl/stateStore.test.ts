/**
 * The load-control program state store, one suite run against every driver (embedded SQLite
 * and PostgreSQL, see tests/helpers/controlStores.ts): a program's whole state round-trips
 * through a restart, and a later save replaces it.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { initialState, type ProgramState } from '../../../../src/rules/loadControl/machine.js';
import type { ProgramStateStore } from '../../../../src/rules/loadControl/stateStore.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, programStateStoreOf } from '../../../helpers/storeDrivers.js';

const T0 = Date.UTC(2024, 6, 1, 12);

/** A program halfway through its second round, with one meter tripped and a monthly baseline. */
const inRound: ProgramState = {
  ...initialState(true, T0),
  phase: 'round', round: 2, since: T0 + 60_000, overSince: T0, executingRound: 2,
  tripped: [{ meterId: 'm1', command: 'set-limit', round: 1, limitKw: 7.5, status: 'verified', at: T0 + 1_000 }],
  floating: { armedAt: T0, limitKw: 123.4 }, monthly: { month: '2024-07', baselines: { m1: 1000.5 } },
  last: { at: T0 + 60_000, value: 150.25, limit: 100, basis: 'period 00:00–00:00' },
};

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('load-control state store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: ProgramStateStore;
  beforeEach(() => {
    store = programStateStoreOf(db().connection);
  });

  it('knows nothing of a program never saved', async () => {
    expect(await store.load('peak')).toBeUndefined();
  });

  it('gives a restarted station the whole state a program was in', async () => {
    await store.save('peak', inRound, T0 + 60_000);
    const restarted = programStateStoreOf(await db().connect());
    expect(await restarted.load('peak')).toEqual(inRound);
    expect(await restarted.load('other')).toBeUndefined();
  });

  it('replaces the state at each save, program by program', async () => {
    await store.save('peak', inRound, T0);
    await store.save('night', initialState(false, T0), T0);
    const armed: ProgramState = { ...inRound, phase: 'armed', executingRound: null, tripped: [] };
    await store.save('peak', armed, T0 + 1);
    expect(await store.load('peak')).toEqual(armed);
    expect(await store.load('night')).toEqual(initialState(false, T0));
  });
});
