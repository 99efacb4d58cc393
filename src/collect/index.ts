/** src/collect: polling scheduler, per-terminal sessions, health and collection statistics. */
export { CollectionScheduler, itemsFor } from './scheduler.js';
export type {
  CollectPlacement, CollectSettings, CollectSink, CollectTopology, CollectionSchedulerOptions,
} from './scheduler.js';
export type { CollectCounters } from './counters.js';
export type { OnDemandRequest, OnDemandResult } from './onDemand.js';
export { CollectionStats, DEFAULT_STATS_FLUSH_MS } from './stats.js';
export type { CollectionStatsOptions, RateCounts, SuccessRateReport, TerminalRate } from './stats.js';
export { SqliteCollectionStatsStore } from './statsStore.js';
export { MemoryProfileCursors, SqliteProfileCursors, type ProfileCursorStore } from './profileCursors.js';
export type { CollectionStatsStore, DayCount } from './statsStore.js';
export type { LinkStatus, StateChange, TerminalState } from './terminalHealth.js';
export type { RequestPolicy } from './terminalLane.js';
export { MAX_BACKOFF_MS } from './terminalLane.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export * from './errors.js';
