/**
 * The node's two rosters (createCluster): in `sharded` mode the active-only parts run on every
 * node while the leader's singleton duties run on the lease holder only, and move to another
 * node when it leaves; /health's `node` says which runs where. In `active-standby` both rosters
 * follow the lease together; in `single` both always run. On a real PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, type ClusterNode } from '../../../src/cluster/index.js';
import type { NodeIdentity } from '../../../src/cluster/settings.js';
import { ShutdownOrder } from '../../../src/observe/closers.js';
import { LogThrottle, createLogger } from '../../../src/observe/logger.js';
import { openPostgres } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { eventually } from '../../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the leader duty roster on PostgreSQL: ${unavailable}`);

const logger = createLogger('silent');
const CONFIG = { cluster: { dutyStopTimeoutMs: 5_000 } } as Parameters<typeof createCluster>[0]['config'];
const identity = (id: string, mode: NodeIdentity['mode']): NodeIdentity => ({ id, mode, roles: ['collect'], heartbeatMs: 100, leaseMs: 600, advertiseUrl: undefined });

/** One node: its cluster and what each roster's one part is doing. */
interface Node {
  readonly cluster: ClusterNode;
  readonly closers: ShutdownOrder;
  readonly running: { collect: boolean; ticks: boolean };
}

describe('the leader duty roster in single mode', () => {
  it('runs the leader duties from begin, and says so in the node status', async () => {
    const closers = new ShutdownOrder(logger);
    const cluster = await createCluster({ config: CONFIG, logger, throttle: new LogThrottle(60_000), closers, identity: identity('solo', 'single'), database: undefined });
    let ticking = false;
    cluster.leaderDuties.add('load-control timers', { start: () => { ticking = true; }, stop: () => { ticking = false; } });
    await cluster.duties.begin(closers);
    await cluster.leaderDuties.begin(closers);
    expect(ticking).toBe(true);
    expect(cluster.status()).toMatchObject({ leader: true, duties: 'active', leaderDuties: 'active' });
    await closers.closeAll();
  });
});

describe.skipIf(unavailable !== undefined)('the leader duty roster on PostgreSQL', () => {
  let postgres: TestPostgres;
  const nodes: Node[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const n of nodes.splice(0).reverse()) await n.closers.closeAll();
  });
  afterAll(async () => {
    await postgres.dispose();
  });

  const database = async (): Promise<string> => {
    const url = await postgres.createDatabase();
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    await db.close();
    return url;
  };
  const start = async (url: string, id: string, mode: NodeIdentity['mode']): Promise<Node> => {
    const closers = new ShutdownOrder(logger);
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    closers.add('database', () => db.close());
    const cluster = await createCluster({ config: CONFIG, logger, throttle: new LogThrottle(60_000), closers, identity: identity(id, mode), database: db });
    const running = { collect: false, ticks: false };
    cluster.duties.add('collect', { start: () => { running.collect = true; }, stop: () => { running.collect = false; } });
    cluster.leaderDuties.add('load-control timers', { start: () => { running.ticks = true; }, stop: () => { running.ticks = false; } });
    await cluster.duties.begin(closers);
    await cluster.leaderDuties.begin(closers);
    const node = { cluster, closers, running };
    nodes.push(node);
    return node;
  };
  const leading = (n: Node) => () => Promise.resolve(n.running.ticks && n.cluster.status().leaderDuties === 'active' ? true : undefined);

  it('sharded: every node runs its active-only parts, only the leader its singleton duties, and they move when it leaves', async () => {
    const url = await database();
    const a = await start(url, 'shard-a', 'sharded');
    await eventually(leading(a), 10_000, 'shard-a to lead');
    const b = await start(url, 'shard-b', 'sharded');

    expect(b.running).toEqual({ collect: true, ticks: false });
    expect(b.cluster.status()).toMatchObject({ leader: false, duties: 'active', leaderDuties: 'standby' });
    expect(a.running).toEqual({ collect: true, ticks: true });
    expect((await a.cluster.health())?.info).toMatchObject({ duties: 'active', leaderDuties: 'active', dutiesFollowLeadership: false });

    nodes.splice(nodes.indexOf(a), 1);
    await a.closers.closeAll();
    await eventually(leading(b), 10_000, 'shard-b to take the leader duties over');
    expect(b.running).toEqual({ collect: true, ticks: true });
  }, 30_000);

  it('active-standby: both rosters switch together', async () => {
    const url = await database();
    const a = await start(url, 'pair-a', 'active-standby');
    await eventually(leading(a), 10_000, 'pair-a to lead');
    const b = await start(url, 'pair-b', 'active-standby');
    expect(a.running).toEqual({ collect: true, ticks: true });
    expect(b.running).toEqual({ collect: false, ticks: false });
    expect(b.cluster.status()).toMatchObject({ duties: 'standby', leaderDuties: 'standby' });

    nodes.splice(nodes.indexOf(a), 1);
    await a.closers.closeAll();
    await eventually(leading(b), 10_000, 'pair-b to take over');
    expect(b.running).toEqual({ collect: true, ticks: true });
    expect(b.cluster.status()).toMatchObject({ leader: true, duties: 'active', leaderDuties: 'active' });
  }, 30_000);
});
