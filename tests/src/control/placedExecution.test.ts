/**
 * Commands executed by the node their terminal is placed on: one node accepts and stores a
 * command, another sends it, woken by PostgreSQL's notification (or, with no notification at
 * all, by the backstop poll). At a step-down mid-bulk the queued targets stay pending for the
 * new executor, the send in flight is refused by the store under its stale token, and the new
 * executor verifies it by reading back, never sending it twice. A node that takes the terminal
 * back later (a second takeover in one process) verifies what its first term left sent; a
 * send another executor marked interrupted but gave up before reading back is read back by the
 * next, never resent.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceControlState } from '../../../protocols/adapter.js';
import type { StationCommand } from '../../../src/control/commandModel.js';
import type { FencingToken, StaleFencingToken } from '../../../src/cluster/fencing.js';
import { SqliteAuditLog } from '../../../src/control/audit.js';
import { SqliteCommandStore, type CommandStore, type TargetMoved } from '../../../src/control/commandStore.js';
import { CommandService, type CommandPlacement, type CommandRunner } from '../../../src/control/commands.js';
import { PostgresCommandStore } from '../../../src/control/postgresCommandStore.js';
import { meterId, terminalId, type Meter } from '../../../src/domain/index.js';
import { openDatabase } from '../../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { TEST_COMMAND_SETTINGS } from '../../helpers/commandService.js';
import { eventually } from '../../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the placed execution tests on PostgreSQL: ${unavailable}`);

const meter = (id: string, address: string): Meter => ({
  id: meterId(id), name: id, terminalId: terminalId('t1'), address, ctRatio: 1, ptRatio: 1, areaId: null, protected: false, customerRef: null, accountRef: null,
});
const METERS = [meter('m1', '1'), meter('m2', '2'), meter('m3', '3')];
const who = { actor: 'op', source: null, isAdmin: false };
/** The area lease terminal t1 is placed by. */
const LEASE = 'area:tx1';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let cluster: TestPostgres | undefined;
afterAll(async () => {
  await cluster?.dispose();
});

/** The meters' relays, shared by every node's runner as the field devices are; each node's sends counted apart. */
class Field {
  readonly relay = new Map<string, boolean>();
  /** Relay operations per address, whoever sent them. */
  readonly operations = new Map<string, number>();

  node(hold?: (c: StationCommand) => Promise<void> | undefined) {
    const sent: StationCommand[] = [];
    const run: CommandRunner = async (_t, c) => {
      sent.push(c);
      await hold?.(c);
      if (c.type === 'disconnect' || c.type === 'reconnect') {
        this.relay.set(c.address, c.type === 'reconnect');
        this.operations.set(c.address, (this.operations.get(c.address) ?? 0) + 1);
      }
      return { connected: this.relay.get(c.address) ?? true } satisfies DeviceControlState;
    };
    return { sent, run };
  }
}

/** A placement the test moves by hand: the token terminal t1 is placed here under, or undefined. */
function movable(initial: FencingToken | null | undefined) {
  let fence = initial;
  const placement: CommandPlacement = { fenceFor: () => fence };
  return { placement, set: (f: FencingToken | null | undefined) => { fence = f; } };
}

interface Heard {
  readonly notPlaced: (StaleFencingToken | undefined)[];
  readonly refused: (StaleFencingToken | TargetMoved)[];
}

function service(store: CommandStore, run: CommandRunner, placement: CommandPlacement, settings: Partial<typeof TEST_COMMAND_SETTINGS> = {}) {
  const auditDb = openDatabase(':memory:');
  const heard: Heard = { notPlaced: [], refused: [] };
  const s = new CommandService({
    store, audit: new SqliteAuditLog(auditDb), run, placement,
    settings: { ...TEST_COMMAND_SETTINGS, backstopPollMs: 600_000, ...settings },
    meters: { meter: (id) => METERS.find((m) => m.id === id), metersOfArea: () => undefined },
    onStoreError: (err) => { throw err; },
    onNotPlaced: (_t, refusal) => { heard.notPlaced.push(refusal); },
    onRefused: (_t, refusal) => { heard.refused.push(refusal); },
  });
  cleanups.push(async () => { await s.close(); auditDb.close(); });
  return { service: s, heard };
}

async function created(s: CommandService, meterIds: string[], key: string): Promise<string> {
  const out = await s.submit({ type: 'disconnect', meterIds }, key, who);
  if (out.kind !== 'created') throw new Error(`expected a created command, got ${out.kind}`);
  return out.command.id;
}

async function settled(store: CommandStore, id: string): Promise<NonNullable<Awaited<ReturnType<CommandStore['get']>>>> {
  return eventually(async () => {
    const c = await store.get(id);
    // An INTERRUPTED mark with no read after it yet still waits for its re-verification.
    const awaitingRead = (t: { status: string; transitions: readonly { status: string }[] }) => t.status === 'failed' && ['sent', 'acknowledged'].includes(t.transitions.at(-2)?.status ?? '');
    return c?.targets.every((t) => !['pending', 'sent', 'acknowledged'].includes(t.status) && !awaitingRead(t)) === true ? c : undefined;
  }, 20_000, `command ${id} to settle`);
}

describe('placed execution on the embedded store', () => {
  it('sends a command another service stored, found by the backstop poll when nothing notifies', async () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => { db.close(); });
    const store = new SqliteCommandStore(db);
    const field = new Field();
    const acceptor = service(store, field.node().run, { fenceFor: () => undefined });
    const executorNode = field.node();
    const executor = service(store, executorNode.run, { fenceFor: () => null }, { backstopPollMs: 100 });
    await executor.service.start();
    const id = await created(acceptor.service, ['m1'], 'k1');
    const done = await settled(store, id);
    expect(done.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
    expect(executorNode.sent).toEqual([{ type: 'disconnect', address: '1' }]);
  });
});

describe.skipIf(unavailable !== undefined)('placed execution on PostgreSQL', () => {
  async function database(): Promise<PostgresDatabase> {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    cleanups.push(() => db.close());
    await migratePostgres(db);
    await db.sql`INSERT INTO cluster_leases (name, holder, token, acquired_at, expires_at) VALUES (${LEASE}, 'node-a', 1, now(), now() + interval '1 hour')`;
    return db;
  }
  /** Another node takes the area: the lease's token moves on. */
  const takeOver = async (db: PostgresDatabase, holder: string): Promise<FencingToken> => {
    const [row] = await db.sql<{ token: string }[]>`UPDATE cluster_leases SET holder = ${holder}, token = token + 1 WHERE name = ${LEASE} RETURNING token`;
    return { lease: LEASE, token: Number(row?.token) };
  };

  it('sends a command another node accepted, woken by the notification, not by the poll', async () => {
    const db = await database();
    const store = new PostgresCommandStore(db);
    const field = new Field();
    const acceptorNode = field.node();
    const acceptor = service(store, acceptorNode.run, { fenceFor: () => undefined });
    const executorNode = field.node();
    // The backstop poll is 10 minutes here: only the notification can wake the executor in time.
    const executor = service(new PostgresCommandStore(db), executorNode.run, { fenceFor: () => ({ lease: LEASE, token: 1 }) });
    expect(await executor.service.start()).toEqual({ resumed: 0, interrupted: 0 });
    const id = await created(acceptor.service, ['m1', 'm2'], 'k1');
    const done = await settled(store, id);
    expect(done.targets.map((t) => t.status)).toEqual(['verified', 'verified']);
    expect(executorNode.sent.map((c) => c.address).sort()).toEqual(['1', '2']);
    expect(acceptorNode.sent).toEqual([]);
    expect(acceptor.heard.notPlaced).toEqual([]);
  });

  it('at a step-down mid-bulk leaves the queued targets to the new executor and verifies the one in flight by reading back, sending nothing twice', async () => {
    const db = await database();
    const store = new PostgresCommandStore(db);
    const field = new Field();
    // The old executor's first send hangs on the device until the test lets it go.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const oldNode = field.node((c) => (c.address === '1' ? held : undefined));
    const oldPlace = movable({ lease: LEASE, token: 1 });
    const old = service(store, oldNode.run, oldPlace.placement, { commandTimeoutMs: 1_000 });
    await old.service.start();
    const id = await created(old.service, ['m1', 'm2', 'm3'], 'bulk');
    await eventually(async () => ((await store.target(id, 'm1'))?.status === 'sent' && oldNode.sent.length === 1 ? true : undefined), 10_000, 'm1 to be in flight');

    // The area moves: the old node hears it and stops sending at once; the new one takes over.
    const fence = await takeOver(db, 'node-b');
    oldPlace.set(undefined);
    old.service.placementChanged();
    expect(old.service.load()).toEqual({ queued: 0, inFlight: 1 });
    expect((await store.target(id, 'm2'))?.status).toBe('pending');
    const newNode = field.node();
    const next = service(new PostgresCommandStore(db), newNode.run, { fenceFor: () => fence }, { commandTimeoutMs: 1_000 });
    expect(await next.service.start()).toEqual({ resumed: 2, interrupted: 1 });
    // The old send reaches the device now; its outcome is refused under the stale token.
    release();
    await eventually(() => Promise.resolve(old.heard.refused.length > 0 ? true : undefined), 10_000, 'the old node\'s refusal');
    expect(old.heard.refused[0]).toMatchObject({ code: 'STALE_FENCING_TOKEN', token: 1, current: fence.token });

    const done = await settled(store, id);
    const m1 = done.targets.find((t) => t.meterId === 'm1');
    expect(m1?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'failed', 'verified']);
    expect(m1).toMatchObject({ status: 'verified', state: { connected: false }, error: null });
    for (const m of ['m2', 'm3']) expect(done.targets.find((t) => t.meterId === m)?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'acknowledged', 'verified']);
    expect(oldNode.sent).toEqual([{ type: 'disconnect', address: '1' }]);
    expect(newNode.sent).toEqual(expect.arrayContaining([{ type: 'read-state', address: '1', of: 'relay' }, { type: 'disconnect', address: '2' }, { type: 'disconnect', address: '3' }]));
    expect(newNode.sent).toHaveLength(3);
    expect([...field.operations.values()]).toEqual([1, 1, 1]);
  }, 30_000);

  it('reads back a send another executor marked interrupted and gave up before its read, without resending', async () => {
    const db = await database();
    const store = new PostgresCommandStore(db);
    const field = new Field();
    // Node a accepted and sent it, node b took the area and marked it INTERRUPTED, then gave the area up before its read.
    const a = service(store, field.node().run, movable(undefined).placement);
    const id = await created(a.service, ['m1'], 'k-unread');
    await store.transition(id, 'm1', 'sent', Date.now() - 10_000, { onlyFrom: ['pending'] });
    await store.transition(id, 'm1', 'failed', Date.now() - 9_000, { error: { code: 'INTERRUPTED', message: 'marked by node b' }, onlyFrom: ['sent'] });
    const [unread] = (await store.unreadInterruptions()).map((t) => [t.commandId, t.meterId]);
    expect(unread).toEqual([id, 'm1']);

    // Node c takes the area: its first look reads the relay back, and sends nothing.
    const node = field.node();
    const c = service(store, node.run, movable(await takeOver(db, 'node-c')).placement, { commandTimeoutMs: 500 });
    await c.service.start();
    const done = await settled(store, id);
    expect(done.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'failed', 'failed']);
    expect(done.targets[0]?.state).toEqual({ connected: true });
    expect(node.sent).toEqual([{ type: 'read-state', address: '1', of: 'relay' }]);
    expect(await store.unreadInterruptions()).toEqual([]);
  }, 30_000);

  it('verifies what its first term left sent when the same process takes the terminal back', async () => {
    const db = await database();
    const store = new PostgresCommandStore(db);
    const field = new Field();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const node = field.node((c) => (c.type === 'disconnect' ? held : undefined));
    const place = movable({ lease: LEASE, token: 1 });
    const s = service(store, node.run, place.placement, { commandTimeoutMs: 500 });
    await s.service.start();
    const id = await created(s.service, ['m1'], 'k1');
    await eventually(async () => ((await store.target(id, 'm1'))?.status === 'sent' ? true : undefined), 10_000, 'm1 to be in flight');

    // Lost to another node that did nothing, then taken back under a third token.
    await takeOver(db, 'node-b');
    place.set(undefined);
    s.service.placementChanged();
    place.set(await takeOver(db, 'node-a'));
    s.service.placementChanged();
    release();
    const done = await settled(store, id);
    expect(s.heard.refused).toHaveLength(1);
    expect(done.targets[0]?.transitions.map((t) => t.status)).toEqual(['pending', 'sent', 'failed', 'verified']);
    expect(node.sent).toEqual([{ type: 'disconnect', address: '1' }, { type: 'read-state', address: '1', of: 'relay' }]);
  }, 30_000);
});
