/**
 * The field side of the station: the simulated fleet, when enabled, the protocol adapters,
 * and the receivers of what terminals push. This is the one place outside `protocols/` that
 * knows which protocols exist; collect and control meet the adapters through
 * `protocols/adapter.ts` only.
 */
import type { ProtocolName, RawDeviceEvent, TransportAdapter } from '../protocols/adapter.js';
import { DlmsAdapter } from '../protocols/dlms/adapter.js';
import { ModbusAdapter } from '../protocols/modbus/adapter.js';
import { MqttAdapter } from '../protocols/mqtt/adapter.js';
import { startFleet, type Fleet } from '../simulators/fleet.js';
import { scenarioLogLine } from '../simulators/scenarios/runner.js';
import type { StationBroker } from './broker/index.js';
import type { CollectionScheduler } from './collect/index.js';
import { startDlmsPushService, type DlmsPushService } from './collect/dlmsPushService.js';
import { SYSTEM_ACTOR } from './control/audit.js';
import type { GridheadConfig } from './config/schema.js';
import { listening } from './config/ports.js';
import { QUANTITIES, isQuantity } from './domain/index.js';
import type { EventRecorder } from './events/recorder.js';
import type { IngestPipeline } from './ingest/pipeline.js';
import type { Closers } from './observe/closers.js';
import type { LogThrottle, Logger } from './observe/logger.js';
import type { StationStorage } from './openStorage.js';

export interface Adapters {
  readonly modbus: ModbusAdapter;
  readonly dlms: DlmsAdapter;
  readonly mqtt: MqttAdapter;
  /** Every adapter by protocol; each declares what its terminals can do (polled, commands over push). */
  readonly byProtocol: Readonly<Record<ProtocolName, TransportAdapter>>;
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
  registry.seed(fleet.seed);
  broker.admitSimulated(fleet.seed.terminals.map((t) => t.id));
  for (const [meterId, meterKeys] of fleet.keys) {
    const status = keys.set({ kind: 'meter', id: meterId }, meterKeys);
    audit.append({ actor: SYSTEM_ACTOR, source: null, action: 'keys.set', target: `meter:${meterId}`, outcome: 'ok', detail: { keys: Object.keys(meterKeys), generation: status.generation, reason: 'simulated fleet' } });
  }
  logger.info({ terminals: fleet.seed.terminals.length, meters: fleet.seed.meters.length }, 'simulated fleet started');
  return fleet;
}

/** One adapter per protocol, configured from its section; none connects before it is used. */
export function createAdapters({ config, logger, throttle, closers }: Assembly, broker: StationBroker, { security }: Pick<StationStorage, 'security'>): Adapters {
  const modbus = new ModbusAdapter({
    requestTimeoutMs: config.modbus.requestTimeoutMs,
    reconnectMinMs: config.modbus.reconnectMinMs,
    reconnectMaxMs: config.modbus.reconnectMaxMs,
    registerMaps: config.modbus.registerMaps,
  });
  closers.add('modbus', () => modbus.close());
  const dlms = new DlmsAdapter({
    catalogue: QUANTITIES, timeoutMs: config.dlms.requestTimeoutMs, maxListItems: config.dlms.maxListItems,
    securityFor: (terminalId) => security.securityFor(terminalId),
    passwordFor: (terminalId, address) => security.passwordFor(terminalId, address),
    // A meter that pads its replies is read all the same: counted in /metrics, one line per terminal a minute.
    onTrailingBytes: (e) => {
      const suppressed = throttle.pass(`dlms-trailing:${e.terminalId ?? ''}`);
      if (suppressed >= 0) logger.warn({ terminal: e.terminalId, request: e.what, apdu: e.apduType, bytes: e.count, suppressed }, 'DLMS reply with bytes after its APDU; the bytes are ignored');
    },
  });
  closers.add('dlms', () => dlms.close());
  const mqtt = new MqttAdapter({
    ...broker.connection,
    clientId: config.mqtt.clientId,
    topicPrefix: config.mqtt.topicPrefix,
    deadLetterTopic: config.mqtt.deadLetterTopic,
    maxPayloadBytes: config.mqtt.maxPayloadBytes,
    maxReadingsPerMessage: config.mqtt.maxReadingsPerMessage,
    maxInflightMessages: config.mqtt.maxInflightMessages,
    commandTimeoutMs: config.control.commandTimeoutMs,
    acceptQuantity: isQuantity,
    onProblem: (p) => {
      const suppressed = throttle.pass(`mqtt:${p.terminalId ?? '?'}:${p.code}`);
      if (suppressed >= 0) logger.warn({ terminal: p.terminalId, code: p.code, reason: p.reason, suppressed }, 'MQTT message refused');
    },
  });
  closers.add('mqtt', () => mqtt.close());
  return { modbus, dlms, mqtt, byProtocol: { modbus, dlms, mqtt } };
}

export interface PushReceivers {
  readonly dlmsPush: DlmsPushService;
}

/**
 * Subscribes to what terminals push, MQTT telemetry and DLMS data-notifications (over the
 * TCP wrapper and MQTT), into the pipeline, and points the simulated fleet's DLMS meters at
 * the push listener.
 */
export async function startPushReceivers(
  { config, logger, throttle, closers }: Assembly,
  { mqtt, dlms }: Adapters,
  { pipeline, scheduler }: { readonly pipeline: IngestPipeline; readonly scheduler: CollectionScheduler },
  { db, registry, security, securityEvents }: Pick<StationStorage, 'db' | 'registry' | 'security' | 'securityEvents'>,
  events: EventRecorder,
  broker: StationBroker,
  fleet: Fleet | undefined,
): Promise<PushReceivers> {
  const unsubscribe = mqtt.subscribe({
    // Settles once committed: the adapter acknowledges only then, and dead-letters what was refused.
    readings: async (batch) => {
      const offer = await pipeline.offer(batch, 'mqtt', 'push');
      const perTerminal = new Map<string, number>();
      for (const r of batch) perTerminal.set(r.terminalId, (perTerminal.get(r.terminalId) ?? 0) + 1);
      for (const [t, n] of perTerminal) scheduler.notePush(t, n);
      await offer.committed;
      return { refused: offer.rejections.map((r) => ({ code: r.reason, reason: r.detail })) };
    },
    status: (terminal, online, ts) => {
      scheduler.noteStatus(terminal, online, ts);
    },
    events: (batch) => { events.recordEvents(batch, 'mqtt'); },
  });
  closers.add('mqtt subscription', () => unsubscribe());
  await mqtt.whenSubscribed(AbortSignal.timeout(15_000)).catch((err: unknown) => {
    // Not fatal: the client keeps reconnecting; /health reports the broker as down meanwhile.
    logger.error({ err, url: broker.url }, 'MQTT broker not reachable yet; retrying in the background');
  });

  // DLMS pushes: data-notifications over the TCP wrapper and MQTT into the pipeline.
  // Pushed events are stored like every other device event (and reach the rule engine from there).
  const deviceEventHook = (batch: readonly RawDeviceEvent[]) => { events.recordEvents(batch, 'dlms-push'); };
  const dlmsPush = await listening('dlmsPush', config.dlms.push.listen.host, config.dlms.push.listen.port, () => startDlmsPushService({
    config: config.dlms.push,
    directory: registry,
    catalogue: QUANTITIES,
    adapter: dlms,
    lanes: scheduler,
    requestTimeoutMs: config.dlms.requestTimeoutMs,
    db,
    mqtt: {
      ...broker.connection, clientId: config.mqtt.clientId, topicPrefix: config.mqtt.topicPrefix, deadLetterTopic: config.mqtt.deadLetterTopic,
    },
    security,
    readings: async (batch) => {
      await pipeline.offer(batch, 'dlms', 'push');
      const perTerminal = new Map<string, number>();
      for (const r of batch) perTerminal.set(r.terminalId, (perTerminal.get(r.terminalId) ?? 0) + 1);
      for (const [t, n] of perTerminal) scheduler.notePush(t, n);
    },
    events: deviceEventHook,
    // Recorded like an association's security events (the log rate-limits its own lines).
    onSecurityEvent: (e) => {
      securityEvents.record(e, { ...(e.meterId === undefined ? {} : { meterId: e.meterId }), ...(e.terminalId === undefined ? {} : { terminalId: e.terminalId }) });
    },
    onProblem: (source, code, sender, detail) => {
      const suppressed = throttle.pass(`dlms-push:${source}:${code}:${sender}`);
      if (suppressed >= 0) logger.warn({ source, code, sender, detail, suppressed }, 'DLMS push dropped');
    },
  }));
  closers.add('dlms-push', () => dlmsPush.close());
  registry.onChange(() => { dlmsPush.receiver.invalidate(); });
  if (dlmsPush.tcpPort !== undefined) logger.info({ host: config.dlms.push.listen.host, port: dlmsPush.tcpPort }, 'DLMS push listener');
  fleet?.startPushing({
    ...(dlmsPush.tcpPort === undefined ? {} : { tcp: { host: config.dlms.push.listen.host, port: dlmsPush.tcpPort } }),
    ...(config.dlms.push.mqtt.enabled ? { mqttUrl: broker.url } : {}),
  });
  return { dlmsPush };
}
