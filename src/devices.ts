/**
 * The field side of the station: the simulated fleet, when enabled, the protocol adapters,
 * and the receivers of what terminals push. This is the one place outside `protocols/` that
 * knows which protocols exist; collect and control meet the adapters through
 * `protocols/adapter.ts` only.
 */
import type { DeviceNameplate, ProtocolName, TransportAdapter } from '../protocols/adapter.js';
import { DlmsAdapter } from '../protocols/dlms/adapter.js';
import { ModbusAdapter } from '../protocols/modbus/adapter.js';
import { MqttAdapter, type MqttProblem } from '../protocols/mqtt/adapter.js';
import { startFleet, type Fleet } from '../simulators/fleet.js';
import { scenarioLogLine } from '../simulators/scenarios/runner.js';
import type { StationBroker } from './broker/index.js';
import type { ClusterNode } from './cluster/index.js';
import { memberClientId, type TelemetrySession } from './cluster/mqttClients.js';
import { SessionAdoption } from './cluster/sessionAdoption.js';
import type { CollectionScheduler } from './collect/index.js';
import { collectPushSink } from './collect/pushSink.js';
import { SYSTEM_ACTOR } from './control/audit.js';
import type { GridheadConfig } from './config/schema.js';
import { listening } from './config/ports.js';
import { QUANTITIES, isQuantity } from './domain/index.js';
import type { EventRecorder } from './events/recorder.js';
import type { IngestPipeline } from './ingest/pipeline.js';
import type { Closers } from './observe/closers.js';
import type { Duties } from './observe/duties.js';
import type { LogThrottle, Logger } from './observe/logger.js';
import type { StationStorage } from './openStorage.js';
import { stationDlmsPush, type DlmsPushStores, type StationDlmsPush } from './dlmsPush.js';

export interface Adapters {
  readonly modbus: ModbusAdapter;
  readonly dlms: DlmsAdapter;
  readonly mqtt: MqttAdapter;
  /** Every adapter by protocol; each declares what its terminals can do (polled, commands over push). */
  readonly byProtocol: Readonly<Record<ProtocolName, TransportAdapter>>;
  /** The station's side of DLMS push: sender lookup over the registry, learnt lists, dead letters. */
  readonly dlmsPush: StationDlmsPush;
  /** In a shared subscription group: an adapter on another node's session, which never reconnects (src/cluster/sessionAdoption.ts). */
  readonly sessionOf: ((nodeId: string) => MqttAdapter) | undefined;
}

interface Assembly {
  readonly config: GridheadConfig;
  readonly logger: Logger;
  readonly throttle: LogThrottle;
  readonly closers: Closers;
}

/**
 * Starts the simulated fleet on the station's broker and enters it in the registry and the
 * key store; undefined when `simulators.enabled` is off. The fleet publishes only once
 * `startPublishing` is called, after collection started.
 */
export async function startSimulators(
  { config, logger, closers }: Omit<Assembly, 'throttle'>,
  broker: StationBroker,
  { registry, keys, audit }: Pick<StationStorage, 'registry' | 'keys' | 'audit'>,
): Promise<Fleet | undefined> {
  if (!config.simulators.enabled) return undefined;
  const credentials = broker.credentials;
  const fleet = await startFleet(config.simulators, {
    mqttUrl: config.simulators.mqtt.url ?? broker.url,
    topicPrefix: config.mqtt.topicPrefix,
    knownAreaIds: new Set(registry.listAreas().map((a) => a.id)),
    ...(credentials === undefined || config.simulators.mqtt.url !== undefined ? {} : {
      mqttLogin: (id: string) => ({ username: id, password: credentials.simulatorPassword(id) }),
    }),
    onScenario: (e) => {
      const line = scenarioLogLine(e);
      logger[line.level](line.fields, line.message);
    },
  });
  closers.add('simulators', () => fleet.stop());
  await registry.seed(fleet.seed);
  broker.admitSimulated(fleet.seed.terminals.map((t) => t.id));
  for (const [meterId, meterKeys] of fleet.keys) {
    const status = await keys.set({ kind: 'meter', id: meterId }, meterKeys);
    await audit.append({ actor: SYSTEM_ACTOR, source: null, action: 'keys.set', target: `meter:${meterId}`, outcome: 'ok', detail: { keys: Object.keys(meterKeys), generation: status.generation, reason: 'simulated fleet' } });
  }
  logger.info({ terminals: fleet.seed.terminals.length, meters: fleet.seed.meters.length }, 'simulated fleet started');
  return fleet;
}

/** One adapter per protocol, configured from its section; none connects before it is used. */
export function createAdapters(
  { config, logger, throttle, closers }: Assembly,
  broker: StationBroker,
  { registry, security, securityEvents }: Pick<StationStorage, 'registry' | 'security' | 'securityEvents'>,
  dlmsPushStores: DlmsPushStores,
  telemetry: TelemetrySession,
): Adapters {
  const modbus = new ModbusAdapter({
    requestTimeoutMs: config.modbus.requestTimeoutMs,
    reconnectMinMs: config.modbus.reconnectMinMs,
    reconnectMaxMs: config.modbus.reconnectMaxMs,
    registerMaps: config.modbus.registerMaps,
  });
  closers.add('modbus', () => modbus.close());
  // The station's own MQTT clients: one connection (login, TLS) and one set of topic conventions;
  // this node's session and, in sharded mode, its shared subscription group (src/cluster/mqttClients.ts).
  const { commandClientId, ...session } = telemetry;
  const station = { ...broker.connection, ...session, topicPrefix: config.mqtt.topicPrefix, deadLetterTopic: config.mqtt.deadLetterTopic };
  // DLMS pushes (data-notifications over the TCP wrapper and MQTT) come in through the DLMS adapter.
  const dlmsPush = stationDlmsPush(config.dlms.push, dlmsPushStores, registry, {
    mqtt: station,
    security,
    // Recorded like an association's security events (the log rate-limits its own lines).
    onSecurityEvent: (e) => {
      securityEvents.record(e, { ...(e.meterId === undefined ? {} : { meterId: e.meterId }), ...(e.terminalId === undefined ? {} : { terminalId: e.terminalId }) });
    },
    onProblem: (source, code, sender, detail) => {
      const suppressed = throttle.pass(`dlms-push:${source}:${code}:${sender}`);
      if (suppressed >= 0) logger.warn({ source, code, sender, detail, suppressed }, 'DLMS push dropped');
    },
  });
  // Registered before the adapter, so closed after it: the intake's last dead letters are written too.
  closers.add('dlms push dead letters', () => dlmsPush.deadLetters.flush());
  // The sender indexes are built from terminals alone (names, hosts): a meter change leaves them
  // valid, and at a million meters dropping them on each would make the next push list every terminal.
  registry.onChange((c) => { if (c.kind === 'terminal') dlmsPush.senders.invalidate(); });
  const dlms = new DlmsAdapter({
    push: dlmsPush.options,
    catalogue: QUANTITIES, timeoutMs: config.dlms.requestTimeoutMs, maxListItems: config.dlms.maxListItems, maxScalerEntries: config.dlms.maxScalerEntries,
    meterTypes: config.dlms.meterTypes,
    securityFor: (terminalId) => security.securityFor(terminalId),
    passwordFor: (terminalId, address) => security.passwordFor(terminalId, address),
    // A meter that pads its replies is read all the same: counted in /metrics, one line per terminal a minute.
    onTrailingBytes: (e) => {
      const suppressed = throttle.pass(`dlms-trailing:${e.terminalId ?? ''}`);
      if (suppressed >= 0) logger.warn({ terminal: e.terminalId, request: e.what, apdu: e.apduType, bytes: e.count, suppressed }, 'DLMS reply with bytes after its APDU; the bytes are ignored');
    },
  });
  closers.add('dlms', () => dlms.close());
  const telemetryOptions = {
    ...station,
    maxPayloadBytes: config.mqtt.maxPayloadBytes,
    maxReadingsPerMessage: config.mqtt.maxReadingsPerMessage,
    maxInflightMessages: config.mqtt.maxInflightMessages,
    commandTimeoutMs: config.control.commandTimeoutMs,
    acceptQuantity: isQuantity,
    onProblem: (p: MqttProblem) => {
      const suppressed = throttle.pass(`mqtt:${p.terminalId ?? '?'}:${p.code}`);
      if (suppressed >= 0) logger.warn({ terminal: p.terminalId, code: p.code, reason: p.reason, suppressed }, 'MQTT message refused');
    },
  };
  const mqtt = new MqttAdapter({ ...telemetryOptions, ...(commandClientId === undefined ? {} : { commandClientId }) });
  closers.add('mqtt', () => mqtt.close());
  const group = telemetry.shareGroup;
  const sessionOf = group === undefined ? undefined : (nodeId: string) => new MqttAdapter({
    ...telemetryOptions, clientId: memberClientId(config.mqtt.clientId, nodeId), shareGroup: group, reconnectPeriodMs: 0,
  });
  return { modbus, dlms, mqtt, byProtocol: { modbus, dlms, mqtt }, dlmsPush, sessionOf };
}

/** What push receivers need of the cluster: who this node is, the members, the leader lease. */
export type ClusterMembers = Pick<ClusterNode, 'identity' | 'members' | 'leaderLease'>;

/** A dead member's session is drained once quiet this long with nothing awaiting its commit. */
const ADOPTION_QUIET_MS = 1_000;
/** Longest drain of one dead member's session in one round; the rest waits for the next. */
const ADOPTION_MAX_DRAIN_MS = 60_000;

/**
 * Registers the receivers of what terminals push as active-only duties: the collector's push
 * sink subscribed to MQTT telemetry and to DLMS data-notifications (over the TCP wrapper and
 * MQTT). Readings settle once committed, and an adapter acknowledges a device only then. The
 * first start points the simulated fleet's DLMS meters at the push listener.
 *
 * The MQTT telemetry subscription is an active-only duty. In active-standby every node
 * connects with the same client id and a persistent session, one at a time: the broker queues
 * QoS 1 telemetry while no node is active and hands the queue, with what the last active left
 * unacknowledged, to the next (MQTT 3.1.1 §3.1.2.4, §4.4). In sharded mode every node runs it,
 * each with its own session in one shared subscription group (src/cluster/mqttClients.ts).
 * Stopping disconnects without acknowledging what is not committed yet, so nothing is lost,
 * and the idempotent store keeps a redelivery from being stored twice.
 */
export function registerPushReceivers(
  { config, logger, closers, duties }: Omit<Assembly, 'throttle'> & { readonly duties: Duties },
  { mqtt, dlms, sessionOf }: Adapters,
  { pipeline, scheduler, devices }: {
    readonly pipeline: IngestPipeline; readonly scheduler: CollectionScheduler;
    /** The device register, which hears what terminals say of themselves in pushes. */
    readonly devices?: { heard(kind: 'terminal', id: string, nameplate: DeviceNameplate, at: number): void };
  },
  events: EventRecorder,
  broker: StationBroker,
  fleet: Fleet | undefined,
  cluster: ClusterMembers,
): void {
  const parts = {
    offer: pipeline.offer.bind(pipeline), collector: scheduler, events: events.recordEvents.bind(events),
    nameplates: (terminalId: string, nameplate: DeviceNameplate, ts: number) => { devices?.heard('terminal', terminalId, nameplate, ts); },
  };
  // Sharded: the leader drains what a crashed member's telemetry session holds (src/cluster/sessionAdoption.ts).
  if (sessionOf !== undefined) {
    const adoption = new SessionAdoption({
      self: cluster.identity.id, members: () => cluster.members(), isLeader: () => cluster.leaderLease?.isHolder() ?? true,
      sessionOf, sink: collectPushSink('mqtt', 'mqtt', parts),
      intervalMs: cluster.identity.leaseMs, quietMs: ADOPTION_QUIET_MS, maxDrainMs: ADOPTION_MAX_DRAIN_MS, log: logger.child({ component: 'session-adoption' }),
    });
    duties.add('mqtt session adoption', { start: () => { adoption.start(); return Promise.resolve(); }, stop: () => adoption.close() });
    closers.add('mqtt session adoption', () => adoption.close());
  }
  let unsubscribe: (() => Promise<void>) | undefined;
  const stopTelemetry = async (): Promise<void> => {
    const stop = unsubscribe;
    unsubscribe = undefined;
    await stop?.();
  };
  closers.add('mqtt subscription', stopTelemetry);
  duties.add('mqtt telemetry', {
    start: async () => {
      unsubscribe = mqtt.subscribe(collectPushSink('mqtt', 'mqtt', parts));
      await mqtt.whenSubscribed(AbortSignal.timeout(15_000)).catch((err: unknown) => {
        // Not fatal: the client keeps reconnecting; /health reports the broker as down meanwhile.
        logger.error({ err, url: broker.url }, 'MQTT broker not reachable yet; retrying in the background');
      });
    },
    stop: stopTelemetry,
  });
  // Pushed events are stored like every other device event (and reach the rule engine from there).
  // The push intake is active-only too: in active-standby its MQTT client shares the station's client id.
  let unsubscribeDlms: (() => Promise<void>) | undefined;
  let fleetPushing = false;
  const stopDlmsPush = async (): Promise<void> => {
    const stop = unsubscribeDlms;
    unsubscribeDlms = undefined;
    await stop?.();
  };
  closers.add('dlms-push', stopDlmsPush);
  duties.add('dlms push', {
    start: async () => {
      unsubscribeDlms = dlms.subscribe(collectPushSink('dlms', 'dlms-push', parts));
      const { host, port } = config.dlms.push.listen;
      const { tcpPort } = await listening('dlmsPush', host, port, () => dlms.whenSubscribed());
      if (tcpPort !== undefined) logger.info({ host, port: tcpPort }, 'DLMS push listener');
      if (fleet === undefined || fleetPushing) return;
      fleetPushing = true;
      fleet.startPushing({
        ...(tcpPort === undefined ? {} : { tcp: { host, port: tcpPort } }),
        ...(config.dlms.push.mqtt.enabled ? { mqttUrl: broker.url } : {}),
      });
    },
    stop: stopDlmsPush,
  });
}
