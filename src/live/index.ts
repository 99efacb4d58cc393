/**
 * Builds the station's live state: the latest value per meter and quantity, the per-meter
 * reading feed of the live stream, the index of open alarms per meter and area, control
 * read-backs, and area load analysis. Its two sinks join the pipeline; the API's live and
 * analysis views are drawn from what it returns.
 */
import type { GridheadConfig } from '../config/schema.js';
import type { LatestValue, MeterId } from '../domain/index.js';
import type { ReadingSink } from '../ingest/pipeline.js';
import type { Closers } from '../observe/closers.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import type { AnalysisQueries } from '../storage/analysisQueries.js';
import { AreaAnalysis } from '../storage/areaAnalysis.js';
import type { AsyncReadingStore } from '../storage/readingStore.js';
import { LatestValues, withStored } from './latest.js';
import type { ControlReadBacks } from './meterState.js';
import { OpenAlarmIndex, type AlarmSource } from './openAlarms.js';
import { MeterReadingFeed } from './readingFeed.js';

export interface Live {
  readonly values: LatestValues;
  /** The live stream's per-meter feed. */
  readonly feed: MeterReadingFeed;
  readonly openAlarms: OpenAlarmIndex;
  readonly readBacks: ControlReadBacks;
  readonly analysis: AreaAnalysis;
  /** What the pipeline hands readings to, in order. */
  readonly sinks: readonly ReadingSink[];
  /** A meter's latest value per quantity: live, completed by the store for quantities not read since the start. */
  latest(id: MeterId): Promise<LatestValue[]>;
}

export interface LiveAssembly {
  readonly config: GridheadConfig;
  readonly registry: Registry;
  readonly readings: AsyncReadingStore;
  /** What area analysis reads (readings, registry) from. */
  readonly analysisQueries: AnalysisQueries;
  readonly readBacks: ControlReadBacks;
  readonly alarms: AlarmSource;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
}

export function createLive({ config, registry, readings, analysisQueries, readBacks, alarms, logger, throttle, closers }: LiveAssembly): Live {
  const values = new LatestValues();
  // The live stream's per-meter feed: its listener failures are counted and logged, never the pipeline's.
  const feed = new MeterReadingFeed((err) => { if (throttle.pass('live-feed') >= 0) logger.warn({ err }, 'live stream listener failed'); });
  registry.onChange((c) => {
    if (c.kind === 'meter' && c.op === 'delete') values.forget(c.id);
  });
  const openAlarms = new OpenAlarmIndex(alarms);
  closers.add('open alarm index', () => { openAlarms.close(); });
  const analysis = new AreaAnalysis({
    queries: analysisQueries,
    topology: registry,
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    supplyMeters: config.analysis.supplyMeters,
    maxRangeDays: config.analysis.maxRangeDays,
    maxPoints: config.analysis.maxPoints,
    maxCompareAreas: config.analysis.maxCompareAreas,
    lineLossEdgeToleranceMs: config.analysis.lineLossEdgeToleranceMs,
  });
  return {
    values, feed, openAlarms, analysis,
    readBacks,
    sinks: [values, feed],
    latest: async (id) => {
      const stored = await readings.latest(id);
      return withStored(values.of(id), stored);
    },
  };
}
