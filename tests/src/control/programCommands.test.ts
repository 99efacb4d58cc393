/**
 * A load-control program's requests through the control port: idempotent under the key the
 * program derives from its stored state (asked again, on the same node or after a restart or a
 * takeover, a request awaits the command the key made and never makes a second one), and awaited
 * to their outcome when another node executes them: on PostgreSQL the `finished` notification
 * wakes the wait, which is bounded by control.remoteWaitMs.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState } from '../../../protocols/adapter.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import type { FencingToken } from '../../../src/cluster/fencing.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { SqliteCommandStore, type CommandStore } from '../../../src/control/commandStore.js';
import { CommandService, type CommandPlacement, type CommandRunner, type CommandSettings } from '../../../src/control/commands.js';
import type { ControlRequest } from '../../../src/control/port.js';
import { PostgresCommandStore } from '../../../src/control/postgresCommandStore.js';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { TEST_COMMAND_SETTINGS } from '../../helpers/commandService.js';
import { eventually } from '../../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the program command tests on PostgreSQL: ${unavailable}`);

const METER: Meter = {
  id: meterId('m1'), name: 'm1', terminalId: terminalId('t1'), address: '1', ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null,
};
const LEASE = 'area:tx1';

const setLimit = (key: string | undefined, limitKw = 50, reason = 'round 1'): ControlRequest => ({
  meterId: 'm1', command: 'set-limit', limitKw, origin: { kind: 'program', id: 'peak', round: 1 }, reason, ...(key === undefined ? {} : { idempotencyKey: key }),
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let cluster: TestPostgres | undefined;
afterAll(async () => {
  await cluster?.dispose();
});

/** The meter's limiter, shared by every node's runner as the field device is; what each node sent, apart. */
class Limiter {
  limitKw: number | null = null;
  /** set-limit operations the device executed, whoever sent them. */
  executed = 0;

  node(hold?: (c: StationCommand) => Promise<void> | undefined) {
    const sent: StationCommand[] = [];
    const run: CommandRunner = async (_t, c, { signal }) => {
      sent.push(c);
      if (c.type === 'set-limit') {
        // The device acts at once; its answer may be held (lost with the node that waits for it).
        this.limitKw = c.limitKw;
        this.executed++;
      }
      const held = hold?.(c);
      if (held !== undefined) {
        await new Promise<void>((resolve, reject) => {
          held.then(resolve, reject);
          signal.addEventListener('abort', () => { reject(new Error('stopped')); }, { once: true });
        });
      }
      return { limitKw: this.limitKw } satisfies DeviceControlState;
    };
    return { sent, run };
  }
}

function service(store: CommandStore, run: CommandRunner, placement: CommandPlacement, settings: Partial<CommandSettings> = {}): CommandService {
  const auditDb = openDatabase(':memory:');
  const s = new CommandService({
    store, audit: new SqliteAuditLog(auditDb), run, placement,
    settings: { ...TEST_COMMAND_SETTINGS, backstopPollMs: 600_000, ...settings },
    meters: { meter: (id) => (id === METER.id ? METER : undefined), metersOfArea: () => undefined },
    onStoreError: (err) => { throw err; },
  });
  cleanups.push(async () => { await s.close(); auditDb.close(); });
  return s;
}

function embedded(): Db {
  const db = openDatabase(':memory:');
  cleanups.push(() => { db.close(); });
  return db;
}

describe('idempotent program commands on the embedded store', () => {
  it('a second request with the same key, asked while the first is in flight, creates no second command and answers with the first one\'s outcome', async () => {
    const store = new SqliteCommandStore(embedded());
    const limiter = new Limiter();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const node = limiter.node(() => held);
    const s = service(store, node.run, { fenceFor: () => null });
    await s.start();
    const first = s.execute(setLimit('round/1000/round-1/set-limit/m1', 50, 'load 120 kW'));
    // The same request worded for the load a moment later, as a resumed round asks it.
    const second = s.execute(setLimit('round/1000/round-1/set-limit/m1', 50, 'load 125 kW'));
    await eventually(() => Promise.resolve(node.sent.length > 0 ? true : undefined), 10_000, 'the send');
    release();
    const [made] = (await store.list({ limit: 10 })).items;
    const result = { status: 'verified', commandId: made?.id, state: { limitKw: 50 } };
    expect(await first).toEqual(result);
    expect(await second).toEqual(result);
    // Asked once more after the end: the stored outcome at once.
    expect(await s.execute(setLimit('round/1000/round-1/set-limit/m1'))).toEqual(result);
    expect((await store.list({ limit: 10 })).items).toHaveLength(1);
    expect(node.sent).toEqual([{ type: 'set-limit', address: '1', limitKw: 50 }]);
  });

  it('refuses a key that made a different request, and makes a new command for a new key', async () => {
    const store = new SqliteCommandStore(embedded());
    const limiter = new Limiter();
    const node = limiter.node();
    const s = service(store, node.run, { fenceFor: () => null });
    await s.start();
    expect(await s.execute(setLimit('k', 50))).toMatchObject({ status: 'verified' });
    expect(await s.execute(setLimit('k', 60))).toMatchObject({ status: 'failed', error: { code: 'IDEMPOTENCY_CONFLICT' } });
    expect(await s.execute(setLimit('k2', 60))).toEqual({ status: 'verified', commandId: expect.any(String) as string, state: { limitKw: 60 } });
    expect(limiter.executed).toBe(2);
  });

  it('asked again after a restart, awaits the read-back of the send whose answer was lost instead of sending it again', async () => {
    const db = embedded();
    const limiter = new Limiter();
    const before = limiter.node(() => new Promise<void>(() => undefined));
    const dying = new CommandService({
      store: new SqliteCommandStore(db), audit: new SqliteAuditLog(db), run: before.run, placement: { fenceFor: () => null },
      settings: TEST_COMMAND_SETTINGS, meters: { meter: () => METER, metersOfArea: () => undefined }, onStoreError: (err) => { throw err; },
    });
    await dying.start();
    void dying.execute(setLimit('round/1000/round-1/set-limit/m1'));
    await eventually(() => Promise.resolve(before.sent.length > 0 ? true : undefined), 10_000, 'the send');
    await dying.close(); // the station stops with the set-limit sent and unanswered

    const after = limiter.node();
    const s = service(new SqliteCommandStore(db), after.run, { fenceFor: () => null });
    const asked = s.execute(setLimit('round/1000/round-1/set-limit/m1'));
    await s.start();
    expect(await asked).toEqual({ status: 'verified', commandId: expect.any(String) as string, state: { limitKw: 50 } });
    expect(after.sent).toEqual([{ type: 'read-state', address: '1', of: 'limit' }]);
    expect(limiter.executed).toBe(1);
  });
});

describe.skipIf(unavailable !== undefined)('program commands across nodes on PostgreSQL', () => {
  async function database(): Promise<PostgresDatabase> {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    cleanups.push(() => db.close());
    await migratePostgres(db);
    await db.sql`INSERT INTO cluster_leases (name, holder, token, acquired_at, expires_at) VALUES (${LEASE}, 'node-a', 1, now(), now() + interval '1 hour')`;
    return db;
  }
  const takeOver = async (db: PostgresDatabase, holder: string): Promise<FencingToken> => {
    const [row] = await db.sql<{ token: string }[]>`UPDATE cluster_leases SET holder = ${holder}, token = token + 1 WHERE name = ${LEASE} RETURNING token`;
    return { lease: LEASE, token: Number(row?.token) };
  };

  it('awaits the outcome of a target another node executes, woken by that node\'s finished notification', async () => {
    const db = await database();
    const limiter = new Limiter();
    const here = limiter.node();
    // Ten minutes of remote wait and of backstop poll: only the notifications can end this in time.
    const program = service(new PostgresCommandStore(db), here.run, { fenceFor: () => undefined }, { remoteWaitMs: 600_000 });
    const asked = program.execute(setLimit(undefined));
    const there = limiter.node();
    const executor = service(new PostgresCommandStore(db), there.run, { fenceFor: () => ({ lease: LEASE, token: 1 }) });
    await executor.start();
    expect(await asked).toEqual({ status: 'verified', commandId: expect.any(String) as string, state: { limitKw: 50 } });
    expect(here.sent).toEqual([]);
    expect(there.sent).toEqual([{ type: 'set-limit', address: '1', limitKw: 50 }]);
  });

  it('gives up at control.remoteWaitMs with REMOTE_WAIT_TIMEOUT and leaves the command to finish on its own', async () => {
    const db = await database();
    const store = new PostgresCommandStore(db);
    const limiter = new Limiter();
    const program = service(store, limiter.node().run, { fenceFor: () => undefined }, { remoteWaitMs: 200 });
    const result = await program.execute(setLimit(undefined));
    expect(result).toMatchObject({ status: 'failed', error: { code: 'REMOTE_WAIT_TIMEOUT' } });
    expect(result.error?.message).toMatch(/control\.remoteWaitMs/);
    const [command] = (await store.list({ limit: 10 })).items;
    expect(command?.targets[0]?.status).toBe('pending');

    const there = limiter.node();
    const executor = service(new PostgresCommandStore(db), there.run, { fenceFor: () => ({ lease: LEASE, token: 1 }) });
    expect(await executor.start()).toEqual({ resumed: 1, interrupted: 0 });
    await eventually(async () => ((await store.target(command?.id ?? '', 'm1'))?.status === 'verified' ? true : undefined), 10_000, 'the command to finish');
  });

  it('on a new leader, a request asked again with the key of the dead leader\'s send awaits its read-back; the device executes it once', async () => {
    const db = await database();
    const store = new PostgresCommandStore(db);
    const limiter = new Limiter();
    const old = limiter.node(() => new Promise<void>(() => undefined));
    const oldLeader = service(store, old.run, { fenceFor: () => ({ lease: LEASE, token: 1 }) }, { commandTimeoutMs: 500 });
    await oldLeader.start();
    void oldLeader.execute(setLimit('round/1000/round-1/set-limit/m1'));
    await eventually(() => Promise.resolve(old.sent.length > 0 ? true : undefined), 10_000, 'the old leader\'s send');

    // The old leader is gone (its answer never comes); the new one resumes the round.
    const fence = await takeOver(db, 'node-b');
    const fresh = limiter.node();
    const newLeader = service(new PostgresCommandStore(db), fresh.run, { fenceFor: () => fence }, { commandTimeoutMs: 500 });
    const asked = newLeader.execute(setLimit('round/1000/round-1/set-limit/m1', 50, 'load 130 kW'));
    expect(await newLeader.start()).toEqual({ resumed: 0, interrupted: 1 });
    expect(await asked).toEqual({ status: 'verified', commandId: expect.any(String) as string, state: { limitKw: 50 } });
    expect(fresh.sent).toEqual([{ type: 'read-state', address: '1', of: 'limit' }]);
    expect(limiter.executed).toBe(1);
    expect((await store.list({ limit: 10 })).items).toHaveLength(1);
  }, 30_000);
});
