/**
 * The node's place in the station: in `single` mode it is the whole station and the leader;
 * in `active-standby` and `sharded` it registers in the member list, heartbeats, and
 * campaigns for the `leader` lease. What /health says about it comes from here.
 *
 * In `active-standby` the leader is the active node: its duty roster (duties.ts) starts the
 * active-only parts on `gained` and stops them on `lost`; the other nodes stay warm. In every
 * mode with several nodes the leader alone runs the singleton duties, on a second roster that
 * follows the lease in `sharded` mode too: the load-control ticks (a program spans areas), the
 * alarm notifiers, the OPC UA server (unless `opcua.everyNode`), event retention. The lease's
 * token fences what the duties write: a command's `sent`, an alarm notification's mark, a
 * load-control program's state; a node that does not lead does none of them.
 */
import { readFileSync } from 'node:fs';
import type { GridheadConfig } from '../config/schema.js';
import type { Area } from '../domain/index.js';
import type { ComponentStatus, NodeStatus } from '../observe/health.js';
import type { Closers } from '../observe/closers.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { AreaShards } from './areaShards.js';
import { DutyRoster } from './duties.js';
import { Lease, leaseRecord, trustMarginMs } from './lease.js';
import { Membership, type Member } from './membership.js';
import { createPlacement, wholeStation, type Placement, type PlacementTopology } from './placement.js';
import type { NodeIdentity } from './settings.js';

export { nodeIdentity, requireClusterBroker, type NodeIdentity } from './settings.js';

/** The name of the singleton duties' lease. */
export const LEADER_LEASE = 'leader';

export interface ClusterNode {
  readonly identity: NodeIdentity;
  /** The leader lease; undefined in `single` mode, where this node always leads. */
  readonly leaderLease: Lease | undefined;
  /**
   * The active-only parts: always running in `single` and `sharded` mode, while this node
   * holds the leader lease in `active-standby`. Call `begin` once every part is registered.
   */
  readonly duties: DutyRoster;
  /**
   * The leader's singleton duties: while this node holds the leader lease in `active-standby`
   * and `sharded` (there switching with `duties`), always in `single`. `begin` it after `duties`.
   */
  readonly leaderDuties: DutyRoster;
  status(): NodeStatus;
  /** The `cluster` component of /health; undefined in `single` mode. */
  health(): Promise<ComponentStatus | undefined>;
  /** Every node ever registered, live or not (membership.ts); none in `single` mode. */
  members(): Promise<readonly Member[]>;
  /** Records where this node's API listens (once it does), unless `cluster.advertiseUrl` says otherwise. */
  advertise(apiUrl: string): Promise<void>;
  /**
   * In `sharded` mode, starts sharing out the topology's transformer areas (read again at every
   * beat) among the collecting members and returns the shards of this node; /health lists
   * them. Undefined in the other modes, where this node collects everything.
   */
  shareAreas(topology: Topology): AreaShards | undefined;
  /**
   * Which node acts on which terminal (placement.ts): shares the areas out first in `sharded`
   * mode. The same placement for every caller.
   */
  place(topology: Topology & PlacementTopology): Placement;
  /**
   * How long an act begun under a lease (a poll on the wire) may go on after this node gave the
   * lease up: half its trust margin. Trust ends a margin before the lease expires on the server,
   * and only then can another node take it, so the act is over before the next holder begins,
   * with the other half left for a late timer. 0 in `single` mode, where nothing moves.
   */
  readonly handoverMs: number;
}

/** Where the areas come from (the registry). */
export interface Topology {
  listAreas(): readonly Pick<Area, 'id' | 'kind'>[];
}

/** /health lists this many of the owned areas (sorted), and counts them all. */
export const HEALTH_SHARDS_LISTED = 20;

export interface ClusterAssembly {
  readonly config: Pick<GridheadConfig, 'cluster'>;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  readonly identity: NodeIdentity;
  /** The shared store; undefined on the embedded driver (then the mode is `single`). */
  readonly database: PostgresDatabase | undefined;
}

/** A /health answer serves the requests of the next second: /health is public, the queries are not free. */
const REPORT_REUSE_MS = 1_000;

export async function createCluster({ config, logger, throttle, closers, identity, database }: ClusterAssembly): Promise<ClusterNode> {
  const single = { id: identity.id, roles: [...identity.roles], leader: true, shards: [] };
  const { dutyStopTimeoutMs: stopTimeoutMs } = config.cluster;
  if (identity.mode === 'single' || database === undefined) {
    const duties = new DutyRoster(logger.child({ component: 'duties' }), undefined, { name: 'duties', stopTimeoutMs });
    const leaderDuties = new DutyRoster(logger.child({ component: 'leader-duties' }), undefined, { name: 'leader duties', stopTimeoutMs });
    let placement: Placement | undefined;
    return {
      identity, leaderLease: undefined, duties, leaderDuties, handoverMs: 0, status: () => ({ ...single, duties: duties.state(), leaderDuties: leaderDuties.state() }),
      health: () => Promise.resolve(undefined), advertise: () => Promise.resolve(), shareAreas: () => undefined,
      members: () => Promise.resolve([]),
      place: (topology) => (placement ??= wholeStation(topology)),
    };
  }
  const log = logger.child({ component: 'cluster', node: identity.id });
  const problem = (key: string, message: string) => (err: unknown): void => {
    const suppressed = throttle.pass(`cluster:${key}`);
    if (suppressed >= 0) log.warn({ err, suppressed }, message);
  };
  const membership = new Membership(database, {
    node: identity, apiUrl: identity.advertiseUrl ?? null, version: stationVersion(),
    onError: problem('heartbeat', 'cluster heartbeat failed; tried again at the next beat'),
  });
  await membership.join();
  closers.add('cluster membership', () => membership.leave());
  const lease = new Lease(database, {
    name: LEADER_LEASE, holder: identity.id, leaseMs: identity.leaseMs,
    onError: problem('lease', 'leader lease statement failed; tried again at the next renewal'),
  });
  lease.on('gained', (token) => { log.info({ token }, 'this node is the leader'); });
  lease.on('lost', (token, reason) => { log.warn({ token, reason }, 'this node is no longer the leader'); });
  // Sharded nodes each collect their own areas; only active-standby nodes wait for the lease.
  const duties = new DutyRoster(log.child({ component: 'duties' }), identity.mode === 'active-standby' ? lease : undefined, { name: 'duties', stopTimeoutMs });
  // Registered after `duties`: in active-standby both start on one `gained`, the active-only parts first.
  const leaderDuties = new DutyRoster(log.child({ component: 'leader-duties' }), lease, { name: 'leader duties', stopTimeoutMs });
  lease.start();
  closers.add('leader lease', () => lease.close());
  log.info({ mode: identity.mode, roles: identity.roles }, 'joined the cluster');

  let shards: AreaShards | undefined;
  const shareAreas = (topology: Topology): AreaShards | undefined => {
    if (identity.mode !== 'sharded') return undefined;
    if (shards !== undefined) return shards;
    const own = new AreaShards(database, {
      node: identity.id, leaseMs: identity.leaseMs, beatMs: Math.min(identity.heartbeatMs, Math.floor(identity.leaseMs / 3)),
      members: () => membership.members(), areas: () => transformerAreas(topology), onError: problem('shards', 'area lease beat failed; tried again at the next beat'),
    });
    own.on('owned', (a) => { log.info({ count: a.length, first: a[0]?.area }, 'areas taken'); });
    own.on('released', (a, reason) => { log.info({ count: a.length, first: a[0]?.area, reason }, 'areas given up'); });
    own.start();
    closers.add('area shards', () => own.close());
    shards = own;
    return own;
  };
  let placement: Placement | undefined;
  const place = (topology: Topology & PlacementTopology): Placement => {
    placement ??= createPlacement({ mode: identity.mode, topology, leader: lease, shards: shareAreas(topology) });
    return placement;
  };
  const shardStatus = (): Pick<NodeStatus, 'shards' | 'shardCount'> => {
    if (shards === undefined) return { shards: [] };
    const owned = shards.owned();
    return { shards: owned.slice(0, HEALTH_SHARDS_LISTED), shardCount: owned.length };
  };

  let report: { at: number; status: Promise<ComponentStatus> } | undefined;
  const health = async (): Promise<ComponentStatus> => {
    const [members, record] = await Promise.all([membership.members(), leaseRecord(database, LEADER_LEASE)]);
    const live = members.filter((m) => m.live);
    const holder = record?.live === true ? record.holder : null;
    return {
      status: live.some((m) => m.id === identity.id) ? 'ok' : 'degraded',
      detail: `${identity.mode}: ${live.length} live member(s); leader ${holder ?? 'none'}${record === undefined ? '' : ` (token ${record.token})`}; `
        + `this node is ${duties.state()}; leader duties ${leaderDuties.state()}.`,
      info: {
        mode: identity.mode, liveMembers: live.length, members: members.length,
        leaseHolder: holder, leaseToken: record?.token ?? null, leader: lease.isHolder(), duties: duties.state(), dutiesFollowLeadership: identity.mode === 'active-standby',
        leaderDuties: leaderDuties.state(),
      },
    };
  };
  return {
    identity,
    leaderLease: lease,
    duties,
    leaderDuties,
    status: () => ({ ...single, leader: lease.isHolder(), duties: duties.state(), leaderDuties: leaderDuties.state(), ...shardStatus() }),
    shareAreas,
    place,
    handoverMs: Math.floor(trustMarginMs(identity.leaseMs) / 2),
    members: () => membership.members(),
    advertise: (apiUrl) => (identity.advertiseUrl === undefined ? membership.advertise(apiUrl) : Promise.resolve()),
    health: () => {
      const now = performance.now();
      if (report === undefined || now - report.at >= REPORT_REUSE_MS) {
        report = {
          at: now,
          status: health().catch((err: unknown): ComponentStatus => ({
            status: 'degraded', detail: `the member list cannot be read: ${err instanceof Error ? err.message : String(err)}`,
            info: { mode: identity.mode, leader: lease.isHolder(), duties: duties.state(), dutiesFollowLeadership: identity.mode === 'active-standby', leaderDuties: leaderDuties.state() },
          })),
        };
      }
      return report.status;
    },
  };
}

/** The unit of sharding: a transformer area (台区) with its meters, whose area rules, line loss and overload need them all on one node. */
function* transformerAreas(topology: Topology): Iterable<string> {
  for (const a of topology.listAreas()) if (a.kind === 'transformer') yield a.id;
}

/** The station's version from its package.json (two levels up in the sources, three in dist/). */
function stationVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'gridhead' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}
