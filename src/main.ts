/**
 * The composition root: builds every module from the configuration, wires them together,
 * and owns their shutdown. Nothing else constructs services.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DlmsAdapter } from '../protocols/dlms/adapter.js';
import { ModbusAdapter } from '../protocols/modbus/adapter.js';
import { MqttAdapter } from '../protocols/mqtt/adapter.js';
import type { MqttConnection } from '../protocols/mqtt/connection.js';
import { startFleet, type Fleet } from '../simulators/fleet.js';
import { scenarioLogLine } from '../simulators/scenarios/runner.js';
import { AlarmFeed } from './alarms/feed.js';
import { alarmMetricSources } from './alarms/metrics.js';
import { startAlarmNotifiers } from './alarms/notify/index.js';
import { AlarmService } from './alarms/service.js';
import { buildApi } from './api/server.js';
import type { HealthReport } from './observe/health.js';
import { EventRecorder } from './events/recorder.js';
import { loadBrokerCredentials, type BrokerCredentials } from './broker/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import { BrokerDropMonitor } from './broker/dropMonitor.js';
import { CollectionScheduler, CollectionStats, SqliteCollectionStatsStore, SqliteProfileCursors } from './collect/index.js';
import { collectPushSink } from './collect/pushSink.js';
import { dlmsPushMetricSources, stationDlmsPush } from './dlmsPush.js';
import type { GridheadConfig } from './config/schema.js';
import { ControlActionStore } from './control/actions.js';
import { CommandService } from './control/commands.js';
import { commandRoute } from './control/route.js';
import { CommandStore } from './control/commandStore.js';
import { MeterReader } from './collect/meterRead.js';
import { QUANTITIES, isQuantity, type AlarmSignal, type DeviceEvent, type Meter, type MeterId } from './domain/index.js';
import { IngestPipeline, type ReadingSink } from './ingest/pipeline.js';
import { LatestValues, withStored } from './live/latest.js';
import { LogThrottle, type Logger } from './observe/logger.js';
import { healthReport, metricSources } from './headEnd.js';
import { createMetrics } from './observe/metrics.js';
import { Registry } from './registry/registry.js';
import { ConfigError } from './config/load.js';
import { listening } from './config/ports.js';
import { RuleEngine } from './rules/engine.js';
import { RuleValidationError } from './rules/model.js';
import { loadRuleSet } from './rules/ruleSet.js';
import { expectedIntervalOf } from './rules/scope.js';
import { missedIntervalsOf } from './rules/freshness.js';
import { RuleService } from './rules/service.js';
import { LoadControlEvaluator } from './rules/loadControl/evaluator.js';
import { SqliteProgramStateStore } from './rules/loadControl/stateStore.js';
import { openDatabase } from './storage/db.js';
import { makeDataDirPrivate } from './storage/privateFiles.js';
import { InfluxSink } from './storage/influx/sink.js';
import { ReadingStore } from './storage/readingStore.js';
import { AuditLog, SYSTEM_ACTOR } from './control/audit.js';
import { CounterStore } from './security/counterStore.js';
import { moveEndpointPasswords } from './security/endpointPasswords.js';
import { HeadEndSecurity, parseSystemTitle } from './security/headEndSecurity.js';
import { KeyStore } from './security/keyStore.js';
import { loadMasterKey } from './security/masterKey.js';
import { SecurityEventLog } from './security/securityEvents.js';
import { bootstrapAdmin } from './auth/bootstrap.js';
import { AuthService } from './auth/service.js';
import { liveOverview } from './live/overview.js';
import { OpenAlarmIndex } from './live/openAlarms.js';
import { MeterReadingFeed } from './live/readingFeed.js';
import { ControlReadBacks, meterState } from './live/meterState.js';
import { AnalysisQueries } from './storage/analysisQueries.js';
import { AreaAnalysis } from './storage/areaAnalysis.js';
import { startOpcUaServer, type OpcUaServer } from './opcua/server.js';
import { createBillingService } from './billing/index.js';

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
  /** The OPC UA endpoint (opc.tcp://…) when `opcua.enabled`. */
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
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  const close = async () => {
    for (const c of closers.reverse().splice(0)) {
      try {
        await c.close();
      } catch (err) {
        logger.error({ err, component: c.name }, 'error while shutting down');
      }
    }
  };
  try {
    return await compose(config, logger, closers, close, env, configFile);
  } catch (err) {
    await close();
    throw err;
  }
}

async function compose(
  config: GridheadConfig,
  logger: Logger,
  closers: { name: string; close: () => Promise<void> | void }[],
  close: () => Promise<void>,
  env: NodeJS.ProcessEnv,
  configFile?: string,
): Promise<HeadEnd> {
  const throttle = new LogThrottle(60_000);
  // Secrets live in the data directory: owner-only, tightened once if an older start left it open.
  const tightened = makeDataDirPrivate(config.dataDir);
  if (tightened.length > 0) logger.warn({ dataDir: config.dataDir, count: tightened.length, paths: tightened.slice(0, 5) }, 'data directory was open to other users: tightened to 0700 (folders) and 0600 (files)');
  const db = openDatabase(join(config.dataDir, 'gridhead.db'), { durability: config.storage.durability });
  closers.push({ name: 'store', close: () => { db.close(); } });

  const registry = new Registry(db, {
    registerMapExists: (n) => Object.hasOwn(config.modbus.registerMaps, n),
    profileExists: (n) => Object.hasOwn(config.collect.profiles, n),
  });
  registry.seed(config.registry);

  // DLMS keys sealed under the master key; a wrong master key stops the start here.
  const masterKey = loadMasterKey({
    env, dataDir: config.dataDir, simulatorsEnabled: config.simulators.enabled,
    warn: (message, file) => { logger.warn({ file }, message); },
  });
  const counters = new CounterStore(db);
  closers.push({ name: 'security counters', close: () => { counters.flush(); } });
  const keyStore = new KeyStore(db, masterKey, { onChange: (c) => { counters.discard(c.scope, c.generation); } });
  const audit = new AuditLog(db);
  moveEndpointPasswords({ registry, keys: keyStore, audit, warn: (fields, message) => { logger.warn(fields, message); } });
  // Access control: no default password; at first start the first admin token comes from
  // GRIDHEAD_BOOTSTRAP_TOKEN or is generated, logged once and written to <dataDir>/bootstrap-token.
  const auth = new AuthService(db, config.auth);
  const bootstrap = bootstrapAdmin({ auth, env, dataDir: config.dataDir, warn: (fields, message) => { logger.warn(fields, message); } });
  if (bootstrap.kind !== 'admin-exists') {
    audit.append({ actor: SYSTEM_ACTOR, source: null, action: 'token.create', target: `token:${bootstrap.token.id}`, outcome: 'ok', detail: { name: bootstrap.token.name, role: 'admin', reason: `bootstrap ${bootstrap.kind}` } });
  }
  const securityEvents = new SecurityEventLog(db, { logger: logger.child({ component: 'dlms-security' }) });
  const security = new HeadEndSecurity({
    topology: registry, keys: keyStore, counters, events: securityEvents, systemTitle: parseSystemTitle(config.dlms.systemTitle),
  });
  registry.onChange(() => { security.invalidate(); });

  let broker: EmbeddedBroker | undefined;
  let brokerCredentials: BrokerCredentials | undefined;
  /** Terminal ids of the simulated fleet, known once it started; they log in with derived passwords. */
  const simulatedTerminals = new Set<string>();
  if (config.mqtt.embeddedBroker.enabled) {
    brokerCredentials = loadBrokerCredentials(config.dataDir);
    broker = await startEmbeddedBroker({
      ...config.mqtt.embeddedBroker,
      credentials: brokerCredentials,
      access: { topicPrefix: config.mqtt.topicPrefix, stationClientId: config.mqtt.clientId },
      isSimulated: (id) => simulatedTerminals.has(id),
      logger: logger.child({ component: 'broker' }),
    });
    closers.push({ name: 'broker', close: () => broker?.close() });
    logger.info({ url: broker.url, credentials: brokerCredentials.file }, 'embedded MQTT broker listening');
  }
  // With the embedded broker the head-end uses the broker it started (its port may be 0 = any) and its credentials.
  const mqttUrl = broker?.url ?? config.mqtt.url;
  /** How every station client reaches the broker: one URL, login and TLS for all of them. */
  const tlsFiles = config.mqtt.tls;
  const station: MqttConnection = {
    url: mqttUrl,
    ...(broker?.station ?? {
      ...(config.mqtt.username === undefined ? {} : { username: config.mqtt.username }),
      ...(config.mqtt.password === undefined ? {} : { password: config.mqtt.password }),
    }),
    ...(tlsFiles === undefined ? {} : { tls: {
      rejectUnauthorized: tlsFiles.rejectUnauthorized,
      ...(tlsFiles.caFile === undefined ? {} : { ca: readFileSync(tlsFiles.caFile) }),
      ...(tlsFiles.certFile === undefined ? {} : { cert: readFileSync(tlsFiles.certFile) }),
      ...(tlsFiles.keyFile === undefined ? {} : { key: readFileSync(tlsFiles.keyFile) }),
    } }),
  };

  let fleet: Fleet | undefined;
  if (config.simulators.enabled) {
    fleet = await startFleet(config.simulators, {
      mqttUrl: config.simulators.mqtt.url ?? mqttUrl,
      topicPrefix: config.mqtt.topicPrefix,
      knownAreaIds: new Set(registry.listAreas().map((a) => a.id)),
      ...(brokerCredentials === undefined || config.simulators.mqtt.url !== undefined ? {} : {
        mqttLogin: (id: string) => ({ username: id, password: brokerCredentials.simulatorPassword(id) }),
      }),
      onScenario: (e) => {
        const line = scenarioLogLine(e);
        logger[line.level](line.fields, line.message);
      },
    });
    closers.push({ name: 'simulators', close: () => fleet?.stop() });
    registry.seed(fleet.seed);
    for (const t of fleet.seed.terminals) simulatedTerminals.add(t.id);
    for (const [meterId, keys] of fleet.keys) {
      const status = keyStore.set({ kind: 'meter', id: meterId }, keys);
      audit.append({ actor: SYSTEM_ACTOR, source: null, action: 'keys.set', target: `meter:${meterId}`, outcome: 'ok', detail: { keys: Object.keys(keys), generation: status.generation, reason: 'simulated fleet' } });
    }
    logger.info({ terminals: fleet.seed.terminals.length, meters: fleet.seed.meters.length }, 'simulated fleet started');
  }

  const store = new ReadingStore(db, (id: MeterId) => registry.meterKey(id));
  const live = new LatestValues();
  const expectedIntervalMs = (m: Meter): number | undefined => expectedIntervalOf(registry.findTerminal(m.terminalId), config.collect.profiles, config.collect.pushSilenceMs);
  const sinks: ReadingSink[] = [{ name: 'store', write: (b) => void store.write(b) }, live];
  // The live stream's per-meter feed: its listener failures are counted and logged, never the pipeline's.
  const liveFeed = new MeterReadingFeed((err) => { if (throttle.pass('live-feed') >= 0) logger.warn({ err }, 'live stream listener failed'); });
  sinks.push(liveFeed);
  // OPC UA: started once the command service exists; readings reach it from then on.
  let opcua: OpcUaServer | undefined;
  if (config.opcua.enabled) sinks.push({ name: 'opcua', write: (b) => { opcua?.write(b); } });

  // Rules: the engine judges readings after the store; its signals go to the alarm
  // service, built further down (no reading flows before the collector starts).
  const signalTargets: ((s: AlarmSignal) => void)[] = [];
  const onSignal = (s: AlarmSignal): void => {
    logger.info({ rule: s.ruleId, detector: s.detector, subject: s.subject, kind: s.kind, severity: s.severity, at: s.at }, `alarm ${s.kind}: ${s.explanation}`);
    for (const target of signalTargets) target(s);
  };
  let ruleService: RuleService | undefined;
  let ruleEngine: RuleEngine | undefined;
  if (config.rules.enabled) {
    const engine = new RuleEngine({
      topology: {
        meter: (id) => registry.findMeter(id),
        meters: () => registry.listMeters(),
        areas: () => registry.listAreas(),
        expectedIntervalMs,
      },
      onSignal,
      onDetectorError: (rule, err, suppressed) => { logger.error({ rule, err, suppressed }, 'rule evaluation failed'); },
      continueAfterMs: 5,
    });
    const areaExists = (id: string) => registry.hasArea(id);
    ruleService = new RuleService({ db, engine, refs: { meterExists: (id) => registry.findMeter(id) !== undefined, areaExists } });
    const { loaded, invalid } = ruleService.load();
    for (const bad of invalid) logger.error({ rule: bad.id, err: bad.error.message }, 'stored rule no longer valid; not run');
    if (config.rules.file !== undefined) {
      const file = resolve(configFile === undefined ? '.' : dirname(configFile), config.rules.file);
      try {
        const { added, kept } = ruleService.seed(loadRuleSet(file));
        logger.info({ file, stored: loaded, added: added.length, kept: kept.length }, 'rule set loaded');
      } catch (err) {
        if (err instanceof RuleValidationError) throw new ConfigError(file, err.issues);
        throw err;
      }
    }
    registry.onChange((c) => { engine.topologyChanged(c); });
    const tick = setInterval(() => { engine.tick(); }, 1000);
    tick.unref();
    closers.push({ name: 'rules', close: () => { clearInterval(tick); engine.close(); } });
    sinks.push(engine);
    ruleEngine = engine;
  }
  let influx: InfluxSink | undefined;
  if (config.influx.enabled) {
    influx = new InfluxSink({
      ...config.influx,
      dataDir: config.dataDir,
      tagsFor: (id) => {
        const area = registry.findMeter(id)?.areaId;
        return area === null || area === undefined ? undefined : { area };
      },
      logger: logger.child({ component: 'influx' }),
    });
    influx.start();
    sinks.push({ name: 'influx', write: (b) => influx?.write(b) });
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
  if (influxSink !== undefined) closers.push({ name: 'influx', close: () => influxSink.close() });
  closers.push({ name: 'pipeline', close: () => pipeline.close() });

  const statsStore = new SqliteCollectionStatsStore(db);
  const stats = new CollectionStats({
    store: statsStore,
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    onError: (err) => { logger.error({ err }, 'collection statistics flush failed; kept in memory'); },
  });

  const modbus = new ModbusAdapter({
    requestTimeoutMs: config.modbus.requestTimeoutMs,
    reconnectMinMs: config.modbus.reconnectMinMs,
    reconnectMaxMs: config.modbus.reconnectMaxMs,
    registerMaps: config.modbus.registerMaps,
  });
  closers.push({ name: 'modbus', close: () => modbus.close() });
  // DLMS pushes (data-notifications over the TCP wrapper and MQTT) come in through the DLMS adapter.
  const dlmsPush = stationDlmsPush(config.dlms.push, db, registry, {
    mqtt: { ...station, clientId: config.mqtt.clientId, topicPrefix: config.mqtt.topicPrefix, deadLetterTopic: config.mqtt.deadLetterTopic },
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
  registry.onChange(() => { dlmsPush.senders.invalidate(); });
  const dlms = new DlmsAdapter({
    push: dlmsPush.options,
    catalogue: QUANTITIES, timeoutMs: config.dlms.requestTimeoutMs, maxListItems: config.dlms.maxListItems,
    securityFor: (terminalId) => security.securityFor(terminalId),
    passwordFor: (terminalId, address) => security.passwordFor(terminalId, address),
    // A meter that pads its replies is read all the same: counted in /metrics, one line per terminal a minute.
    onTrailingBytes: (e) => {
      const suppressed = throttle.pass(`dlms-trailing:${e.terminalId ?? ''}`);
      if (suppressed >= 0) logger.warn({ terminal: e.terminalId, request: e.what, apdu: e.apduType, bytes: e.count, suppressed }, 'DLMS reply with bytes after its APDU; the bytes are ignored');
    },
  });
  closers.push({ name: 'dlms', close: () => dlms.close() });

  const scheduler = new CollectionScheduler({
    config: config.collect,
    topology: {
      terminals: () => registry.listTerminals(),
      terminal: (id) => registry.findTerminal(id),
      metersOf: (id) => registry.metersOfTerminal(id),
    },
    adapters: { modbus, dlms },
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
      opcua?.terminalChanged(c.terminalId, c.online, c.ts);
    },
    onError: (err) => {
      if (throttle.pass(`collect:${err.name}`) >= 0) logger.warn({ err }, 'collection fault');
    },
  });
  registry.onChange((c) => {
    // Meters are read afresh every cycle; only a terminal change reshapes the schedule.
    if (c.kind === 'terminal') void scheduler.refresh(c.id);
    if (c.kind === 'meter' && c.op === 'delete') live.forget(c.id);
  });

  // ── alarms and device events ──
  const alarms = new AlarmService(db, {
    areaSubtree: (id) => registry.areaSubtree(id),
    maxOpenPerRule: config.alarms.maxOpenPerRule,
    onProblem: (p) => {
      const suppressed = throttle.pass(`alarm:${p.code}:${p.ruleId ?? ''}`);
      if (suppressed >= 0) logger.warn({ code: p.code, rule: p.ruleId, reason: p.message, suppressed }, 'alarm service problem');
    },
  });
  const alarmFeed = new AlarmFeed(1_000);
  const alarmStreams = { streams: 0, slowClientsDropped: 0 };
  const notifiers = startAlarmNotifiers(config.alarms, { ...station, clientId: `${config.mqtt.clientId}-alarms` }, logger.child({ component: 'alarms' }));
  closers.push({ name: 'alarm notifiers', close: () => notifiers.close() });
  // Separate listeners: a failing SSE subscriber must not keep a change from the notifiers.
  alarms.onChange((c) => { alarmFeed.publish(c); });
  alarms.onChange((c) => { notifiers.notify(c); });
  signalTargets.push((s) => { alarms.onSignal(s); });
  // Messages the broker drops after acknowledging them are lost readings: watched through its $SYS counter.
  let brokerDrops: BrokerDropMonitor | undefined;
  if (config.mqtt.brokerDrops.enabled) {
    const monitor = new BrokerDropMonitor({
      ...station, clientId: `${config.mqtt.clientId.slice(0, 19)}-sys`,
      clearAfterMs: config.mqtt.brokerDrops.clearAfterMs, counterWaitMs: config.mqtt.brokerDrops.counterWaitMs,
      db, alarms: { onSignal, openFor: (rule, subject) => alarms.openFor(rule, subject) }, logger: logger.child({ component: 'broker-drops' }),
    });
    monitor.start();
    closers.push({ name: 'broker drop monitor', close: () => monitor.close() });
    brokerDrops = monitor;
  }
  /** Who hears every stored device event: the rule engine's device-event rules. */
  const deviceEventListeners: ((e: DeviceEvent) => void)[] = [];
  const engineForEvents = ruleEngine;
  if (engineForEvents !== undefined) deviceEventListeners.push((e) => { engineForEvents.onDeviceEvent(e); });
  const events = new EventRecorder(db, {
    meterAt: (t, a) => registry.meterAt(t, a),
    retentionDays: config.events.retentionDays,
    maxRows: config.events.maxRows,
    onEvent: (e) => { for (const listener of deviceEventListeners) listener(e); },
    onProblem: (p) => {
      const suppressed = throttle.pass(`event:${p.code}:${p.terminalId ?? ''}`);
      if (suppressed >= 0) logger.warn({ code: p.code, terminal: p.terminalId, reason: p.message, suppressed }, 'device event problem');
    },
  });
  events.startRetention();
  closers.push({ name: 'events', close: () => { events.close(); } });

  const mqtt = new MqttAdapter({
    ...station,
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
  // One push sink for every push adapter: readings settle once committed (an adapter acknowledges only then).
  const pushParts = { offer: pipeline.offer.bind(pipeline), collector: scheduler, events: events.recordEvents.bind(events) };
  const unsubscribe = mqtt.subscribe(collectPushSink('mqtt', 'mqtt', pushParts));
  closers.push({ name: 'mqtt', close: async () => { await unsubscribe(); await mqtt.close(); } });
  await mqtt.whenSubscribed(AbortSignal.timeout(15_000)).catch((err: unknown) => {
    // Not fatal: the client keeps reconnecting; /health reports the broker as down meanwhile.
    logger.error({ err, url: mqttUrl }, 'MQTT broker not reachable yet; retrying in the background');
  });

  // DLMS pushes: data-notifications over the TCP wrapper and MQTT, through the same sink.
  // Pushed events are stored like every other device event (and reach the rule engine from there).
  const unsubscribeDlms = dlms.subscribe(collectPushSink('dlms', 'dlms-push', pushParts));
  closers.push({ name: 'dlms-push', close: () => unsubscribeDlms() });
  const { tcpPort } = await listening('dlmsPush', config.dlms.push.listen.host, config.dlms.push.listen.port, () => dlms.whenSubscribed());
  if (tcpPort !== undefined) logger.info({ host: config.dlms.push.listen.host, port: tcpPort }, 'DLMS push listener');
  fleet?.startPushing({
    ...(tcpPort === undefined ? {} : { tcp: { host: config.dlms.push.listen.host, port: tcpPort } }),
    ...(config.dlms.push.mqtt.enabled ? { mqttUrl } : {}),
  });

  scheduler.start();
  closers.push({ name: 'collect', close: () => scheduler.stop() });
  if (fleet !== undefined) await fleet.startPublishing();

  // Load control: programs tick from live values and act through the control port, whose
  // commands queue in the collector's terminal lanes; every request is in the action log.
  const controlActions = new ControlActionStore(db);
  const interrupted = controlActions.closeInterrupted(Date.now());
  if (interrupted > 0) logger.warn({ interrupted }, 'control requests the previous run left unanswered are marked failed (INTERRUPTED)');
  // One command service for operators and programs, durable; it is the load-control programs' port too.
  const commandService = new CommandService({
    store: new CommandStore(db),
    audit,
    meters: {
      meter: (id) => registry.findMeter(id),
      metersOfArea: (a) => (registry.hasArea(a) ? registry.listMeters({ areaId: a }) : undefined),
    },
    run: commandRoute({
      lanes: scheduler,
      protocolOf: (id) => registry.findTerminal(id)?.protocol,
      pushChannels: { mqtt },
      onState: (terminalId, command, state) => {
        const meter = registry.meterAt(terminalId, command.address);
        if (meter !== undefined) opcua?.controlState(meter.id, state, Date.now());
      },
    }),
    settings: config.control,
    actions: controlActions,
  });
  const commandsFound = commandService.start();
  if (commandsFound.resumed + commandsFound.interrupted > 0) logger.warn(commandsFound, 'commands the previous run left open: pending ones resumed, in-flight ones marked INTERRUPTED and re-verified');
  closers.push({ name: 'commands', close: () => commandService.close() });
  const controlPort = commandService;
  if (config.opcua.enabled) {
    opcua = await listening('opcua', config.opcua.host, config.opcua.port, () => startOpcUaServer({
      config: config.opcua,
      pkiDir: config.opcua.pkiDir ?? join(config.dataDir, 'opcua-pki'),
      topology: registry,
      live,
      alarms,
      commands: commandService,
      auth,
      terminalOnline: (id) => scheduler.terminalState(id)?.online,
      logger: logger.child({ component: 'opcua' }),
    }));
    const server = opcua;
    closers.push({ name: 'opcua', close: async () => { opcua = undefined; await server.close(); } });
  }
  const meterReader = new MeterReader({ meter: (id) => registry.findMeter(id), terminal: (id) => registry.findTerminal(id), scheduler, plausibility: config.ingest.plausibility });
  /** Load-control programs raise their alarm stages like rules do: logged, then to the alarm service. */
  const onLoadControlSignal = (s: AlarmSignal): void => { onSignal(s); };
  const loadControl = new LoadControlEvaluator({
    programs: config.loadControl.programs,
    port: controlPort,
    live,
    meters: {
      meter: (id) => registry.findMeter(id),
      metersOfArea: (a) => (registry.hasArea(a) ? registry.listMeters({ areaId: a }) : []),
    },
    store: new SqliteProgramStateStore(db),
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    onSignal: onLoadControlSignal,
    onError: (program, err) => {
      if (throttle.pass(`load-control:${program}`) >= 0) logger.error({ program, err }, 'load-control program fault');
    },
    history: (id, limit) => controlActions.list({ programId: id, limit }),
  });
  const loadControlTimer = setInterval(() => { void loadControl.tick(); }, config.loadControl.tickMs);
  loadControlTimer.unref();
  closers.push({ name: 'load-control', close: async () => { clearInterval(loadControlTimer); await loadControl.idle(); } });

  const parts = { pipeline, mqtt, mqttUrl, scheduler, influx, dlms, brokerDrops };
  const health = (): HealthReport => healthReport(parts);
  const metrics = createMetrics([...metricSources(parts), ...securityEvents.metricSources(), ...dlmsPushMetricSources(dlms, dlmsPush.deadLetters), ...alarmMetricSources({ alarms, notifiers, streams: alarmStreams, events }), ...auth.metricSources(), ...(brokerDrops?.metricSources() ?? [])]);

  // Live overview, meter state and load analysis (issues 7 and 8).
  const openAlarms = new OpenAlarmIndex(alarms);
  closers.push({ name: 'open alarm index', close: () => { openAlarms.close(); } });
  const supplyMeters = new Set(Object.values(config.analysis.supplyMeters));
  const readBacks = new ControlReadBacks(db);
  const areaAnalysis = new AreaAnalysis({
    queries: new AnalysisQueries(db),
    topology: registry,
    utcOffsetMinutes: config.station.utcOffsetMinutes,
    supplyMeters: config.analysis.supplyMeters,
    maxRangeDays: config.analysis.maxRangeDays,
    maxPoints: config.analysis.maxPoints,
    maxCompareAreas: config.analysis.maxCompareAreas,
    lineLossEdgeToleranceMs: config.analysis.lineLossEdgeToleranceMs,
  });
  const overview = () => liveOverview({
    areas: () => registry.listAreas(),
    meters: () => registry.listMeters(),
    live,
    alarms: openAlarms,
    collectionRateToday: () => stats.successRate({ day: stats.dayOf(Date.now()) }).total.rate,
    excludedMeters: supplyMeters,
    expectedIntervalMs,
    missedIntervals: () => missedIntervalsOf(ruleService?.list({ detector: 'communication-loss', enabled: true }) ?? []),
  });
  const liveApi = {
    overview,
    meterState: (id: string) => meterState({
      meter: (m) => registry.getMeter(m),
      latest: (m) => withStored(live.of(m), store.latest(m)),
      terminalOnline: (t) => scheduler.terminalState(t)?.online,
      readBacks,
      lastEvent: (m, code) => events.list({ meterId: m, code, limit: 1 }).items[0],
      openAlarms: (m) => openAlarms.countForMeter(m),
    }, id),
    meterExists: (id: string) => registry.getMeter(id).id,
    subscribeMeter: (id: MeterId, listener: Parameters<MeterReadingFeed['subscribe']>[1]) => liveFeed.subscribe(id, listener),
    overviewMs: config.analysis.streamOverviewMs,
    maxStreams: config.analysis.maxStreams,
  };
  const analysisApi = {
    analysis: areaAnalysis,
    areas: () => registry.listAreas(),
    metersOf: (a: string) => registry.listMeters({ areaId: a }),
    collection: (day: string) => stats.successRate({ day }).terminals,
  };

  const api = await buildApi({
    logger,
    bodyLimitBytes: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    registry,
    readings: {
      latest: (id) => withStored(live.of(id), store.latest(id)),
      series: (meterId, quantity, from, to, stepMs, agg) => store.series({ meterId, quantity, from, to, ...(stepMs === undefined ? {} : { stepMs }), agg, maxPoints: 50_000 }),
    },
    stats: {
      perTerminal: (day, terminalIds) => stats.successRate({ day, ...(terminalIds === undefined ? {} : { terminalIds }) }).terminals,
      today: () => stats.dayOf(Date.now()),
    },
    terminalState: (id) => {
      const s = scheduler.terminalState(id);
      return s === undefined ? undefined : { online: s.online, lastSuccessTs: s.lastSuccessTs, lastError: s.lastError ?? null };
    },
    health,
    metrics,
    audit,
    security: { keys: keyStore, events: securityEvents },
    dlmsPush: { deadLetters: dlmsPush.deadLetters },
    ...(ruleService === undefined ? {} : { rules: ruleService }),
    alarms: { alarms, feed: alarmFeed, counters: alarmStreams },
    events: { events },
    loadControl,
    commands: { commands: commandService },
    meterReader,
    auth: { service: auth, sessionMaxMs: config.auth.sessionMaxMs },
    live: liveApi,
    analysis: analysisApi,
    webRoot: config.http.webRoot ?? 'dist/web',
    billing: createBillingService(db, config.billing, config.station.utcOffsetMinutes, (id) => registry.areaSubtree(id)),
  });
  closers.push({ name: 'api', close: () => api.close() });
  await listening('http', config.http.host, config.http.port, () => api.listen({ host: config.http.host, port: config.http.port }));
  const address = api.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  const url = `http://${config.http.host}:${port}`;
  logger.info({ url, docs: `${url}/docs` }, 'gridhead head-end running');

  return { url, registry, pipeline, fleet, mqttUrl, security, alarms, events, opcuaEndpoint: opcua?.endpointUrl, close };
}
