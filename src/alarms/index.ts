/**
 * Builds the alarm side of the station: the alarm service and its change feed, the
 * notifiers (MQTT, webhooks), the broker's dropped-message watch, and the device-event
 * recorder. Everything that raises alarms (rules, load-control programs, the drop watch)
 * hands its signals to `signal`; whoever must hear stored device events subscribes.
 * The notifiers and the event retention are the leader's duties: one node notifies, one prunes.
 */
import { roleClientId, type MqttConnection } from '../../protocols/mqtt/connection.js';
import type { Leadership } from '../cluster/fencing.js';
import { BrokerDropMonitor, type DropCounterStore } from '../broker/dropMonitor.js';
import type { GridheadConfig } from '../config/schema.js';
import type { AlarmSignal, DeviceEvent } from '../domain/index.js';
import { EventRecorder } from '../events/recorder.js';
import type { DeviceEventStore } from '../events/store.js';
import type { Closers } from '../observe/closers.js';
import type { Duties } from '../observe/duties.js';
import type { LogThrottle, Logger } from '../observe/logger.js';
import type { MetricSource } from '../observe/metrics.js';
import type { Registry } from '../registry/registry.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import { AlarmFeed } from './feed.js';
import { alarmMetricSources } from './metrics.js';
import { PostgresAlarmNotificationLog } from './notify/fencing.js';
import { createAlarmNotifiers, type AlarmNotifiers } from './notify/index.js';
import { AlarmService } from './service.js';
import type { AlarmStore } from './store.js';

export interface Alarms {
  readonly service: AlarmService;
  readonly feed: AlarmFeed;
  /** The SSE counters the alarm routes keep. */
  readonly streams: { streams: number; slowClientsDropped: number };
  readonly notifiers: AlarmNotifiers;
  /** The broker's dropped-message watch; undefined when `mqtt.brokerDrops.enabled` is off. */
  readonly brokerDrops: BrokerDropMonitor | undefined;
  /** Device events store; `recordEvents` is the ingest for every protocol's events. */
  readonly events: EventRecorder;
  /** A rule's or a program's signal: one log line, then to the alarm service. */
  readonly signal: (s: AlarmSignal) => void;
  /** Hears every stored device event, from now on. */
  onDeviceEvent(listener: (e: DeviceEvent) => void): () => void;
  metricSources(): MetricSource[];
}

export interface AlarmsAssembly {
  readonly config: GridheadConfig;
  readonly stores: {
    readonly alarms: AlarmStore;
    readonly deviceEvents: DeviceEventStore;
    /** Where the broker drop watch keeps the counter it last confirmed. */
    readonly brokerDropCounters: DropCounterStore;
  };
  readonly topology: Pick<Registry, 'areaSubtree' | 'meterAt'>;
  /** The station's broker connection, for the MQTT notifier and the drop watch. */
  readonly broker: MqttConnection;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
  /** The leader lease, when the node runs under one: then only the leader notifies, each change marked in `database` under its token. */
  readonly leadership?: Leadership | undefined;
  /** The shared store the leader marks its notifications in; undefined on the embedded driver. */
  readonly database?: PostgresDatabase | undefined;
  /** The leader's roster: the notifiers deliver, and event retention runs, while this node leads. */
  readonly duties: Duties;
}

export async function createAlarms({ config, stores, topology, broker, logger, throttle, closers, leadership, database, duties }: AlarmsAssembly): Promise<Alarms> {
  const service = await AlarmService.open(stores.alarms, {
    areaSubtree: (id) => topology.areaSubtree(id),
    maxOpenPerRule: config.alarms.maxOpenPerRule,
    storeQueueMax: config.alarms.storeQueueMax,
    onProblem: (p) => {
      const suppressed = throttle.pass(`alarm:${p.code}:${p.ruleId ?? ''}`);
      if (suppressed >= 0) logger.warn({ code: p.code, rule: p.ruleId, reason: p.message, suppressed }, 'alarm service problem');
    },
  });
  const signal = (s: AlarmSignal): void => {
    logger.info({ rule: s.ruleId, detector: s.detector, subject: s.subject, kind: s.kind, severity: s.severity, at: s.at }, `alarm ${s.kind}: ${s.explanation}`);
    service.onSignal(s);
  };
  const feed = new AlarmFeed(1_000);
  const streams = { streams: 0, slowClientsDropped: 0 };
  const fencing = leadership === undefined || database === undefined ? undefined : { leadership, log: new PostgresAlarmNotificationLog(database) };
  const notifiers = createAlarmNotifiers(config.alarms, { ...broker, clientId: `${config.mqtt.clientId}-alarms` }, logger.child({ component: 'alarms' }), fencing);
  closers.add('alarm notifiers', () => notifiers.close());
  duties.add('alarm notifiers', { start: () => { notifiers.start(); }, stop: () => notifiers.stop() });
  closers.add('alarm store writes', async () => { await service.close(); });
  // Separate listeners: a failing SSE subscriber must not keep a change from the notifiers.
  // Both take every change, this node's and those heard from other nodes. Only the leader's
  // notifiers deliver (the others count the change as not leading), so a change made on any
  // node (raised by a shard's rules, acknowledged on a standby's API) is notified once, by the
  // leader; a node never hears its own changes back.
  service.onChange((c) => { feed.publish(c); });
  service.onChange((c) => { notifiers.notify(c); });
  await service.follow();

  // Messages the broker drops after acknowledging them are lost readings: watched through its $SYS counter.
  let brokerDrops: BrokerDropMonitor | undefined;
  if (config.mqtt.brokerDrops.enabled) {
    const monitor = await BrokerDropMonitor.open({
      // Every node watches (each under its own client id, or they would take the id from each other); the leader alone raises and clears.
      ...broker, clientId: roleClientId(config.mqtt.clientId, 'sys', config.cluster.mode === 'single' ? undefined : config.cluster.nodeId),
      clearAfterMs: config.mqtt.brokerDrops.clearAfterMs, counterWaitMs: config.mqtt.brokerDrops.counterWaitMs,
      store: stores.brokerDropCounters, logger: logger.child({ component: 'broker-drops' }),
      alarms: { onSignal: (s) => { if (leadership === undefined || leadership.fence() !== undefined) signal(s); }, openFor: (rule, subject) => service.openFor(rule, subject) },
    });
    monitor.start();
    closers.add('broker drop monitor', () => monitor.close());
    brokerDrops = monitor;
  }

  const eventListeners = new Set<(e: DeviceEvent) => void>();
  const events = new EventRecorder(stores.deviceEvents, {
    meterAt: (t, a) => topology.meterAt(t, a),
    retentionDays: config.events.retentionDays,
    maxRows: config.events.maxRows,
    onEvent: (e) => { for (const listener of eventListeners) listener(e); },
    onProblem: (p) => {
      const suppressed = throttle.pass(`event:${p.code}:${p.terminalId ?? ''}`);
      if (suppressed >= 0) logger.warn({ code: p.code, terminal: p.terminalId, reason: p.message, suppressed }, 'device event problem');
    },
  });
  // The store is the station's: pruned by the leader only, instead of by every node at once.
  duties.add('device event retention', { start: () => { events.startRetention(); }, stop: () => events.close() });
  closers.add('events', () => events.close());

  return {
    service, feed, streams, notifiers, brokerDrops, events, signal,
    onDeviceEvent: (listener) => {
      eventListeners.add(listener);
      return () => { eventListeners.delete(listener); };
    },
    metricSources: () => alarmMetricSources({ alarms: service, notifiers, streams, events }),
  };
}
