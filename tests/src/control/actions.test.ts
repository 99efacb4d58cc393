/**
 * The control action log's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, see tests/helpers/controlStores.ts): written pending before the device is
 * touched, finished once, closed as interrupted by the next start, listed newest first.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ControlActionStore } from '../../../src/control/actions.js';
import type { ControlRequest } from '../../../src/control/port.js';
import { STORE_DRIVERS, actionStoreOf, connectEachTest, disposeStoreDrivers } from '../../helpers/storeDrivers.js';

const program = (meterId: string, command: ControlRequest['command'], round = 1): ControlRequest => ({
  meterId, command, origin: { kind: 'program', id: 'peak', round }, reason: `round ${round}`, ...(command === 'set-limit' ? { limitKw: 7.5 } : {}),
});

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('control action log on $name', (driver) => {
  const db = connectEachTest(driver);
  let actions: ControlActionStore;
  beforeEach(() => {
    actions = actionStoreOf(db().connection);
  });

  it('records a request pending, then its result once', async () => {
    const id = await actions.begin(program('m1', 'set-limit'), 10);
    expect(await actions.get(id)).toEqual({
      id, meterId: 'm1', command: 'set-limit', limitKw: 7.5, origin: { kind: 'program', id: 'peak', round: 1 }, reason: 'round 1',
      requestedAt: 10, status: 'pending', finishedAt: null, state: null, error: null,
    });
    await actions.finish(id, { status: 'verified', state: { connected: true, limitKw: 7.5 } }, 20);
    await actions.finish(id, { status: 'failed', error: { code: 'LATE', message: 'a second result' } }, 30);
    expect(await actions.get(id)).toMatchObject({ status: 'verified', finishedAt: 20, state: { connected: true, limitKw: 7.5 }, error: null });
    expect(await actions.get(id + 1000)).toBeUndefined();
  });

  it('closes what a previous run left pending as INTERRUPTED, on a new connection, once', async () => {
    const open = await actions.begin(program('m1', 'disconnect'), 5);
    const done = await actions.begin(program('m2', 'disconnect'), 5);
    await actions.finish(done, { status: 'refused', error: { code: 'PROTECTED_METER', message: 'protected' } }, 6);
    const restarted = actionStoreOf(await db().connect());
    expect(await restarted.closeInterrupted(9)).toBe(1);
    expect(await restarted.get(open)).toMatchObject({ status: 'failed', finishedAt: 9, error: { code: 'INTERRUPTED' } });
    expect(await restarted.get(done)).toMatchObject({ status: 'refused', error: { code: 'PROTECTED_METER' } });
    expect(await restarted.closeInterrupted(10)).toBe(0);
  });

  it('lists newest first, by program and by meter, within the limit', async () => {
    for (let i = 0; i < 4; i++) await actions.begin(program(`m${i % 2}`, 'disconnect', i), i);
    await actions.begin({ meterId: 'm0', command: 'reconnect', origin: { kind: 'operator', actor: 'op' }, reason: 'by hand' }, 9);
    expect((await actions.list()).map((a) => a.requestedAt)).toEqual([9, 3, 2, 1, 0]);
    expect((await actions.list({ programId: 'peak' })).map((a) => a.requestedAt)).toEqual([3, 2, 1, 0]);
    expect((await actions.list({ meterId: 'm0' })).map((a) => a.requestedAt)).toEqual([9, 2, 0]);
    expect((await actions.list({ meterId: 'm0', programId: 'peak', limit: 1 })).map((a) => a.requestedAt)).toEqual([2]);
    expect((await actions.list({ meterId: 'm0' }))[0]?.origin).toEqual({ kind: 'operator', actor: 'op' });
  });
});
