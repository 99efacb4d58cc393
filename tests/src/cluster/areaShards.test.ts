/**
 * Area shards on a real PostgreSQL, three nodes over 200 transformer areas: together they own
 * every area, no two ever own one at once (checked at every ownership change, against what
 * each node trusts at that instant, and against the lease table once settled), and moves are
 * what rendezvous hashing says: a join moves only the newcomer's share, released by the old
 * owner before the newcomer takes it; a stop or a crash hands the leaver's areas to the others.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AreaShards, areaLeaseName } from '../../../src/cluster/areaShards.js';
import { Membership } from '../../../src/cluster/membership.js';
import type { NodeIdentity } from '../../../src/cluster/settings.js';
import { shardsOf } from '../../../src/cluster/shards.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { eventually } from '../../helpers/headend.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping area shards on PostgreSQL: ${unavailable}`);

const LEASE_MS = 1_500;
const BEAT_MS = 200;
const AREAS = Array.from({ length: 200 }, (_, i) => `TA-${String(i).padStart(3, '0')}`);
/** Long enough for a move (lease expiry + a beat) on a busy machine; a bound, not a measurement. */
const MOVE_WAIT_MS = LEASE_MS + BEAT_MS + 10_000;

interface Node {
  readonly id: string;
  readonly db: PostgresDatabase;
  readonly membership: Membership;
  readonly shards: AreaShards;
  stopped: boolean;
}

describe.skipIf(unavailable !== undefined)('area shards on PostgreSQL', () => {
  let cluster: TestPostgres;
  let url: string;
  let nodes: Node[] = [];
  /** Every ownership change in the order observed: `owned|released node area`. */
  let log: string[] = [];
  /** Any instant at which two nodes trusted the same area. */
  let overlaps: string[] = [];

  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster.dispose();
  });
  beforeEach(async () => {
    url = await cluster.createDatabase();
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    await db.close();
    nodes = [];
    log = [];
    overlaps = [];
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      if (!n.stopped) {
        await n.shards.close();
        await n.membership.leave();
      }
      await n.db.sql.end({ timeout: 0 });
    }
  });

  const start = async (id: string): Promise<Node> => {
    const db = await openPostgres({ url, config: { ...POSTGRES_TEST_CONFIG, connectTimeoutMs: 500, reconnectMaxMs: 200 } });
    const identity: NodeIdentity = { id, mode: 'sharded', roles: ['collect'], heartbeatMs: BEAT_MS, leaseMs: LEASE_MS, advertiseUrl: undefined };
    const membership = new Membership(db, { node: identity, apiUrl: null, version: 'test', onError: () => undefined });
    await membership.join();
    const shards = new AreaShards(db, { node: id, leaseMs: LEASE_MS, beatMs: BEAT_MS, members: () => membership.members(), areas: () => AREAS, onError: () => undefined });
    const node: Node = { id, db, membership, shards, stopped: false };
    shards.on('owned', (areas) => {
      for (const { area } of areas) {
        log.push(`owned ${id} ${area}`);
        // At this instant, does any other node still trust its lease of the area?
        for (const other of nodes) if (other !== node && other.shards.fence(area) !== undefined) overlaps.push(`${area}: ${id} and ${other.id}`);
      }
    });
    shards.on('released', (areas) => { for (const { area } of areas) log.push(`released ${id} ${area}`); });
    nodes.push(node);
    shards.start();
    return node;
  };

  /** Waits until each running node owns exactly its rendezvous share among `live`. */
  const settled = (live: readonly Node[]): Promise<true> => eventually(() => {
    const ids = live.map((n) => n.id);
    const ok = live.every((n) => sameList(n.shards.owned(), [...shardsOf(n.id, AREAS, ids)].sort()));
    return Promise.resolve(ok ? true : undefined);
  }, MOVE_WAIT_MS, `the areas shared out over ${live.map((n) => n.id).join(', ')}`);

  /** The live area leases in the table: area → holder. */
  const table = async (): Promise<Map<string, string>> => {
    const rows = await queryPostgres<{ name: string; holder: string }>(url, `SELECT name, holder FROM cluster_leases WHERE name LIKE 'area:%' AND expires_at > now()`);
    return new Map(rows.map((r) => [r.name.slice('area:'.length), r.holder]));
  };

  /** Every area owned by one running node, and the table says the same. */
  const expectPartition = async (live: readonly Node[]): Promise<void> => {
    const owners = new Map<string, string>();
    for (const n of live) for (const a of n.shards.owned()) {
      expect(owners.get(a), `${a} owned by ${owners.get(a)} and ${n.id}`).toBeUndefined();
      owners.set(a, n.id);
    }
    expect([...owners.keys()].sort()).toEqual(AREAS);
    expect(await table()).toEqual(owners);
    expect(overlaps).toEqual([]);
  };

  it('shares 200 areas between two nodes, then moves only the third node\'s share to it, each released before it is taken', async () => {
    const a = await start('node-a');
    const b = await start('node-b');
    await settled([a, b]);
    await expectPartition([a, b]);
    const before = new Map(nodes.flatMap((n) => n.shards.owned().map((area) => [area, n.id] as const)));
    const tokensBefore = new Map(AREAS.map((area) => [area, (a.shards.fence(area) ?? b.shards.fence(area))?.token]));
    log = [];

    const c = await start('node-c');
    await settled([a, b, c]);
    await expectPartition([a, b, c]);
    const share = [...shardsOf('node-c', AREAS, ['node-a', 'node-b', 'node-c'])].sort();
    expect(share.length).toBeGreaterThan(0);
    // Only the newcomer's share moved: every change in the log is one of its areas.
    const touched = new Set(log.map((line) => line.split(' ')[2]));
    expect([...touched].sort()).toEqual(share);
    for (const area of share) {
      const released = log.indexOf(`released ${before.get(area)} ${area}`);
      const owned = log.indexOf(`owned node-c ${area}`);
      expect(released, `${area} released by its old owner`).toBeGreaterThanOrEqual(0);
      expect(owned, `${area} taken by node-c after the release`).toBeGreaterThan(released);
      // A new holder, a new token: whatever the old owner does under its token is fenced out.
      expect(c.shards.fence(area)?.token).toBe((tokensBefore.get(area) ?? 0) + 1);
    }
  });

  it('hands a stopped node\'s areas to the others, and only those', async () => {
    const [a, b, c] = [await start('node-a'), await start('node-b'), await start('node-c')];
    await settled([a, b, c]);
    const kept = new Map([a, b].map((n) => [n.id, n.shards.owned()]));
    log = [];
    await c.shards.close();
    await c.membership.leave();
    c.stopped = true;
    expect(c.shards.owned()).toEqual([]);
    await settled([a, b]);
    await expectPartition([a, b]);
    // a and b gave nothing up: they only gained c's areas.
    expect(log.filter((l) => l.startsWith('released node-a') || l.startsWith('released node-b'))).toEqual([]);
    for (const n of [a, b]) for (const area of kept.get(n.id) ?? []) expect(n.shards.owned()).toContain(area);
  });

  it('hands a crashed node\'s areas to the others once its leases expired, never while it still trusted them', async () => {
    const [a, b, c] = [await start('node-a'), await start('node-b'), await start('node-c')];
    await settled([a, b, c]);
    const hadC = c.shards.owned();
    const leaseEnds = async (): Promise<Map<string, { expires: number; acquired: number }>> => new Map((await queryPostgres<{ name: string; expires: number; acquired: number }>(url,
      `SELECT name, (extract(epoch FROM expires_at) * 1000)::float8 AS expires, (extract(epoch FROM acquired_at) * 1000)::float8 AS acquired
       FROM cluster_leases WHERE name = ANY($1)`, [hadC.map(areaLeaseName)])).map((r) => [r.name, r]));
    const before = await leaseEnds();
    // The crash: its connections end, nothing is released, its timers run on against a dead pool.
    await c.db.sql.end({ timeout: 0 });
    c.stopped = true;
    await settled([a, b]);
    await expectPartition([a, b]);
    expect(c.shards.owned()).toEqual([]);
    // Safety by the server's clock: each of c's areas was taken no sooner than c's lease on it
    // had ended (c may have renewed once more after this snapshot, which only moves that later).
    const after = await leaseEnds();
    for (const area of hadC) {
      const name = areaLeaseName(area);
      expect(after.get(name)?.acquired, name).toBeGreaterThanOrEqual(before.get(name)?.expires ?? Number.POSITIVE_INFINITY);
    }
    await c.shards.close();
  });
});

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
