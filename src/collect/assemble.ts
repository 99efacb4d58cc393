/**
 * Builds collection: collection statistics and the polling scheduler, which offers what it
 * reads to the ingest pipeline it is given. Polling is an active-only duty: it runs while
 * this node is active and stops (in-flight reads aborted, sessions closed, statistics
 * flushed) when it steps down. With several nodes it polls only the terminals placed on this
 * node, following the placement as areas move (scheduler.ts). Modules built later hear every
 * terminal's online/offline transition through `onTerminalChange`.
 */
import type { ProtocolName, RawReading, TransportAdapter } from '../../protocols/adapter.js';
import type { GridheadConfig } from '../config/schema.js';
import type { Protocol } from '../domain/index.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import { checkOpenFiles, readOpenFilesLimit, type OpenFilesLimit } from '../observe/openFiles.js';
import type { Registry } from '../registry/registry.js';
import type { ProfileCursorStore } from './profileCursors.js';
import { CollectionScheduler, type CollectPlacement } from './scheduler.js';
import { CollectionStats } from './stats.js';
import type { CollectionStatsStore } from './statsStore.js';
import type { StateChange } from './terminalHealth.js';

export interface Collection {
  readonly stats: CollectionStats;
  readonly scheduler: CollectionScheduler;
  /** Hears every terminal's online/offline transition from now on. */
  onTerminalChange(listener: (change: StateChange) => void): () => void;
}

export interface CollectionAssembly {
  readonly config: GridheadConfig;
  readonly stores: { readonly stats: CollectionStatsStore; readonly cursors: ProfileCursorStore };
  readonly registry: Registry;
  /** The adapters of the terminals the scheduler polls. */
  readonly adapters: Readonly<Partial<Record<ProtocolName, TransportAdapter>>>;
  /** The ingest pipeline's intake: its promise settles once the batch is queued (the backpressure). */
  readonly offer: (batch: readonly RawReading[], protocol: Protocol, mode: 'poll') => Promise<unknown>;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  /** Where polling registers as an active-only part. */
  readonly duties: Duties;
  /** Which terminals this node polls now (src/cluster/placement.ts). */
  readonly placement: CollectPlacement & { on(event: 'changed', listener: () => void): () => void };
  /** How long a request on the wire may go on after its terminal was placed on another node, ms. */
  readonly handoverMs: number;
  /** This process's open-files limit; read from /proc/self/limits when not given. */
  readonly openFilesLimit?: OpenFilesLimit;
}

export function createCollection({ config, stores, registry, adapters, offer, logger, throttle, closers, duties, placement, handoverMs, openFilesLimit }: CollectionAssembly): Collection {
  checkOpenFiles(openFilesLimit ?? readOpenFilesLimit(), descriptorNeeds(config), logger);
  const stats = new CollectionStats({
    store: stores.stats,
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    // Every flush fails while the database is down: one line a minute, not one per flush.
    onError: (err) => {
      const suppressed = throttle.pass('collect:stats-flush');
      if (suppressed >= 0) logger.error({ err, suppressed }, 'collection statistics flush failed; kept in memory');
    },
  });
  const terminalListeners = new Set<(change: StateChange) => void>();
  const scheduler = new CollectionScheduler({
    config: config.collect,
    topology: {
      terminals: () => registry.listTerminals(),
      terminal: (id) => registry.findTerminal(id),
      metersOf: (id) => registry.metersOfTerminal(id),
    },
    adapters,
    sink: async (batch, terminal) => {
      await offer(batch, terminal.protocol, 'poll');
    },
    stats,
    cursors: stores.cursors,
    placement,
    handoverMs,
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    onStateChange: (c) => {
      // The first success after start is not news; every later transition is one line.
      const level = c.previous === 'unknown' && c.online ? 'debug' : 'info';
      logger[level]({ terminal: c.terminalId, online: c.online, reason: c.reason }, c.online ? 'terminal online' : 'terminal offline');
      for (const listener of terminalListeners) listener(c);
    },
    onError: (err) => {
      if (throttle.pass(`collect:${err.name}`) >= 0) logger.warn({ err }, 'collection fault');
    },
  });
  // Meters are read afresh every cycle; only a terminal change reshapes the schedule.
  registry.onChange((c) => { if (c.kind === 'terminal') void scheduler.refresh(c.id); });
  placement.on('changed', () => { scheduler.placementChanged(); });
  duties.add('collect', { start: () => { scheduler.start(); }, stop: () => scheduler.stop() });
  closers.add('collect', () => scheduler.stop());

  return {
    stats, scheduler,
    onTerminalChange: (listener) => subscribe(terminalListeners, listener),
  };
}

/**
 * Descriptors collection may hold: a session per request in flight, plus the sessions kept open
 * between requests, up to their bound, whatever the number of polled terminals; DLMS pushes
 * over TCP hold one each, up to their limit.
 */
function descriptorNeeds(config: GridheadConfig): { what: string; count: number }[] {
  const push = config.dlms.push.listen.enabled ? config.dlms.push.maxConnections : 0;
  return [
    { what: 'collectionSessions', count: config.collect.concurrency + config.collect.keepSessions.max },
    { what: 'dlmsPushConnections', count: push },
  ];
}

function subscribe<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => { set.delete(listener); };
}
