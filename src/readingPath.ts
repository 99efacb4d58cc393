/**
 * The reading path, for the composition root: the one ingest pipeline and its sinks in
 * order (the embedded store first, then live state, then whoever listens, such as OPC UA,
 * then the rules; the InfluxDB stream last, so a backed-up spool never delays the others).
 * It sits here, above collect, ingest and storage, because it joins all three: the collector
 * offers into the pipeline without knowing what the pipeline writes to.
 */
import type { GridheadConfig } from './config/schema.js';
import type { Reading } from './domain/index.js';
import { IngestPipeline, type PipelineStall, type ReadingSink } from './ingest/pipeline.js';
import type { Closers } from './observe/closers.js';
import type { LogThrottle, Logger } from './observe/logger.js';
import type { Registry } from './registry/registry.js';
import { InfluxSink } from './storage/influx/sink.js';
import type { AsyncReadingStore } from './storage/readingStore.js';

export interface ReadingPath {
  readonly pipeline: IngestPipeline;
  /** The InfluxDB stream; undefined when `influx.enabled` is off. */
  readonly influx: InfluxSink | undefined;
  /**
   * Hears every batch that reaches live state from now on: what the pipeline delivers (after
   * live state and before the rules) and what other nodes committed (`applyRemote`). The
   * listener must not throw.
   */
  onReadings(listener: (batch: readonly Reading[]) => void): () => void;
  /** Hears only the batches this node's pipeline committed to the store, as `onReadings` does; the listener must not throw. */
  onCommitted(listener: (batch: readonly Reading[]) => void): () => void;
  /** Readings another node committed (the cluster feed): to live state and the `onReadings` listeners; never to the store, the rules or InfluxDB. */
  applyRemote(batch: readonly Reading[]): Promise<void>;
  /** The pipeline's stall when the failing sink comes before the rules (the store, live state, listeners): the rules hear nothing meanwhile. */
  stallAheadOfRules(): PipelineStall | undefined;
}

export interface ReadingPathAssembly {
  readonly config: GridheadConfig;
  readonly registry: Registry;
  readonly store: AsyncReadingStore;
  /** A store write failed (the pipeline retries the same batch): for /health. */
  readonly onStoreError?: (err: unknown) => void;
  readonly live: readonly ReadingSink[];
  readonly rules: ReadingSink | undefined;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
}

export function createReadingPath({ config, registry, store, onStoreError, live, rules, logger, throttle, closers }: ReadingPathAssembly): ReadingPath {
  const readingListeners = new Set<(batch: readonly Reading[]) => void>();
  const committedListeners = new Set<(batch: readonly Reading[]) => void>();
  const listeners: ReadingSink = {
    name: 'reading listeners',
    write: (b) => {
      for (const l of committedListeners) l(b);
      for (const l of readingListeners) l(b);
    },
  };
  // Awaited: the pipeline's `committed`, which push adapters acknowledge on, settles only after the store's commit.
  const sinks: ReadingSink[] = [{ name: 'store', write: async (b) => { await store.write(b); } }, ...live, listeners];
  const aheadOfRules = new Set(sinks.map((s) => s.name));
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
    closers.add('influx', () => sink.close());
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
      if (sink === 'store') onStoreError?.(err);
      if (throttle.pass(`sink:${sink}`) >= 0) logger.error({ sink, attempt, err }, 'sink write failed; retrying the same batch');
    },
  });
  closers.add('pipeline', () => pipeline.close());
  return {
    pipeline,
    influx,
    onReadings: (listener) => {
      readingListeners.add(listener);
      return () => { readingListeners.delete(listener); };
    },
    onCommitted: (listener) => {
      committedListeners.add(listener);
      return () => { committedListeners.delete(listener); };
    },
    applyRemote: async (batch) => {
      for (const sink of live) await sink.write(batch);
      for (const l of readingListeners) l(batch);
    },
    stallAheadOfRules: () => {
      const stall = pipeline.stall();
      return stall !== undefined && aheadOfRules.has(stall.sink) ? stall : undefined;
    },
  };
}
