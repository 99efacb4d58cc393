/**
 * The cluster feed, assembled: in a mode with several nodes, every node publishes what its
 * pipeline committed (MQTT telemetry, DLMS pushes and polled readings alike) and applies
 * what the others committed to its live state, so the dashboard, the live stream and OPC UA
 * show the whole fleet on any node, an active-standby standby included. They also go to its
 * rule engine, never to its store (the node that received them stored them). The engine
 * judges by placement (src/rules/engine.ts): meter rules only for terminals placed here, area
 * rules only for the areas owned here, whose load and line loss must count every meter of the
 * area, including meters behind a terminal placed with another area (a concentrator whose
 * meters straddle two areas) or on another node.
 *
 * At an area move the new owner's rules judge the area from the next feed message on,
 * whichever node received its readings; the old owner's stop at the same point, by the same
 * placement. A node that crashes publishes nothing more; what it committed and had not yet
 * handed to the broker is missing from the others' live state until the meters' next
 * readings, never from the store.
 *
 * Undefined in `single` mode.
 */
import type { MqttConnection } from '../../../protocols/mqtt/connection.js';
import type { GridheadConfig } from '../../config/schema.js';
import type { ReadingSink } from '../../ingest/pipeline.js';
import type { Closers } from '../../observe/closers.js';
import type { LogThrottle, Logger } from '../../observe/logger.js';
import type { MetricSource } from '../../observe/metrics.js';
import type { ReadingPath } from '../../readingPath.js';
import type { NodeIdentity } from '../settings.js';
import { ClusterFeed } from './clusterFeed.js';

export { ClusterFeed, type ClusterFeedStats } from './clusterFeed.js';

export interface ClusterFeedAssembly {
  readonly config: GridheadConfig;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  readonly identity: Pick<NodeIdentity, 'id'>;
  /** This node's feed session (src/cluster/mqttClients.ts); undefined: no feed (`single` mode). */
  readonly clientId: string | undefined;
  readonly connection: MqttConnection;
  /** Placement (placement.ts): the area a terminal's readings are published under. */
  readonly placement: { areaOf(terminalId: string): string | null };
  readonly readings: Pick<ReadingPath, 'onCommitted' | 'applyRemote'>;
  /** The rule engine; undefined when the rules are off. */
  readonly rules: ReadingSink | undefined;
}

export interface StationFeed {
  readonly feed: ClusterFeed;
  metricSources(): MetricSource[];
}

/** Longest wait at start for the broker to grant the feed's subscription; the client keeps trying after. */
const SUBSCRIBE_WAIT_MS = 15_000;

export async function createClusterFeed(a: ClusterFeedAssembly): Promise<StationFeed | undefined> {
  if (a.clientId === undefined) return undefined;
  const { config, logger, throttle, placement, readings, rules } = a;
  const log = logger.child({ component: 'cluster-feed' });
  const feed = new ClusterFeed({
    connection: a.connection,
    clientId: a.clientId,
    topicPrefix: config.mqtt.topicPrefix,
    node: a.identity.id,
    maxReadingsPerMessage: config.cluster.feed.maxReadingsPerMessage,
    maxPendingMessages: config.cluster.feed.maxPendingMessages,
    areaOf: (terminalId) => placement.areaOf(terminalId),
    apply: async (batch) => {
      await readings.applyRemote(batch);
      await rules?.write(batch);
    },
    onProblem: (p) => {
      const suppressed = throttle.pass(`cluster-feed:${p.code}`);
      if (suppressed >= 0) log.warn({ code: p.code, detail: p.detail, suppressed }, 'cluster feed message not published or not applied');
    },
  });
  const stopListening = readings.onCommitted((batch) => { feed.publish(batch); });
  a.closers.add('cluster feed', async () => {
    stopListening();
    await feed.close();
  });
  await feed.start(AbortSignal.timeout(SUBSCRIBE_WAIT_MS)).catch((err: unknown) => {
    // Not fatal: the client keeps reconnecting; the other nodes' readings arrive once it is back.
    log.error({ err }, 'cluster feed not subscribed yet; retrying in the background');
  });
  return { feed, metricSources: () => feedMetrics(feed) };
}

function feedMetrics(feed: ClusterFeed): MetricSource[] {
  return [
    {
      name: 'gridhead_cluster_feed_readings', help: 'Readings on the cluster feed: published by this node, dropped before publishing (maxPendingMessages or no client), applied from other nodes', type: 'counter', labelNames: ['outcome'],
      read: () => {
        const s = feed.stats();
        return [{ labels: { outcome: 'published' }, value: s.published }, { labels: { outcome: 'dropped' }, value: s.dropped }, { labels: { outcome: 'applied' }, value: s.applied }];
      },
    },
    {
      name: 'gridhead_cluster_feed_messages', help: 'Cluster feed messages received, by outcome (bad: did not decode)', type: 'counter', labelNames: ['outcome'],
      read: () => {
        const s = feed.stats();
        return [
          { labels: { outcome: 'received' }, value: s.received }, { labels: { outcome: 'own' }, value: s.own },
          { labels: { outcome: 'bad' }, value: s.bad }, { labels: { outcome: 'apply_failed' }, value: s.applyFailed },
          { labels: { outcome: 'publish_failed' }, value: s.publishFailed },
        ];
      },
    },
    { name: 'gridhead_cluster_feed_pending', help: 'Cluster feed messages awaiting the broker\'s PUBACK', type: 'gauge', read: () => [{ value: feed.stats().pending }] },
  ];
}
