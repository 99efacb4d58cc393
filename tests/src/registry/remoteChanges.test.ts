/**
 * Two station nodes on one PostgreSQL: two registries, each on its own pool (so each has its
 * own listening connection), one database. What one commits reaches the other's image and
 * listeners; what the database refuses is never announced; a seed or an import of any size
 * arrives as the ids it touched, read from the change log, never as a reload of everything; a
 * node whose listener was cut off catches up from the log and announces only what really
 * changed; only a log pruned past a node's place makes it reload, once. PostgreSQL only: the
 * embedded store has one process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, meterId } from '../../../src/domain/index.js';
import { PostgresRegistryStore, REGISTRY_CHANNEL } from '../../../src/registry/postgresStore.js';
import { Registry, type ImportBatch, type RegistryChange, type RegistrySeed } from '../../../src/registry/registry.js';
import type { RegistryStore, SharedTopology } from '../../../src/registry/store.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { registryStoreOf } from '../../helpers/storeDrivers.js';

const options = { registerMapExists: (n: string) => n === 'map', profileExists: (n: string) => n === 'fast' };
const meter = (id: string, terminalId: string, address: string, extra: Record<string, unknown> = {}) => ({
  id, terminalId, address, ctRatio: 1, ptRatio: 1, protected: false, ...extra,
});
const modbusTerminal = (id: string, port = 502) => ({
  id, protocol: 'modbus' as const, enabled: true, profiles: ['fast'], modbus: { host: '127.0.0.1', port, framing: 'tcp' as const, registerMap: 'map' },
});
const TOPOLOGY: RegistrySeed = {
  areas: [{ id: 'region', name: 'Region', kind: 'region' }, { id: 'tx1', name: 'TX 1', kind: 'transformer', parentId: 'region', transformerKva: 400 }],
  terminals: [modbusTerminal('t1')],
  meters: [],
};
/** Long enough for a restarted PostgreSQL and the listener's backoff; a wait, never an assertion on time. */
const ARRIVAL = { timeout: 30_000, interval: 20 };

const unavailable = postgresUnavailable();
let cluster: TestPostgres | undefined;

afterAll(async () => {
  await cluster?.dispose();
});

/** The real PostgreSQL store, its following of other nodes seen through `wrap` (to count, hold or fail a step). */
function storeWith(wrap: (shared: SharedTopology) => SharedTopology): (db: PostgresDatabase) => RegistryStore {
  return (db) => {
    const inner = registryStoreOf({ postgres: db });
    if (inner.shared === undefined) throw new Error('the PostgreSQL store is shared');
    const wrapped = wrap(inner.shared);
    return new Proxy(inner, { get: (target, p) => (p === 'shared' ? wrapped : Reflect.get(target, p) as unknown) });
  };
}

/** The real PostgreSQL store, the meter ids it hints and its read-backs counted, the read-backs held until `open()`. */
function heldReadBacks(): { readonly store: (db: PostgresDatabase) => RegistryStore; readonly hinted: number; readonly reads: number; open(): void } {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  const held = {
    hinted: 0,
    reads: 0,
    open: () => { open(); },
    store: storeWith((shared) => ({
      follow: (sink) => shared.follow({
        changed: (ids) => { held.hinted += ids.meters.length; return sink.changed(ids); },
        changedAll: () => { sink.changedAll(); },
        failed: (err) => { sink.failed(err); },
      }),
      read: async (ids) => {
        held.reads += 1;
        await gate;
        return shared.read(ids);
      },
    })),
  };
  return held;
}

/** The real PostgreSQL store, its loads of everything counted in `count`: the one at open, and a full reload each. */
function loadsCountedIn(count: { loads: number }, store: (db: PostgresDatabase) => RegistryStore = (db) => registryStoreOf({ postgres: db })): (db: PostgresDatabase) => RegistryStore {
  return (db) => {
    const inner = store(db);
    const load: RegistryStore['load'] = (into) => {
      count.loads += 1;
      return inner.load(into);
    };
    return new Proxy(inner, { get: (target, p) => (p === 'load' ? load : Reflect.get(target, p) as unknown) });
  };
}

/** Meter rows of an import, one batch per `per` rows, as the importer cuts a file. */
function meterBatches(rows: readonly ReturnType<typeof meter>[], per = 5_000): ImportBatch[] {
  const batches: ImportBatch[] = [];
  for (let i = 0; i < rows.length; i += per) {
    batches.push({ kind: 'meters', rows: rows.slice(i, i + per).map((seed, j) => ({ line: i + j + 2, seed })) });
  }
  return batches;
}

interface Node {
  readonly db: PostgresDatabase;
  readonly registry: Registry;
  /** Every change this node's listeners heard, in order. */
  readonly heard: RegistryChange[];
}

describe('registry changes between nodes on PostgreSQL', () => {
  let url = '';
  const opened: { close(): Promise<void> }[] = [];

  const node = async (store: (db: PostgresDatabase) => RegistryStore = (db) => registryStoreOf({ postgres: db }), onRemoteError?: (err: unknown) => void): Promise<Node> => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    opened.push(db);
    await migratePostgres(db);
    const registry = await Registry.open(store(db), { ...options, ...(onRemoteError === undefined ? {} : { onRemoteError }) });
    opened.push(registry);
    const heard: RegistryChange[] = [];
    registry.onChange((c) => heard.push(c));
    return { db, registry, heard };
  };

  /** The payloads sent on the registry's channel from now on, heard on a connection of their own. */
  const wire = async (db: PostgresDatabase): Promise<string[]> => {
    const payloads: string[] = [];
    const listening = await db.sql.listen(REGISTRY_CHANNEL, (p) => payloads.push(p));
    opened.push({ close: () => listening.unlisten() });
    return payloads;
  };

  /** Two nodes, the second with the first's base topology already in its image. */
  const twoNodes = async (storeOfB?: (db: PostgresDatabase) => RegistryStore, onRemoteError?: (err: unknown) => void): Promise<[Node, Node]> => {
    const a = await node();
    await a.registry.seed(TOPOLOGY);
    const b = await node(storeOfB, onRemoteError);
    expect(b.registry.findTerminal('t1')).toBeDefined();
    return [a, b];
  };

  beforeAll(() => {
    if (unavailable !== undefined) console.warn(`skipped: ${unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (unavailable !== undefined) ctx.skip();
    cluster ??= await startPostgres();
    url = await cluster.createDatabase();
  }, 60_000);
  afterEach(async () => {
    // Registries before their pools: last opened, first closed.
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  it('shows a meter created, changed and deleted on one node on the other, whose listeners hear each step', async () => {
    const [a, b] = await twoNodes();

    await a.registry.createMeter(meter('m1', 't1', '1', { areaId: 'tx1', customerRef: 'C-1' }));
    await expect.poll(() => b.registry.findMeter('m1'), ARRIVAL).toEqual(a.registry.getMeter('m1'));
    expect(b.registry.meterAt('t1', '1')?.id).toBe('m1');
    expect(b.registry.meterKey(meterId('m1'))).toBe(a.registry.meterKey(meterId('m1')));
    expect(b.heard).toEqual([{ kind: 'meter', id: 'm1', op: 'upsert' }]);

    await a.registry.updateMeter('m1', { terminalId: 't1', address: '2', ctRatio: 40, ptRatio: 1, protected: true, areaId: 'tx1' });
    await expect.poll(() => b.registry.findMeter('m1')?.ctRatio, ARRIVAL).toBe(40);
    expect(b.registry.meterAt('t1', '2')?.id).toBe('m1');
    expect(b.registry.meterAt('t1', '1')).toBeUndefined();
    expect(b.registry.getMeter('m1')).toEqual(a.registry.getMeter('m1'));

    // The collector follows terminal changes: another node's reach its listeners as well.
    const { id: _id, ...moved } = modbusTerminal('t1', 1502);
    await a.registry.updateTerminal('t1', moved);
    await expect.poll(() => b.registry.getTerminal('t1'), ARRIVAL).toEqual(a.registry.getTerminal('t1'));

    await a.registry.deleteMeter('m1');
    await expect.poll(() => b.registry.findMeter('m1'), ARRIVAL).toBeUndefined();
    expect(b.registry.meterAt('t1', '2')).toBeUndefined();
    expect(b.heard).toEqual([
      { kind: 'meter', id: 'm1', op: 'upsert' },
      { kind: 'meter', id: 'm1', op: 'upsert' },
      { kind: 'terminal', id: 't1', op: 'upsert' },
      { kind: 'meter', id: 'm1', op: 'delete' },
    ]);
    // A node's own changes are applied when its write returns, never a second time from its notification.
    expect(a.heard.filter((c) => c.kind === 'meter')).toEqual([
      { kind: 'meter', id: 'm1', op: 'upsert' },
      { kind: 'meter', id: 'm1', op: 'upsert' },
      { kind: 'meter', id: 'm1', op: 'delete' },
    ]);
  });

  it('notifies nothing for a change the database refuses', async () => {
    const [a, b] = await twoNodes();
    const payloads = await wire(b.db);
    // Past the station, so node A's image does not show it: its check passes and the database refuses.
    await a.db.sql`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at)
                   VALUES ('outside', 'outside', 't1', '9', 1, 1, false, 0, 0)`;
    await expect(a.registry.createMeter(meter('refused', 't1', '9'))).rejects.toBeInstanceOf(ConflictError);
    await a.registry.createMeter(meter('kept', 't1', '10'));

    // Notifications arrive in commit order: once the later change is heard, an earlier one would have been.
    await expect.poll(() => b.registry.findMeter('kept'), ARRIVAL).toBeDefined();
    expect(payloads).toHaveLength(1);
    expect(b.registry.findMeter('refused')).toBeUndefined();
    // The change log is written by the database, so the row committed past the station reaches B as well.
    expect(b.heard).toEqual([{ kind: 'meter', id: 'outside', op: 'upsert' }, { kind: 'meter', id: 'kept', op: 'upsert' }]);
  });

  it('brings a seed of thousands of meters to the other node in one notification, and a repeated seed changes nothing there', async () => {
    const [a, b] = await twoNodes();
    const payloads = await wire(b.db);
    const fleet: RegistrySeed = {
      areas: [],
      terminals: [modbusTerminal('t2')],
      meters: Array.from({ length: 5_000 }, (_, i) => meter(`fleet-meter-${String(i).padStart(5, '0')}`, 't2', String(i + 1), { areaId: 'tx1' })),
    };
    await a.registry.seed(fleet);

    await expect.poll(() => b.registry.listMeters({ terminalId: 't2' }).length, ARRIVAL).toBe(5_000);
    expect(b.registry.meterAt('t2', '5000')?.id).toBe('fleet-meter-04999');
    expect(b.registry.meterKey(meterId('fleet-meter-04999'))).toBe(a.registry.meterKey(meterId('fleet-meter-04999')));
    expect(payloads).toHaveLength(1);
    expect(b.heard.filter((c) => c.kind === 'meter' && c.op === 'upsert')).toHaveLength(5_000);
    expect(b.heard.filter((c) => c.kind === 'terminal')).toEqual([{ kind: 'terminal', id: 't2', op: 'upsert' }]);

    // A node starting again seeds its configuration again: the others read it all back and hear nothing.
    b.heard.length = 0;
    await a.registry.seed(fleet);
    await a.registry.createMeter(meter('marker', 't1', '1'));
    await expect.poll(() => b.registry.findMeter('marker'), ARRIVAL).toBeDefined();
    expect(payloads).toHaveLength(3);
    expect(b.heard).toEqual([{ kind: 'meter', id: 'marker', op: 'upsert' }]);
  }, 60_000);

  it('coalesces a burst: the hints that arrive while a read-back runs go together into the next one', async () => {
    // The read-backs held until the burst is heard.
    const held = heldReadBacks();
    const [a, b] = await twoNodes(held.store);
    const burst = 100;
    for (let i = 0; i < burst; i++) await a.registry.createMeter(meter(`burst-${i}`, 't1', String(i + 1)));
    await expect.poll(() => held.hinted, ARRIVAL).toBe(burst);
    held.open();

    await expect.poll(() => b.registry.listMeters({ terminalId: 't1' }).length, ARRIVAL).toBe(burst);
    expect(held.reads).toBeLessThanOrEqual(2);
    expect(b.heard).toHaveLength(burst);
  });

  it('tries a read-back that failed again, and reports the failure', async () => {
    const failures: unknown[] = [];
    let failing = true;
    const failingOnce = storeWith((shared) => ({
      follow: (sink) => shared.follow(sink),
      read: (ids) => {
        if (!failing) return shared.read(ids);
        failing = false;
        return Promise.reject(new Error('the database went away'));
      },
    }));
    const [a, b] = await twoNodes(failingOnce, (err) => failures.push(err));
    await a.registry.createMeter(meter('m1', 't1', '1'));

    await expect.poll(() => b.registry.findMeter('m1'), ARRIVAL).toBeDefined();
    expect(failures).toHaveLength(1);
    expect(b.heard).toEqual([{ kind: 'meter', id: 'm1', op: 'upsert' }]);
  });

  it('reloads once PostgreSQL is back after a restart, catching a change it was never told of and announcing only that', async () => {
    const [a, b] = await twoNodes();
    await a.registry.createMeter(meter('before', 't1', '1'));
    await expect.poll(() => b.registry.findMeter('before'), ARRIVAL).toBeDefined();
    b.heard.length = 0;
    // A change that sent no notification, as one committed while B's listener was down would reach B.
    await a.db.sql`UPDATE meters SET ct_ratio = 200 WHERE id = 'before'`;
    if (cluster === undefined) throw new Error('no cluster');
    await cluster.restart();

    await expect.poll(() => b.registry.findMeter('before')?.ctRatio, ARRIVAL).toBe(200);
    expect(b.heard).toEqual([{ kind: 'meter', id: 'before', op: 'upsert' }]);

    // Listening again: a change made through A after the restart arrives as any other.
    await expect.poll(() => a.registry.createMeter(meter('after', 't1', '2')).then(() => true, () => false), ARRIVAL).toBe(true);
    await expect.poll(() => b.registry.findMeter('after'), ARRIVAL).toBeDefined();
    expect(b.heard).toEqual([{ kind: 'meter', id: 'before', op: 'upsert' }, { kind: 'meter', id: 'after', op: 'upsert' }]);
  }, 90_000);
  it('brings an import of 20,000 meters, its updates and deletes to the other node as patches, never a reload of everything', async () => {
    const count = { loads: 0 };
    const [a, b] = await twoNodes(loadsCountedIn(count));
    const fleet = Array.from({ length: 20_000 }, (_, i) => meter(`imp-${String(i).padStart(5, '0')}`, 't1', String(i + 1), { areaId: 'tx1' }));
    for (const batch of meterBatches(fleet)) expect((await a.registry.importBatch(batch)).rejected).toEqual([]);
    await expect.poll(() => b.registry.listMeters({ terminalId: 't1' }).length, ARRIVAL).toBe(20_000);

    // Updates: a second import changes a quarter of the fleet.
    const changed = fleet.slice(0, 5_000).map((m) => ({ ...m, ctRatio: 40 }));
    for (const batch of meterBatches(changed)) await a.registry.importBatch(batch);
    // Deletes: a few through the registry, and many at once past it (the log is written by the database).
    for (const m of fleet.slice(5_000, 5_010)) await a.registry.deleteMeter(m.id);
    await a.db.sql`DELETE FROM meters WHERE id >= 'imp-10000' AND id < 'imp-16000'`;
    await a.registry.createMeter(meter('marker', 't1', '900000'));

    await expect.poll(() => b.registry.findMeter('marker'), ARRIVAL).toBeDefined();
    expect(b.registry.listMeters({ terminalId: 't1' }).length).toBe(20_000 - 10 - 6_000 + 1);
    expect(b.registry.getMeter('imp-04999').ctRatio).toBe(40);
    expect(b.registry.getMeter('imp-05010')).toEqual(a.registry.getMeter('imp-05010'));
    expect(b.registry.findMeter('imp-05000')).toBeUndefined();
    expect(b.registry.findMeter('imp-15999')).toBeUndefined();
    expect(b.registry.meterAt('t1', '12000')).toBeUndefined();
    expect(b.registry.meterKey(meterId('imp-19999'))).toBe(a.registry.meterKey(meterId('imp-19999')));
    expect(b.heard.filter((c) => c.op === 'delete')).toHaveLength(6_010);
    expect(b.heard.filter((c) => c.op === 'upsert')).toHaveLength(20_000 + 5_000 + 1);
    // Only the load at open: every batch arrived as the ids it touched.
    expect(count.loads).toBe(1);
  }, 120_000);

  it('holds the reading of the log while too many ids wait, and applies them all without a reload of everything', async () => {
    const count = { loads: 0 };
    // B's read-backs wait until the whole import has been read from the log: more ids wait than REMOTE_PENDING_MAX_IDS.
    const held = heldReadBacks();
    const [a, b] = await twoNodes(loadsCountedIn(count, held.store));
    const fleet = Array.from({ length: 20_000 }, (_, i) => meter(`held-${String(i).padStart(5, '0')}`, 't1', String(i + 1)));
    for (const batch of meterBatches(fleet)) await a.registry.importBatch(batch);
    await expect.poll(() => held.hinted, ARRIVAL).toBe(20_000);
    held.open();

    await expect.poll(() => b.registry.listMeters({ terminalId: 't1' }).length, ARRIVAL).toBe(20_000);
    expect(b.heard).toHaveLength(20_000);
    expect(count.loads).toBe(1);
  }, 120_000);

  it('catches up from the log what was committed while its listener was cut off, without a reload', async () => {
    const count = { loads: 0 };
    const [a, b] = await twoNodes(loadsCountedIn(count));
    // A change that sends no notification, as one committed while B's listener is down reaches B.
    await a.db.sql`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at)
                   VALUES ('unannounced', 'unannounced', 't1', '7', 1, 1, false, 0, 0)`;
    await a.db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`;

    await expect.poll(() => b.registry.findMeter('unannounced'), ARRIVAL).toBeDefined();
    expect(b.heard).toEqual([{ kind: 'meter', id: 'unannounced', op: 'upsert' }]);
    expect(count.loads).toBe(1);
  });

  it('reports a read of the log that failed and reads it again once it can', async () => {
    const count = { loads: 0 };
    const failures: unknown[] = [];
    const [a, b] = await twoNodes(loadsCountedIn(count), (err) => failures.push(err));
    await a.db.sql`INSERT INTO meters (id, name, terminal_id, address, ct_ratio, pt_ratio, protected, created_at, updated_at)
                   VALUES ('late', 'late', 't1', '7', 1, 1, false, 0, 0)`;
    // The log out of B's reach as its listener comes back, as if the database were unreachable.
    await a.db.sql`ALTER TABLE registry_change_log RENAME TO registry_change_log_away`;
    await a.db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`;
    await expect.poll(() => failures.length, ARRIVAL).toBeGreaterThan(0);
    await a.db.sql`ALTER TABLE registry_change_log_away RENAME TO registry_change_log`;

    await expect.poll(() => b.registry.findMeter('late'), ARRIVAL).toBeDefined();
    expect(b.heard).toEqual([{ kind: 'meter', id: 'late', op: 'upsert' }]);
    expect(count.loads).toBe(1);
  });

  it('reloads everything once when the log was pruned past where the node had read', async () => {
    const count = { loads: 0 };
    let pages = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { open = resolve; });
    // B's first page of the log is held, so A's next changes are pruned before B reads them.
    const held = storeWith((shared) => ({
      follow: (sink) => shared.follow({
        changed: async (ids) => {
          pages += 1;
          await gate;
          return sink.changed(ids);
        },
        changedAll: () => { sink.changedAll(); },
        failed: (err) => { sink.failed(err); },
      }),
      read: (ids) => shared.read(ids),
    }));
    const a = await node((db) => new PostgresRegistryStore(db, { changeLogRetentionMs: 0 }));
    await a.registry.seed(TOPOLOGY);
    const b = await node(loadsCountedIn(count, held));
    await a.registry.createMeter(meter('x', 't1', '1'));
    await expect.poll(() => pages, ARRIVAL).toBe(1);
    await a.registry.createMeter(meter('y', 't1', '2'));
    // Each write of A prunes what is older than its retention of nothing: y is pruned by z.
    await a.registry.createMeter(meter('z', 't1', '3'));
    const [mark] = await a.db.sql<{ pruned: string; seq: string }[]>`SELECT pruned, seq FROM registry_change_seq`;
    expect(Number(mark?.pruned)).toBe(Number(mark?.seq) - 1);
    open();

    await expect.poll(() => ['x', 'y', 'z'].map((id) => b.registry.findMeter(id)?.id), ARRIVAL).toEqual(['x', 'y', 'z']);
    await a.registry.createMeter(meter('after', 't1', '4'));
    await expect.poll(() => b.registry.findMeter('after'), ARRIVAL).toBeDefined();
    expect(count.loads).toBe(2);
    expect(b.heard.filter((c) => c.op === 'upsert').map((c) => c.id).sort()).toEqual(['after', 'x', 'y', 'z']);
  });
});
