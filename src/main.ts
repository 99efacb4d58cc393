/**
 * The composition root: builds every module through its own assembly function, in the
 * order their dependencies need, and owns their shutdown. Nothing else constructs services;
 * the decisions live in the modules.
 */
import type { Fleet } from '../simulators/fleet.js';
import { createAlarms } from './alarms/index.js';
import type { AlarmService } from './alarms/service.js';
import { createApi } from './api/assemble.js';
import { startBroker } from './broker/index.js';
import { createCluster, nodeIdentity, requireClusterBroker } from './cluster/index.js';
import { createClusterFeed } from './cluster/feed/index.js';
import { nodeMqttClients } from './cluster/mqttClients.js';
import { createCollection } from './collect/assemble.js';
import { createReadingPath } from './readingPath.js';
import type { GridheadConfig } from './config/schema.js';
import { createControl } from './control/index.js';
import { createAdapters, registerPushReceivers, startSimulators } from './devices.js';
import { createFeeAccounts, createFeeControl } from './fees/index.js';
import { dlmsPushMetricSources } from './dlmsPush.js';
import type { Meter } from './domain/index.js';
import type { EventRecorder } from './events/recorder.js';
import { createTariffs } from './fees/tariffs/index.js';
import { healthReport, metricSources } from './headEnd.js';
import type { IngestPipeline } from './ingest/pipeline.js';
import { createLive } from './live/index.js';
import { ShutdownOrder } from './observe/closers.js';
import { LogThrottle, type Logger } from './observe/logger.js';
import { createMetrics } from './observe/metrics.js';
import { createOpcua } from './opcua/index.js';
import { openStorage } from './openStorage.js';
import { openStores, storageDriverOf } from './stores.js';
import type { Registry } from './registry/registry.js';
import { createRules } from './rules/index.js';
import { createLoadControl } from './rules/loadControl/index.js';
import { expectedIntervalOf } from './rules/scope.js';
import type { HeadEndSecurity } from './security/headEndSecurity.js';
import { createWorkOrders } from './workOrders/index.js';
import { createFirmware } from './firmware/index.js';
import { createStationWorkflows } from './workflows/index.js';
import { alarmNotifierChannel } from './workflows/actions/index.js';
import { createBillingService } from './billing/index.js';
import { createDeviceRegister } from './deviceRegister/index.js';
import { MeterReader } from './live/meterRead.js';

export interface HeadEnd {
  /** Base URL of the HTTP API. */
  readonly url: string;
  readonly registry: Registry;
  readonly pipeline: IngestPipeline;
  readonly fleet: Fleet | undefined;
  readonly mqttUrl: string;
  /** DLMS security: ClientSecurity per terminal, PushSecurity by system title. */
  readonly security: HeadEndSecurity;
  /** Alarm lifecycle; the rule engine's signals go to `alarms.onSignal`. */
  readonly alarms: AlarmService;
  /** Device events store; `recordEvents` is the ingest for every protocol's events. */
  readonly events: EventRecorder;
  /** The OPC UA endpoint (opc.tcp://…) while this node serves OPC UA (`opcua.enabled`; on the leader only unless `opcua.everyNode`). */
  readonly opcuaEndpoint: string | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
  readonly configFile?: string;
  /** Where GRIDHEAD_MASTER_KEY and GRIDHEAD_BOOTSTRAP_TOKEN are read from; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

export async function startHeadEnd(config: GridheadConfig, { logger, configFile, env = process.env }: StartOptions): Promise<HeadEnd> {
  const shutdown = new ShutdownOrder(logger);
  try {
    return await compose(config, logger, shutdown, env, configFile);
  } catch (err) {
    await shutdown.closeAll();
    throw err;
  }
}

async function compose(config: GridheadConfig, logger: Logger, closers: ShutdownOrder, env: NodeJS.ProcessEnv, configFile: string | undefined): Promise<HeadEnd> {
  const base = { config, logger, closers, throttle: new LogThrottle(60_000) };
  // Before any store opens: a cluster mode on the embedded driver, or without a node id, stops here.
  const identity = nodeIdentity(config.cluster, storageDriverOf(config.storage, env));
  requireClusterBroker(identity, config.mqtt.embeddedBroker.enabled);
  const stores = await openStores(base, env);
  const cluster = await createCluster({ ...base, identity, database: stores.postgres });
  const { duties, leaderDuties } = cluster;
  const storage = await openStorage(base, env, stores);
  const { registry } = storage;
  // Which node polls a terminal, executes its commands and runs its area's rules (src/cluster/placement.ts); `cluster.place` gives the same one to every part.
  const placement = cluster.place(registry);
  // The broker comes first: the fleet connects to it and seeds the registry before anything polls.
  const broker = await startBroker(base);
  const fleet = await startSimulators(base, broker, storage);
  // This node's MQTT sessions: the station's one in active-standby, its own in a shared subscription group when sharded.
  const mqttClients = nodeMqttClients(config.mqtt.clientId, identity, config.cluster.shareGroup);
  const adapters = createAdapters(base, broker, storage, { lists: stores.pushLists, deadLetters: stores.pushDeadLetters }, mqttClients.telemetry);

  const expectedIntervalMs = (m: Pick<Meter, 'terminalId'>): number | undefined => expectedIntervalOf(registry.findTerminal(m.terminalId), config.collect.profiles, config.collect.pushSilenceMs);
  const alarms = await createAlarms({ ...base, stores: { alarms: stores.alarms, deviceEvents: stores.deviceEvents, brokerDropCounters: stores.brokerDropCounters }, topology: registry, broker: broker.connection, leadership: cluster.leaderLease, database: stores.postgres, duties: leaderDuties });
  const rules = await createRules({ ...base, duties, placement, configFile, store: stores.rules, registry, expectedIntervalMs, signal: alarms.signal, openAlarm: (id, s) => alarms.service.openFor(id, s), deviceEvents: alarms });
  const live = createLive({ ...base, registry, readings: storage.readings, analysisQueries: stores.analysisQueries, readBacks: stores.readBacks, alarms: alarms.service });
  const readings = createReadingPath({ ...base, registry, store: storage.readings, onStoreError: stores.noteError, live: live.sinks, rules: rules?.engine });
  rules?.watchReadingPath(() => readings.stallAheadOfRules());
  // With several nodes, what each commits reaches the others' live state (and the owner's rules) over the broker.
  const feed = await createClusterFeed({ ...base, identity, clientId: mqttClients.feedClientId, connection: broker.connection, placement, readings, rules: rules?.engine });
  // Active-only parts (polling, push receivers, rule and load-control ticks) register with `duties` and start at `duties.begin`.
  const collection = createCollection({
    ...base, duties, placement, handoverMs: cluster.handoverMs, stores: { stats: stores.collectionStats, cursors: stores.profileCursors }, registry, adapters: adapters.byProtocol,
    offer: (b, p, m) => readings.pipeline.offer(b, p, m),
  });
  const billing = createBillingService({ billing: stores.billing, replacements: stores.replacements }, config.billing, config.station.utcOffsetMinutes, (id) => registry.areaSubtree(id));
  const deviceRegister = createDeviceRegister({ ...base, duties, store: stores.deviceRegister, registry, lanes: collection.scheduler, placement, replacementsOf: (id) => billing.replacementsOf(id) });
  registerPushReceivers({ ...base, duties }, adapters, { pipeline: readings.pipeline, scheduler: collection.scheduler, devices: deviceRegister }, alarms.events, broker, fleet, cluster);

  const control = createControl({ ...base, duties, stores: { commands: stores.commands, actions: stores.controlActions }, registry, audit: storage.audit, lanes: collection.scheduler, adapters: adapters.byProtocol, placement });
  const opcua = await createOpcua({
    ...base, duties: leaderDuties, topology: registry, live: live.values, alarms: alarms.service, commands: control.commands, auth: storage.auth,
    terminalOnline: (id) => collection.scheduler.terminalState(id)?.online,
    readings, terminals: collection, control,
  });
  const loadControl = await createLoadControl({ ...base, duties: leaderDuties, store: stores.programStates, replacements: stores.replacements, registry, live: live.values, port: control.commands, actions: control.actions, signal: alarms.signal, leadership: cluster.leaderLease });
  const tariffs = createTariffs(config.fees);
  const fees = await createFeeAccounts({ ...base, store: stores.fees, audit: storage.audit, registry, tariffExists: (id) => tariffs.has(id), tariffCycleOnly: (id) => tariffs.get(id)?.cycleOnly === true });
  const feeControl = createFeeControl({
    ...base, duties: leaderDuties, store: stores.fees, audit: storage.audit, billing: { billing: stores.billing, replacements: stores.replacements }, registry, tariffs, port: control.commands, broker: broker.connection,
    paymentMetering: control.paymentMetering, alarms: { signal: alarms.signal, openFor: (id, s) => alarms.service.openFor(id, s) },
  });

  const workOrders = createWorkOrders({ ...base, store: stores.workOrders, audit: storage.audit });
  // The API's URL is known once it listens; MQTT terminals are offered downloads from it.
  const listening: { url?: string } = {};
  const firmware = createFirmware({
    ...base, duties: leaderDuties, store: stores.firmware, audit: storage.audit, registry, lanes: collection.scheduler, adapters: adapters.byProtocol,
    broker: broker.connection, identity, apiUrl: () => listening.url, register: deviceRegister,
  });
  const meterReader = new MeterReader({ meter: (id) => registry.findMeter(id), terminal: (id) => registry.findTerminal(id), scheduler: collection.scheduler, plausibility: config.ingest.plausibility });
  const workflows = await createStationWorkflows({
    ...base, duties: leaderDuties, stores: { definitions: stores.workflowDefinitions, instances: stores.workflowInstances }, audit: storage.audit, registry, workOrders,
    alarms: alarms.service, feeControl,
    services: {
      meterReader, control: control.commands, notices: alarmNotifierChannel(alarms.notifiers, config.alarms.mqtt.topicPrefix),
      fees: fees === undefined || feeControl === undefined ? undefined : { accounts: fees, control: feeControl },
      workOrders, billing, alarms: alarms.service,
    },
  });

  // Every part is registered: this node starts them if it is active (and the singleton duties if it leads), before the API takes requests.
  await duties.begin(closers);
  await leaderDuties.begin(closers);

  const parts = { ...collection, ...readings, mqtt: adapters.mqtt, mqttUrl: broker.url, dlms: adapters.dlms, brokerDrops: alarms.brokerDrops, database: stores, cluster, opcua };
  const metrics = createMetrics([
    ...metricSources(parts), ...storage.securityEvents.metricSources(), ...dlmsPushMetricSources(adapters.dlms, adapters.dlmsPush.deadLetters), ...alarms.metricSources(), ...(feed?.metricSources() ?? []),
    ...storage.auth.metricSources(), ...(alarms.brokerDrops?.metricSources() ?? []), ...stores.metricSources(), ...firmware.metricSources(),
  ]);
  const { url } = await createApi({
    ...base, registry, readings: storage.readings, billing, meterReader, feeReports: stores.feeReports, audit: storage.audit, auth: storage.auth, security: { keys: storage.keys, events: storage.securityEvents },
    collection, live, alarms, rules: rules?.service, control, loadControl, tariffs, fees, feeControl, workOrders, deviceRegister, firmware: firmware.service,
    ...(firmware.otaDownloads === undefined ? {} : { firmwareOta: { downloads: firmware.otaDownloads } }),
    ...(workflows === undefined ? {} : {
      workflows: workflows.runtime,
      workflowDefinitions: { definitions: workflows.definitions, maxBytes: config.workflows.definitions.maxBytes, ...workflows.catalogue },
    }),
    dlmsPush: { deadLetters: adapters.dlmsPush.deadLetters }, expectedIntervalMs, health: () => healthReport(parts), metrics,
  });
  listening.url = url;
  await cluster.advertise(url);
  if (fleet !== undefined) await fleet.startPublishing();

  return {
    url, registry, pipeline: readings.pipeline, fleet, mqttUrl: broker.url, security: storage.security,
    alarms: alarms.service, events: alarms.events, get opcuaEndpoint() { return opcua?.endpointUrl(); }, close: () => closers.closeAll(),
  };
}
