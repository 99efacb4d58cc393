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

  it('records a purchase once, finds it again by its key or its id, and sums every program\'s purchases across a restart', async () => {
    const p1 = { purchaseId: 'r1', wh: 30_250, idempotencyKey: 'k1', actor: 'token:counter', at: T0 };
    expect(await store.addPurchase('prepaid', p1)).toEqual({ created: true, stored: p1 });
    expect(await store.addPurchase('prepaid', { ...p1, at: T0 + 5 })).toEqual({ created: false, stored: p1 });
    expect(await store.addPurchase('prepaid', { ...p1, idempotencyKey: 'k-retyped', at: T0 + 6 })).toEqual({ created: false, stored: p1 });
    expect(await store.addPurchase('prepaid', { ...p1, purchaseId: 'r9', at: T0 + 7 })).toEqual({ created: false, stored: p1 });
    const p2 = { purchaseId: 'r2', wh: 1, idempotencyKey: 'k2', actor: 'user:alice', at: T0 + 10 };
    await store.addPurchase('prepaid', p2);
    // Ids and keys are per program.
    await store.addPurchase('other', { ...p1, wh: 5_000 });
    const restarted = programStateStoreOf(await db().connect());
    expect(await restarted.purchases('prepaid', 10)).toEqual([p2, p1]);
    expect(await restarted.purchases('prepaid', 1)).toEqual([p2]);
    expect(await restarted.purchaseTotals()).toEqual(new Map([['prepaid', { wh: 30_251, count: 2 }], ['other', { wh: 5_000, count: 1 }]]));
  });
});
