/**
 * Builds collection: the one ingest pipeline with its sinks in order, the InfluxDB stream
 * when enabled, collection statistics, and the polling scheduler. Modules built later hear
 * it through `onReadings` (every delivered batch, at the place in the sink order that
 * precedes the rules) and `onTerminalChange` (every online/offline transition).
 */
import type { ProtocolName, TransportAdapter } from '../../protocols/adapter.js';
import type { GridheadConfig } from '../config/schema.js';
import type { Reading } from '../domain/index.js';
import { IngestPipeline, type ReadingSink } from '../ingest/pipeline.js';
import type { Closers } from '../observe/closers.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import type { Db } from '../storage/db.js';
import { InfluxSink } from '../storage/influx/sink.js';
import type { ReadingStore } from '../storage/readingStore.js';
import { MeterReader } from './meterRead.js';
import { SqliteProfileCursors } from './profileCursors.js';
import { CollectionScheduler } from './scheduler.js';
import { CollectionStats } from './stats.js';
import { SqliteCollectionStatsStore } from './statsStore.js';
import type { StateChange } from './terminalHealth.js';

export interface Collection {
  readonly pipeline: IngestPipeline;
  readonly stats: CollectionStats;
  readonly scheduler: CollectionScheduler;
  /** The InfluxDB stream; undefined when `influx.enabled` is off. */
  readonly influx: InfluxSink | undefined;
  /** Hears every batch the pipeline delivers from now on; the listener must not throw. */
  onReadings(listener: (batch: readonly Reading[]) => void): () => void;
  /** Hears every terminal's online/offline transition from now on. */
  onTerminalChange(listener: (change: StateChange) => void): () => void;
  /** On-demand reads of one meter through its terminal's lane. */
  readonly meterReader: MeterReader;
  /** Starts polling; push receivers should be subscribed first. */
  start(): void;
}

export interface CollectionAssembly {
  readonly config: GridheadConfig;
  readonly db: Db;
  readonly registry: Registry;
  /** The adapters of the terminals the scheduler polls. */
  readonly adapters: Readonly<Partial<Record<ProtocolName, TransportAdapter>>>;
  /** Sinks in the pipeline's order: the embedded store first, then live state, then rules; InfluxDB last. */
  readonly store: ReadingStore;
  readonly live: readonly ReadingSink[];
  readonly rules: ReadingSink | undefined;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
}

export function createCollection({ config, db, registry, adapters, store, live, rules, logger, throttle, closers }: CollectionAssembly): Collection {
  const readingListeners = new Set<(batch: readonly Reading[]) => void>();
  const listeners: ReadingSink = { name: 'reading listeners', write: (b) => { for (const l of readingListeners) l(b); } };
  const sinks: ReadingSink[] = [{ name: 'store', write: (b) => void store.write(b) }, ...live, listeners];
  if (rules !== undefined) sinks.push(rules);
  let influx: InfluxSink | undefined;
  if (config.influx.enabled) {
    const sink = new InfluxSink({
      ...config.influx,
      dataDir: config.dataDir,
      tagsFor: (id) => {
        const area = registry.findMeter(id)?.areaId;
        return area === null || area === undefined ? undefined : { area };
      },
      logger: logger.child({ component: 'influx' }),
    });
    sink.start();
    sinks.push({ name: 'influx', write: (b) => sink.write(b) });
    influx = sink;
  }

  const pipeline = new IngestPipeline({
    capacity: config.ingest.queueCapacity,
    drainBatch: config.storage.batchSize,
    sinks,
    meterAt: (t, a) => registry.meterAt(t, a),
    plausibility: config.ingest.plausibility,
    onReject: (r) => {
      const meter = r.reason === 'UNKNOWN_METER' ? undefined : r.meterId;
      const suppressed = throttle.pass(`reject:${meter ?? r.terminalId}:${r.reason}`);
      if (suppressed >= 0) logger.warn({ terminal: r.terminalId, meter, quantity: r.quantity, reason: r.reason, detail: r.detail, suppressed }, 'reading rejected');
    },
    onSinkError: (sink, err, attempt) => {
      if (throttle.pass(`sink:${sink}`) >= 0) logger.error({ sink, attempt, err }, 'sink write failed; retrying the same batch');
    },
  });
  const influxSink = influx;
  if (influxSink !== undefined) closers.add('influx', () => influxSink.close());
  closers.add('pipeline', () => pipeline.close());

  const stats = new CollectionStats({
    store: new SqliteCollectionStatsStore(db),
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    onError: (err) => { logger.error({ err }, 'collection statistics flush failed; kept in memory'); },
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
      await pipeline.offer(batch, terminal.protocol, 'poll');
    },
    stats,
    cursors: new SqliteProfileCursors(db),
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

  return {
    pipeline, stats, scheduler, influx,
    meterReader: new MeterReader({ meter: (id) => registry.findMeter(id), terminal: (id) => registry.findTerminal(id), scheduler, plausibility: config.ingest.plausibility }),
    onReadings: (listener) => subscribe(readingListeners, listener),
    onTerminalChange: (listener) => subscribe(terminalListeners, listener),
    start: () => {
      scheduler.start();
      closers.add('collect', () => scheduler.stop());
    },
  };
}

function subscribe<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => { set.delete(listener); };
}
