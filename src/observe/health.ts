/**
 * The shape of the head-end's /health report. It lives here, below the API that serves
 * it and the modules that feed it, so neither has to import the other for a type.
 */

/**
 * `ok`: works; `starting`: serving part of what it will, still coming up (e.g. the OPC UA address
 * space being built), not a fault; `degraded`: serving, but failing in part (e.g. InfluxDB down,
 * data spooled); `down`: cannot serve. The station as a whole is never `starting`.
 */
export type HealthStatus = 'ok' | 'starting' | 'degraded' | 'down';

export interface ComponentStatus {
  readonly status: HealthStatus;
  readonly detail?: string;
  /** Figures a monitor may read (e.g. the database's driver, pool use, last error); never a secret. */
  readonly info?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Which node answered and what it does now (src/cluster/): what a load balancer routes by. */
export interface NodeStatus {
  readonly id: string;
  readonly roles: string[];
  /** Holds the leader lease (always true in `single` mode). */
  readonly leader: boolean;
  /** `active` while this node runs the active-only duties (polling, telemetry, rule and load-control timers), `standby` while it only serves. */
  readonly duties: 'active' | 'standby';
  /** `active` while this node runs the leader's singleton duties (load-control ticks, alarm notifiers, OPC UA unless on every node, event retention). */
  readonly leaderDuties: 'active' | 'standby';
  /** The areas this node collects in `sharded` mode, sorted; the first few when it owns many (see shardCount). Empty in the other modes. */
  readonly shards: string[];
  /** How many areas this node owns, in `sharded` mode only. */
  readonly shardCount?: number;
}

export interface HealthReport {
  /** The worst status among the components, `starting` counting as `ok`. */
  readonly status: Exclude<HealthStatus, 'starting'>;
  readonly node: NodeStatus;
  readonly components: Readonly<Record<string, ComponentStatus>>;
}
