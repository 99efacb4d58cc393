/**
 * What the head-end says about itself: the /health report and the Prometheus metric
 * sources, read from the modules' own stats() at request time.
 */
import type { CollectionScheduler } from './collect/index.js';
import type { IngestPipeline } from './ingest/pipeline.js';
import type { DlmsAdapter } from '../protocols/dlms/adapter.js';
import type { MqttAdapter } from '../protocols/mqtt/adapter.js';
import type { InfluxSink } from './storage/influx/sink.js';
import type { ComponentStatus, HealthReport, NodeStatus } from './observe/health.js';
import type { MetricSource } from './observe/metrics.js';

export interface HeadEndParts {
  readonly pipeline: IngestPipeline;
  readonly mqtt: MqttAdapter;
  readonly mqttUrl: string;
  readonly scheduler: CollectionScheduler;
  readonly influx: InfluxSink | undefined;
  readonly dlms: DlmsAdapter;
  /** The broker's dropped-message watch; undefined when `mqtt.brokerDrops.enabled` is off. */
  readonly brokerDrops: { health(): ComponentStatus } | undefined;
  /** The stores' database (src/stores.ts): driver, reachability, pool, last error. */
  readonly database: { health(): Promise<ComponentStatus> };
  /** This node (src/cluster/): the top-level `node` object, and a `cluster` component when it has peers. */
  readonly cluster: { status(): NodeStatus; health(): Promise<ComponentStatus | undefined> };
  /** The OPC UA server; undefined when `opcua.enabled` is off. */
  readonly opcua: { health(): ComponentStatus } | undefined;
}

export async function healthReport({ pipeline, mqtt, mqttUrl, scheduler, influx, brokerDrops, database, cluster, opcua }: HeadEndParts): Promise<HealthReport> {
  const node = cluster.status();
  const components: Record<string, ComponentStatus> = {
    database: await database.health(),
    // A standby leaves the broker to the active node: not connected is its normal state.
    mqtt: node.duties === 'standby' ? { status: 'ok', detail: 'standby: the active node holds the telemetry subscription' }
      : mqtt.isConnected() ? { status: 'ok' } : { status: 'degraded', detail: `not connected to ${mqttUrl} (${mqtt.stats().reconnects} reconnects)` },
    ingest: { status: 'ok', detail: `${pipeline.stats().queued} queued` },
    collection: collectionHealth(node.duties, scheduler.coverage()),
  };
  const members = await cluster.health();
  if (members !== undefined) components.cluster = members;
  if (brokerDrops !== undefined) components.mqttBrokerDrops = brokerDrops.health();
  if (opcua !== undefined) components.opcua = opcua.health();
  if (influx !== undefined) {
    const s = influx.stats();
    components.influx = s.connected || s.pendingPoints === 0
      ? { status: 'ok' }
      : { status: 'degraded', detail: `${s.pendingPoints} points spooled; last error: ${s.lastError ?? 'none'}` };
  }
  const all = Object.values(components);
  const worst = all.some((c) => c.status === 'down') ? 'down' : all.some((c) => c.status === 'degraded') ? 'degraded' : 'ok';
  return { status: worst, node, components };
}

/** How many of the station's polled terminals this node polls; the others are placed on other nodes (src/cluster/placement.ts). */
function collectionHealth(duties: NodeStatus['duties'], { polled, placedElsewhere }: ReturnType<CollectionScheduler['coverage']>): ComponentStatus {
  if (duties === 'standby') return { status: 'ok', detail: 'standby: the active node polls' };
  const of = polled + placedElsewhere;
  return { status: 'ok', detail: `polls ${polled} of ${of} polled terminal(s)`, info: { polled, of } };
}

export function metricSources({ pipeline, mqtt, scheduler, influx, dlms }: HeadEndParts): MetricSource[] {
  return [
    { name: 'gridhead_ingest_accepted', help: 'Readings accepted into the pipeline', type: 'counter', read: () => [{ value: pipeline.stats().accepted }] },
    { name: 'gridhead_ingest_delivered', help: 'Readings delivered to every sink', type: 'counter', read: () => [{ value: pipeline.stats().delivered }] },
    { name: 'gridhead_ingest_queued', help: 'Readings waiting in the pipeline', type: 'gauge', read: () => [{ value: pipeline.stats().queued }] },
    {
      name: 'gridhead_ingest_rejected', help: 'Readings refused by normalisation (unknown meter or quantity, implausible value, ...), by protocol and reason', type: 'counter', labelNames: ['protocol', 'reason'],
      read: () => Object.entries(pipeline.stats().rejected).flatMap(([protocol, byReason]) =>
        Object.entries(byReason).map(([reason, value]) => ({ labels: { protocol, reason }, value }))),
    },
    {
      name: 'gridhead_mqtt_messages', help: 'MQTT messages by outcome', type: 'counter', labelNames: ['outcome'],
      read: () => {
        const s = mqtt.stats();
        return [
          { labels: { outcome: 'received' }, value: s.messages },
          { labels: { outcome: 'malformed' }, value: s.malformed },
          { labels: { outcome: 'dead_lettered' }, value: s.deadLettered },
        ];
      },
    },
    {
      name: 'gridhead_collect_items', help: 'Polled items by outcome', type: 'counter', labelNames: ['outcome'],
      read: () => {
        const c = scheduler.counters();
        return [{ labels: { outcome: 'collected' }, value: c.itemsCollected }, { labels: { outcome: 'failed' }, value: c.itemsFailed }];
      },
    },
    {
      name: 'gridhead_collect_sessions', help: 'Terminal sessions the collector holds open: in use by a request, or kept between requests (bounded by collect.keepSessions.max)', type: 'gauge', labelNames: ['state'],
      read: () => {
        const c = scheduler.counters();
        return [{ labels: { state: 'in_use' }, value: c.sessionsOpen - c.sessionsKept }, { labels: { state: 'kept' }, value: c.sessionsKept }];
      },
    },
    {
      name: 'gridhead_terminals', help: 'Terminals by link state', type: 'gauge', labelNames: ['state'],
      read: () => {
        const counts = new Map<string, number>();
        for (const s of scheduler.states()) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
        return [...counts].map(([state, value]) => ({ labels: { state }, value }));
      },
    },
    { name: 'gridhead_dlms_replies_with_trailing_bytes', help: 'DLMS replies with bytes after their complete APDU (ignored)', type: 'counter', read: () => [{ value: dlms.stats().repliesWithTrailingBytes }] },
    { name: 'gridhead_dlms_trailing_bytes', help: 'Bytes ignored after complete DLMS APDUs', type: 'counter', read: () => [{ value: dlms.stats().trailingBytes }] },
    ...(influx === undefined ? [] : [
      { name: 'gridhead_influx_pending_points', help: 'Points spooled for InfluxDB, not yet acknowledged', type: 'gauge' as const, read: () => [{ value: influx.stats().pendingPoints }] },
      { name: 'gridhead_influx_sent_points', help: 'Points InfluxDB acknowledged', type: 'counter' as const, read: () => [{ value: influx.stats().sentPoints }] },
    ]),
  ];
}
