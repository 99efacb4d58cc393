/**
 * The command store's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, see tests/helpers/controlStores.ts): a command and its targets stored at once,
 * transitions appended in order, what a restart finds open, idempotency keys, list pages.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandStore, NewCommand } from '../../../src/control/commandStore.js';
import { STORE_DRIVERS, commandStoreOf, connectEachTest, disposeStoreDrivers } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2024, 0, 1);

function newCommand(id: string, createdAt: number, o: Partial<NewCommand> = {}): NewCommand {
  return {
    id, type: 'disconnect', params: {}, scope: { meterIds: ['m1', 'm2'] }, reason: 'arrears', overrideReason: null,
    origin: { kind: 'operator', actor: 'op' }, source: '10.0.0.1', idempotencyKey: null, bodyHash: null, createdAt,
    targets: [
      { meterId: 'm1', terminalId: 't1', address: '1', status: 'pending' },
      { meterId: 'm2', terminalId: 't1', address: '2', status: 'refused', error: { code: 'PROTECTED_METER', message: 'protected' } },
    ],
    ...o,
  };
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('command store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: CommandStore;
  beforeEach(() => {
    store = commandStoreOf(db().connection);
  });

  it('stores a command with its targets in order, refused ones with their error', async () => {
    await store.insert(newCommand('c1', T0, { params: { limitKw: 3.5 }, origin: { kind: 'program', id: 'p1', round: 2 } }));
    const c = await store.get('c1');
    expect(c).toMatchObject({ id: 'c1', type: 'disconnect', params: { limitKw: 3.5 }, scope: { meterIds: ['m1', 'm2'] }, reason: 'arrears', origin: { kind: 'program', id: 'p1', round: 2 }, source: '10.0.0.1', createdAt: T0 });
    expect(c?.targets.map((t) => [t.meterId, t.status, t.transitions.map((x) => x.status), t.error?.code ?? null])).toEqual([
      ['m1', 'pending', ['pending'], null],
      ['m2', 'refused', ['pending', 'refused'], 'PROTECTED_METER'],
    ]);
    expect(await store.get('nope')).toBeUndefined();
  });

  it('stores nothing of a command whose insert fails', async () => {
    await store.insert(newCommand('c1', T0));
    await expect(store.insert(newCommand('c2', T0, { targets: [{ meterId: 'm1', terminalId: 't1', address: '1', status: 'pending' }, { meterId: 'm1', terminalId: 't1', address: '1', status: 'pending' }] }))).rejects.toThrow();
    expect(await store.get('c2')).toBeUndefined();
    expect((await store.list({ limit: 10 })).items.map((c) => c.id)).toEqual(['c1']);
  });

  it('appends each transition, keeps state and error unless replaced, and clears the error when asked', async () => {
    await store.insert(newCommand('c1', T0));
    await store.transition('c1', 'm1', 'sent', T0 + 1);
    await store.transition('c1', 'm1', 'acknowledged', T0 + 2, { state: { connected: false } });
    const failed = await store.transition('c1', 'm1', 'failed', T0 + 3, { error: { code: 'NOT_VERIFIED', message: 'still closed' } });
    expect(failed).toMatchObject({ status: 'failed', state: { connected: false }, error: { code: 'NOT_VERIFIED', message: 'still closed' }, updatedAt: T0 + 3 });
    const verified = await store.transition('c1', 'm1', 'verified', T0 + 4, { error: null });
    expect(verified.error).toBeNull();
    expect(verified.state).toEqual({ connected: false });
    expect(verified.transitions).toEqual([
      { status: 'pending', at: T0 }, { status: 'sent', at: T0 + 1 }, { status: 'acknowledged', at: T0 + 2 }, { status: 'failed', at: T0 + 3 }, { status: 'verified', at: T0 + 4 },
    ]);
    expect(await store.target('c1', 'm1')).toEqual(verified);
  });

  it('marks a target sent under a fence only while the lease\'s token is current; the embedded store, one node, ignores the fence', async () => {
    await store.insert(newCommand('c1', T0));
    await store.insert(newCommand('c2', T0 + 1));
    const { postgres } = db().connection;
    if (postgres !== undefined) {
      await postgres.sql`INSERT INTO cluster_leases (name, holder, token, acquired_at, expires_at) VALUES ('leader', 'n2', 3, now(), now() + interval '1 hour')`;
      await expect(store.transition('c1', 'm1', 'sent', T0 + 2, { fence: { lease: 'leader', token: 2 } })).rejects.toMatchObject({ name: 'StaleFencingToken', code: 'STALE_FENCING_TOKEN', current: 3 });
      expect(await store.target('c1', 'm1')).toMatchObject({ status: 'pending', transitions: [{ status: 'pending', at: T0 }] });
      expect((await store.transition('c2', 'm1', 'sent', T0 + 3, { fence: { lease: 'leader', token: 3 } })).status).toBe('sent');
    } else {
      expect((await store.transition('c1', 'm1', 'sent', T0 + 2, { fence: { lease: 'leader', token: 2 } })).status).toBe('sent');
    }
  });

  it('refuses a transition of a target that does not exist', async () => {
    await store.insert(newCommand('c1', T0));
    await expect(store.transition('c1', 'm9', 'sent', T0)).rejects.toMatchObject({ code: 'UNKNOWN_COMMAND_TARGET' });
  });

  it('finds the open targets a restart must settle, oldest command first, on a new connection', async () => {
    await store.insert(newCommand('late', T0 + 10));
    await store.insert(newCommand('early', T0));
    await store.transition('early', 'm1', 'sent', T0 + 1);
    await store.insert(newCommand('done', T0 + 5));
    await store.transition('done', 'm1', 'cancelled', T0 + 6);
    const again = commandStoreOf(await db().connect());
    expect((await again.openTargets()).map((t) => [t.commandId, t.meterId, t.status])).toEqual([['early', 'm1', 'sent'], ['late', 'm1', 'pending']]);
  });

  it('finds a command by actor and idempotency key until the key expires', async () => {
    await store.insert(newCommand('c1', T0, { idempotencyKey: 'k', bodyHash: 'h1' }));
    expect(await store.byIdempotencyKey('op', 'k')).toMatchObject({ command: { id: 'c1' }, bodyHash: 'h1' });
    expect(await store.byIdempotencyKey('someone-else', 'k')).toBeUndefined();
    expect(await store.expireIdempotencyKeys(T0)).toBe(0);
    expect(await store.expireIdempotencyKeys(T0 + 1)).toBe(1);
    expect(await store.byIdempotencyKey('op', 'k')).toBeUndefined();
    await store.insert(newCommand('c2', T0 + 2, { idempotencyKey: 'k', bodyHash: 'h2' }));
    expect(await store.byIdempotencyKey('op', 'k')).toMatchObject({ command: { id: 'c2' } });
  });

  it('refuses a second command under the same actor and key', async () => {
    await store.insert(newCommand('c1', T0, { idempotencyKey: 'k' }));
    await expect(store.insert(newCommand('c2', T0, { idempotencyKey: 'k' }))).rejects.toThrow();
  });

  it('lists newest first in pages, filtered by status, type, meter and actor', async () => {
    for (let i = 0; i < 5; i++) {
      await store.insert(newCommand(`c${i}`, T0 + i, {
        type: i % 2 === 0 ? 'disconnect' : 'reconnect', origin: i === 4 ? { kind: 'program', id: 'op', round: 1 } : { kind: 'operator', actor: i === 3 ? 'other' : 'op' },
        targets: [{ meterId: `m${i}`, terminalId: 't1', address: String(i), status: 'pending' }],
      }));
    }
    await store.transition('c1', 'm1', 'verified', T0 + 9);
    const first = await store.list({ limit: 2 });
    expect(first.items.map((c) => c.id)).toEqual(['c4', 'c3']);
    const second = await store.list({ limit: 2, before: first.next ?? '' });
    expect(second.items.map((c) => c.id)).toEqual(['c2', 'c1']);
    const last = await store.list({ limit: 2, before: second.next ?? '' });
    expect([last.items.map((c) => c.id), last.next]).toEqual([['c0'], null]);
    expect((await store.list({ limit: 10, status: 'closed' })).items.map((c) => c.id)).toEqual(['c1']);
    expect((await store.list({ limit: 10, status: 'open' })).items.map((c) => c.id)).toEqual(['c4', 'c3', 'c2', 'c0']);
    expect((await store.list({ limit: 10, type: 'reconnect' })).items.map((c) => c.id)).toEqual(['c3', 'c1']);
    expect((await store.list({ limit: 10, meterId: 'm2' })).items.map((c) => c.id)).toEqual(['c2']);
    expect((await store.list({ limit: 10, actor: 'op' })).items.map((c) => c.id)).toEqual(['c2', 'c1', 'c0']);
    expect((await store.list({ limit: 10 })).items[0]?.targets.map((t) => t.meterId)).toEqual(['m4']);
  });
});
