/**
 * The parts of the station that only the active node runs (polling, the telemetry
 * subscription, the rule and load-control timers), as each assembly function hands them to
 * the node's duty roster: started when the node becomes active, stopped when it steps down.
 * The roster itself, which follows the leader lease, lives in src/cluster/duties.ts. At
 * shutdown each part is stopped by the closer its assembly registers, as any resource is:
 * the roster only decides when a part runs.
 */

export interface Duty {
  /** Starts the work; called only while stopped. */
  start(): Promise<void> | void;
  /**
   * Stops it promptly: timers cleared, in-flight work ended or abandoned. Nothing unsaved may
   * be acknowledged to a device or the broker, so another node can take it over. Also
   * called on a part whose start was skipped or failed, and its closer may stop it again at
   * shutdown: a stop of nothing is harmless.
   */
  stop(): Promise<void> | void;
}

export interface Duties {
  /** Registers an active-only part; parts start in the order they were added and stop in reverse. */
  add(name: string, duty: Duty): void;
}
