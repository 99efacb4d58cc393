/**
 * The one configuration document. TypeBox, so the same schemas describe Fastify routes.
 * Every object rejects unknown keys; every limit has a name here and a default.
 *
 * This file holds the station's own sections and composes the others into GridheadConfig:
 * each protocol owns its section and terminal endpoint (protocols/<proto>/config.ts), the
 * simulated fleet its own (simulators/config.ts).
 */
import Type, { type Static } from 'typebox';
import { Id, OneOf, strict } from '../../protocols/config.js';
import { DlmsConfig, DlmsEndpoint } from '../../protocols/dlms/config.js';
import { ModbusEndpoint, modbusConfigSchema } from '../../protocols/modbus/config.js';
import { MqttConfig } from '../../protocols/mqtt/config.js';
import { SimulatorConfig } from '../../simulators/config.js';
import { QUANTITY_NAMES, type Quantity } from '../domain/quantity.js';
import { SEVERITIES } from '../domain/alarm.js';
import { METER_LIMITS } from '../domain/topology.js';
import { DEFAULT_AREA_LOAD } from '../domain/areaLoad.js';
import { DEFAULT_PLAUSIBILITY } from '../ingest/plausibility.js';
import { CalendarDate, ClockTime } from './clock.js';
import { FeesConfig } from './fees.js';
import { WorkflowsConfig } from './workflows.js';
import { WorkOrdersConfig } from './workOrders.js';
import { FirmwareConfig } from './firmware.js';

export { OneOf };

/** A JSON-schema range from one of the domain's `{ min, max }` limits. */
function within(range: { readonly min: number; readonly max: number }): { minimum: number; maximum: number } {
  return { minimum: range.min, maximum: range.max };
}

export const QuantityName = OneOf<Quantity>(QUANTITY_NAMES, { description: 'A quantity of the catalogue (DESIGN.md).' });

export const HttpConfig = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    /** Largest accepted request body. */
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
    /** Largest CSV body of POST /api/v1/registry/import/…, streamed (a million meters is about 100 MB). */
    registryImportLimitBytes: Type.Integer({ minimum: 1024, maximum: 4 * 1024 * 1024 * 1024, default: 256 * 1024 * 1024 }),
    /** The built dashboard (Vite output) served at `/`, relative to the working directory; dist/web when absent. */
    webRoot: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Behind a reverse proxy, whose X-Forwarded-For to believe for the client address (login
     * limits, audit): false (nobody's, the default), the proxies' addresses or CIDRs, or true
     * (any peer's: only when nothing but the proxy can reach the port). Fastify's own hop
     * count is left out: it trusts no peer at all.
     */
    trustProxy: Type.Union([Type.Boolean(), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], { default: false }),
  },
  strict,
);

/**
 * The `mqtt:` section: the broker and convention of the MQTT adapter (protocols/mqtt/config.ts),
 * with the station's own parts around them, the embedded broker and its drop monitor.
 */
const MqttSection = Type.Object(
  {
    /** Start an in-process aedes broker (the one-machine demo). */
    embeddedBroker: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
        /** Largest MQTT packet a client may send; the connection is closed at the header of a larger one. */
        maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 1024 * 1024 }),
      },
      strict,
    ),
    ...MqttConfig.properties,
    /**
     * Watch the broker's dropped-message counter (`$SYS/broker/publish/messages/dropped`) and
     * raise a major alarm when it grows (src/broker/dropMonitor.ts).
     */
    brokerDrops: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** The alarm clears once the counter has not grown for this long. */
        clearAfterMs: Type.Integer({ minimum: 1_000, maximum: 7 * 86_400_000, default: 15 * 60_000 }),
        /** No counter this long after subscribing: the broker publishes none (said once in the log and in /health). */
        counterWaitMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 60_000 }),
      },
      strict,
    ),
  },
  strict,
);

export const InfluxConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    url: Type.String({ default: 'http://127.0.0.1:8086' }),
    token: Type.String({ default: '' }),
    org: Type.String({ default: 'gridhead' }),
    bucket: Type.String({ default: 'gridhead' }),
    /** Points per write request. */
    batchSize: Type.Integer({ minimum: 1, maximum: 50_000, default: 5_000 }),
    flushIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1_000 }),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
    /** Retry delay bounds while InfluxDB is unreachable. */
    retryMinMs: Type.Integer({ minimum: 10, default: 500 }),
    retryMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
    /** Disk spool size bound; when full, intake is slowed (backpressure), never dropped. */
    spoolMaxBytes: Type.Integer({ minimum: 1024 * 1024, default: 1024 * 1024 * 1024 }),
  },
  strict,
);

/** PostgreSQL as the shared store (src/storage/postgres/); the URL also comes from GRIDHEAD_DATABASE_URL. */
export const PostgresConfig = Type.Object(
  {
    /** `postgres://user:password@host:port/database`; never logged with its password. */
    url: Type.Optional(Type.String({ minLength: 1, pattern: '^postgres(ql)?://' })),
    /** Connections in the pool, at most; queries beyond them wait for one (see `acquireTimeoutMs`). */
    poolMax: Type.Integer({ minimum: 1, maximum: 1_000, default: 10 }),
    /** A connection attempt (TCP, TLS and authentication) that takes longer fails. */
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 10_000 }),
    /** A query waits this long for a free connection, at most. */
    acquireTimeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 30_000 }),
    /** `statement_timeout` of every connection: the server cancels a statement that runs longer. */
    statementTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
    /** `idle_in_transaction_session_timeout`: a session that holds a transaction open and idle this long is ended. */
    idleInTransactionTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
    /** Delay bounds between reconnection attempts while the server is unreachable. */
    reconnectMinMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 100 }),
    reconnectMaxMs: Type.Integer({ minimum: 10, maximum: 300_000, default: 10_000 }),
    /** Day partitions of `readings` created ahead of today. */
    partitionDaysAhead: Type.Integer({ minimum: 1, maximum: 366, default: 7 }),
    /** How often the reading store creates partitions ahead and drops those past retention. */
    maintenanceIntervalMs: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 3_600_000 }),
    /** /health reports the server unreachable when its probe gets no answer within this. */
    healthTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000 }),
  },
  strict,
);

export const StorageConfig = Type.Object(
  {
    /**
     * Where every store lives: `embedded` (SQLite in the data directory) or `postgres`. Left
     * out: postgres when GRIDHEAD_DATABASE_URL or `postgres.url` is given, else embedded
     * (src/stores.ts).
     */
    driver: Type.Optional(Type.Union([Type.Literal('embedded'), Type.Literal('postgres')])),
    /** Readings per SQLite transaction, at most (the pipeline hands the store batches this large). */
    batchSize: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
    /**
     * `full`: every commit is fsynced, so acknowledged readings survive a power cut; `normal`:
     * they survive a process crash or kill, not a power cut (src/storage/db.ts).
     */
    durability: Type.Union([Type.Literal('full'), Type.Literal('normal')], { default: 'full' }),
    /**
     * Readings are kept this many days. The PostgreSQL reading store applies it by dropping
     * whole day partitions (src/storage/postgres/partitions.ts); the embedded store keeps
     * every reading for now.
     */
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 400 }),
    postgres: PostgresConfig,
  },
  strict,
);

export const IngestConfig = Type.Object(
  {
    /** Readings buffered between adapters and sinks, at most; intake pauses beyond it. */
    queueCapacity: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 200_000 }),
    /** Physical bounds a reading must lie in to be accepted (src/ingest/plausibility.ts has the formulas). */
    plausibility: Type.Object(
      {
        /** Un at the meter's terminals, V phase to neutral, for meters that declare no `nominalVoltage`. */
        nominalVoltage: Type.Number({ ...within(METER_LIMITS.nominalVoltage), default: DEFAULT_PLAUSIBILITY.nominalVoltage }),
        /** Imax at the meter's terminals, A, for meters that declare no `maxCurrent`. */
        maxCurrent: Type.Number({ ...within(METER_LIMITS.maxCurrent), default: DEFAULT_PLAUSIBILITY.maxCurrent }),
        /** Factor over Un and Imax still plausible: voltage ≤ overrange·Un·PT, current ≤ overrange·Imax·CT. */
        overrange: Type.Number({ minimum: 1, maximum: 100, default: DEFAULT_PLAUSIBILITY.overrange }),
        minFrequency: Type.Number({ minimum: 0, maximum: 1000, default: DEFAULT_PLAUSIBILITY.minFrequency }),
        maxFrequency: Type.Number({ minimum: 0, maximum: 1000, default: DEFAULT_PLAUSIBILITY.maxFrequency }),
      },
      strict,
    ),
  },
  strict,
);

export const CollectProfile = Type.Object(
  {
    /** Quantities read each cycle (instantaneous values, registers). Empty for a stored-profile read. */
    quantities: Type.Array(QuantityName, { default: [] }),
    /**
     * Read a profile the meter stores instead (DLMS IC 7): each cycle fetches the entries captured
     * since the last one collected, so nothing is missed across outages and nothing is stored twice.
     */
    profile: Type.Optional(OneOf(['load', 'daily', 'billing'] as const)),
    /** How far back the first read of a profile reaches, hours. */
    backfillHours: Type.Integer({ minimum: 1, maximum: 24 * 400, default: 48 }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
    /** Align cycles to the wall clock (a 900 s profile runs at :00, :15, :30, :45). */
    align: Type.Boolean({ default: true }),
    /** Random delay added to each terminal's start within a cycle, spreading load. */
    jitterMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 0 }),
    timeoutMs: Type.Integer({ minimum: 50, maximum: 120_000, default: 3_000 }),
    retries: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
    retryBackoffMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
  },
  strict,
);

/** What `collect.keepSessions` is when not configured; the scheduler's default too. */
export const KEEP_SESSIONS_DEFAULTS = { max: 512, idleMs: 120_000 } as const;

export const CollectConfig = Type.Object(
  {
    /** Terminals polled at once, across all profiles. */
    concurrency: Type.Integer({ minimum: 1, maximum: 100_000, default: 64 }),
    /** Consecutive failed cycles after which a terminal is marked offline. */
    offlineAfterFailures: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
    /** Pushing terminals are offline when silent this long. */
    pushSilenceMs: Type.Integer({ minimum: 1_000, default: 300_000 }),
    profiles: Type.Record(Type.String(), CollectProfile, { default: {} }),
    /**
     * Sessions (a TCP connection, a DLMS association) kept open after a terminal's request for
     * its next one, which then skips connecting and associating. Each holds a file descriptor
     * and some tens of KiB, so only a bounded number are kept, and only for terminals due again
     * soon: right for hundreds of terminals polled every few seconds, not for 100,000 polled
     * daily. The default fits the descriptors of a stock 1,024 open-files limit beside the
     * default concurrency.
     */
    keepSessions: Type.Object(
      {
        /** Sessions kept open at most between requests; past it a session closes after its request. 0: never kept. */
        max: Type.Integer({ minimum: 0, maximum: 1_000_000, default: KEEP_SESSIONS_DEFAULTS.max }),
        /**
         * A kept session unused this long is closed, and one whose terminal's next cycle is
         * further away is not kept. Meters and mobile-network NATs drop an idle connection after a
         * few minutes (a DLMS meter's inactivity time-out is commonly 120 s), so a session kept
         * longer would mostly be found dead.
         */
        idleMs: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: KEEP_SESSIONS_DEFAULTS.idleMs }),
      },
      { ...strict, default: {} },
    ),
  },
  strict,
);

/**
 * The `modbus:` section, its register points bound to the station's quantity catalogue, so a
 * point naming no catalogue quantity is refused with its key path.
 */
const modbus = modbusConfigSchema(QuantityName);
export const RegisterMap = modbus.RegisterMap;

export const AreaSeed = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: Type.Union([Type.Literal('region'), Type.Literal('substation'), Type.Literal('feeder'), Type.Literal('transformer')]),
    parentId: Type.Optional(Id),
    transformerKva: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  strict,
);

/** Why an endpoint `password` is refused, in the configuration and in the API alike. */
export const ENDPOINT_PASSWORD_REFUSED = 'not accepted: the low-level security password lives in the key store; remove it here and '
  + 'PUT {"password"} to /api/v1/meters/:id/keys (or /api/v1/key-groups/:name/keys for the endpoint\'s keyGroup)';

/**
 * A terminal's DLMS endpoint as the station takes it: the protocol's (protocols/dlms/config.ts),
 * plus the `password` key, accepted by the schema only to be refused with a pointer to the key
 * store (ENDPOINT_PASSWORD_REFUSED) rather than as an unknown key.
 */
export const DlmsEndpointSchema = Type.Object(
  {
    ...DlmsEndpoint.properties,
    /** Refused: the LLS password lives in the key store (PUT /api/v1/meters/:id/keys), never in a file or a registry row. */
    password: Type.Optional(Type.String({ description: 'Not accepted: PUT the low-level security password to /api/v1/meters/:id/keys or /api/v1/key-groups/:name/keys.' })),
  },
  strict,
);

export const TerminalSeed = Type.Object(
  {
    id: Id,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    protocol: Type.Union([Type.Literal('modbus'), Type.Literal('mqtt'), Type.Literal('dlms')]),
    enabled: Type.Boolean({ default: true }),
    profiles: Type.Array(Type.String(), { default: [] }),
    modbus: Type.Optional(ModbusEndpoint),
    dlms: Type.Optional(DlmsEndpointSchema),
  },
  strict,
);

export const MeterSeed = Type.Object(
  {
    id: Id,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    terminalId: Id,
    address: Type.String({ minLength: 1, maxLength: 64 }),
    ctRatio: Type.Number({ ...within(METER_LIMITS.ratio), default: 1, description: 'Current transformer ratio, primary over secondary (1 when connected directly).' }),
    ptRatio: Type.Number({ ...within(METER_LIMITS.ratio), default: 1, description: 'Voltage transformer ratio, primary over secondary (1 when connected directly).' }),
    nominalVoltage: Type.Optional(Type.Number({ ...within(METER_LIMITS.nominalVoltage), description: 'Un at the meter\'s terminals, V phase to neutral; default ingest.plausibility.nominalVoltage.' })),
    maxCurrent: Type.Optional(Type.Number({ ...within(METER_LIMITS.maxCurrent), description: 'Imax at the meter\'s terminals, A; default ingest.plausibility.maxCurrent.' })),
    areaId: Type.Optional(Id),
    protected: Type.Boolean({ default: false }),
    customerRef: Type.Optional(Type.String({ maxLength: 128 })),
    accountRef: Type.Optional(Type.String({ maxLength: 128 })),
  },
  strict,
);

export const RegistryConfig = Type.Object(
  {
    areas: Type.Array(AreaSeed, { default: [] }),
    terminals: Type.Array(TerminalSeed, { default: [] }),
    meters: Type.Array(MeterSeed, { default: [] }),
  },
  strict,
);

export const RulesConfig = Type.Object(
  {
    /** Run the rule engine. */
    enabled: Type.Boolean({ default: true }),
    /** YAML rule set seeded into the store at start, relative to the configuration file. */
    file: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  strict,
);

export const WebhookConfig = Type.Object(
  {
    /** Receiver; gets a JSON POST per alarm change. */
    url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
    /** HMAC-SHA256 key: `X-Gridhead-Signature: sha256=<hex>` over the raw body. */
    secret: Type.String({ minLength: 16, maxLength: 256 }),
    /** Changes of less severe alarms are not sent. */
    minSeverity: OneOf(SEVERITIES, { default: 'warning' }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5_000 }),
    /** Attempts per notification, the first included; a 4xx other than 408/429 is never retried. */
    maxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
    /** Exponential backoff with jitter between these bounds. */
    retryMinMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 1_000 }),
    retryMaxMs: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 300_000 }),
    /** Notifications waiting per webhook; the oldest is dropped (and counted) beyond. */
    queueCapacity: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1_000 }),
  },
  strict,
);

export const AlarmsConfig = Type.Object(
  {
    /** Publish every alarm change to `<topicPrefix>/<severity>/<subject-kind>/<subject-id>` on the head-end's broker. */
    mqtt: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        topicPrefix: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^+#]+$', default: 'gridhead/v1/_alarms' }),
      },
      strict,
    ),
    webhooks: Type.Array(WebhookConfig, { default: [], maxItems: 32 }),
    /** Open alarms per rule, at most; further raises are dropped, counted and logged once. */
    maxOpenPerRule: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    /** Alarm store writes waiting behind the rules, at most; beyond it signals are refused, counted and logged. */
    storeQueueMax: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  },
  strict,
);

export const EventsConfig = Type.Object(
  {
    /** Device events are kept this long after they arrived. */
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
    /** And at most this many rows, the oldest deleted first. */
    maxRows: Type.Integer({ minimum: 1_000, maximum: 1_000_000_000, default: 5_000_000 }),
  },
  strict,
);


/** One shedding round (轮次): after `afterMs` of continuous over-limit, `action` on `meters`. */
export const ShedRound = Type.Object(
  {
    afterMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
    action: OneOf(['set-limit', 'disconnect'] as const),
    /** The limit set-limit writes, kW. */
    limitKw: Type.Optional(Type.Number({ minimum: 0 })),
    meters: Type.Array(Id, { minItems: 1, maxItems: 1_000 }),
  },
  strict,
);

/**
 * A load-control program (src/rules/loadControl). The fields of its `kind` are required
 * (checked with their paths by src/config/loadControl.ts); the others must be absent.
 */
export const LoadControlProgram = Type.Object(
  {
    id: Id,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    kind: OneOf(['period', 'rest-day', 'suspension', 'floating-down', 'monthly-energy', 'purchase-energy'] as const),
    enabled: Type.Boolean({ default: true }),
    /** Go through the states and record what would be done, without touching a device. */
    dryRun: Type.Boolean({ default: false }),
    /** The load: the sum of these meters' power.active, or of an area's meters, or one total meter. Exactly one. */
    meters: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000 })),
    area: Type.Optional(Id),
    totalMeter: Type.Optional(Id),
    /** Restore when the load stays at or under limit × (1 − hysteresisPercent/100) for restoreAfterMs. */
    hysteresisPercent: Type.Number({ minimum: 0, maximum: 50, default: 5 }),
    restoreAfterMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 300_000 }),
    /** Superseded by `station.areaLoadFreshMs`; accepted only when equal to it. */
    freshMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 86_400_000 })),
    severity: OneOf(['critical', 'major', 'minor', 'warning', 'info'] as const, { default: 'major' }),
    rounds: Type.Array(ShedRound, { minItems: 1, maxItems: 8 }),
    /** period: limit per time-of-day period; outside every period there is no limit. */
    periods: Type.Optional(Type.Array(Type.Object({ from: ClockTime, to: ClockTime, limitKw: Type.Number({ minimum: 0 }) }, strict), { minItems: 1, maxItems: 48 })),
    /** rest-day: days the limit applies, 0 = Sunday … 6 = Saturday. */
    weekdays: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7 })),
    /** period-less kinds (rest-day, suspension): the limit, kW; suspension defaults to 0. */
    limitKw: Type.Optional(Type.Number({ minimum: 0 })),
    /** suspension: first and last day (inclusive) of the suspension. */
    from: Type.Optional(CalendarDate),
    to: Type.Optional(CalendarDate),
    /** floating-down: average over windowMs before arming, lowered by percent, applied for durationMs. */
    windowMs: Type.Optional(Type.Integer({ minimum: 10_000, maximum: 3_600_000 })),
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    durationMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 7 * 86_400_000 })),
    /** monthly-energy: the month's budget from energy.active.import deltas, and the share that raises the alarm. */
    budgetKwh: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    warnShare: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    /** purchase-energy: kWh loaded at the start (top-ups come through the API), and the remaining kWh at which to warn, e.g. [50, 20]. */
    purchasedKwh: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000_000 })),
    warnKwh: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000 }), { minItems: 1, maxItems: 8 })),
  },
  strict,
);

export const LoadControlConfig = Type.Object(
  {
    /** How often programs are evaluated from live values. */
    tickMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000 }),
    /** Bounds one control command (queueing in the terminal's lane included). */
    commandTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
    programs: Type.Array(LoadControlProgram, { default: [], maxItems: 1_000 }),
    /** The most kWh one purchase may load into a purchase-energy program (a bigger one is refused as a typo). */
    maxPurchaseKwh: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000, default: 100_000 }),
  },
  strict,
);

export const ControlConfig = Type.Object(
  {
    /** Commands covering more meters than this are two-step: a preview with a confirmation token first. */
    confirmAbove: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10 }),
    /** Commands sent to one terminal per minute, at most (token bucket). */
    perTerminalRatePerMinute: Type.Number({ exclusiveMinimum: 0, maximum: 60_000, default: 30 }),
    /** Bounds one command on the device (queueing in the terminal's lane included). */
    commandTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000 }),
    /** How long an Idempotency-Key answers with its command. */
    idempotencyHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 30, default: 24 }),
    /** Terminals with a command in flight at once, at most. */
    maxConcurrentTerminals: Type.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
    /**
     * With several nodes, the node a command's terminal is placed on is woken by a notification
     * when another node stores it; it also looks for queued commands this often, so a lost
     * notification delays a command by this much at most.
     */
    backstopPollMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
    /**
     * With several nodes, how long a load-control program's request awaits the outcome of a
     * command another node executes; past it the program hears REMOTE_WAIT_TIMEOUT and the
     * command finishes on its own. Default: twice commandTimeoutMs plus 5 s (a send, then a
     * re-verification read after a takeover).
     */
    remoteWaitMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  },
  strict,
);

/** Access control (src/auth): dashboard sessions and login throttling. */
export const AuthConfig = Type.Object(
  {
    /** A dashboard session unused this long ends. */
    sessionIdleMs: Type.Integer({ minimum: 60_000, maximum: 86_400_000, default: 30 * 60_000 }),
    /** A session ends this long after login, used or not. */
    sessionMaxMs: Type.Integer({ minimum: 60_000, maximum: 30 * 86_400_000, default: 12 * 3_600_000 }),
    /** Sessions kept per user; a new login ends the oldest beyond it. */
    maxSessionsPerUser: Type.Integer({ minimum: 1, maximum: 1_000, default: 20 }),
    /**
     * A token or session verified on this node answers from memory this long, sparing the store
     * a lookup per API request; a revocation or user change made on another node of a cluster
     * takes effect here after at most this long (on this node: at once). 0: look up every request.
     */
    credentialCacheTtlMs: Type.Integer({ minimum: 0, maximum: 300_000, default: 5_000 }),
    /** Verified tokens and sessions kept in that cache, at most (oldest dropped first). */
    credentialCacheMaxEntries: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    /** "Last used" times of tokens and sessions waiting to be written, at most; beyond it they are counted, not written. */
    lastUseQueueMax: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    login: Type.Object(
      {
        /** Failed logins of one user name within the window before its logins are refused (429). */
        maxFailuresPerUser: Type.Integer({ minimum: 1, maximum: 1_000, default: 5 }),
        /** Failed logins from one address within the window before its logins are slowed (higher: users may share a NAT). */
        maxFailuresPerAddress: Type.Integer({ minimum: 1, maximum: 100_000, default: 20 }),
        /** Past the address limit, each login from the address waits this long and one is checked at a time (429 meanwhile). */
        addressSlowdownMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 2_000 }),
        windowMs: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 15 * 60_000 }),
        /** User names and addresses tracked, at most (oldest forgotten first). */
        maxKeys: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 10_000 }),
      },
      strict,
    ),
  },
  strict,
);

/** Load analysis and the live API. */
export const AnalysisConfig = Type.Object(
  {
    /** Supply (transformer-side) meter of each transformer area, for line loss: `{ <areaId>: <meterId> }`. */
    supplyMeters: Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 64 }), { default: {} }),
    /** Longest period one analysis query may cover. */
    maxRangeDays: Type.Integer({ minimum: 1, maximum: 3660, default: 92 }),
    /** Points one analysis series may return, at most. */
    maxPoints: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 10_000 }),
    /** Areas one area-against-area comparison may name. */
    maxCompareAreas: Type.Integer({ minimum: 2, maximum: 100, default: 10 }),
    /** A register read counts for a line-loss period edge when this close to it. */
    lineLossEdgeToleranceMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 3_600_000 }),
    /** Period of `event: overview` on the live stream. */
    streamOverviewMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
    /** Live streams served at once, at most. */
    maxStreams: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  },
  strict,
);

/** Billing reads (src/billing): frozen reads, interval VEE, TOU tariff calendar. */
export const TariffPeriodConfig = Type.Object(
  {
    bucket: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' }),
    from: ClockTime,
    to: ClockTime,
    days: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, description: 'Local weekdays, 0 Sunday' })),
    months: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 12 }), { minItems: 1, maxItems: 12, description: 'Season: months it applies in' })),
  },
  strict,
);

/** OPC UA server for SCADA (src/opcua): endpoint, security, who may connect. */
export const OpcUaConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    /** Where the server listens. */
    host: Type.String({ minLength: 1, maxLength: 253, default: '127.0.0.1' }),
    /** The host name clients reach it by, in the endpoint URLs; default `host` (the machine's name when `host` is a wildcard). */
    advertisedHostname: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    /** 0: any free port (tests). */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 4840 }),
    resourcePath: Type.String({ maxLength: 128, pattern: '^(/[A-Za-z0-9_.-]+)*$', default: '/UA/gridhead' }),
    /** 'None' only for a demo on 127.0.0.1; production: Basic256Sha256 (or the newer Aes policies). */
    securityPolicies: Type.Array(OneOf(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const), { minItems: 1, maxItems: 4, default: ['None'] }),
    securityModes: Type.Array(OneOf(['None', 'Sign', 'SignAndEncrypt'] as const), { minItems: 1, maxItems: 3, default: ['None'] }),
    /** Anonymous sessions may browse, read and subscribe, never call a method. */
    allowAnonymous: Type.Boolean({ default: false }),
    /** The server's certificate and the trusted/rejected client certificates; default <dataDir>/opcua-pki. */
    pkiDir: Type.Optional(Type.String({ minLength: 1 })),
    /** Trust any client certificate (demo only); otherwise move it from <pki>/rejected to <pki>/trusted. */
    acceptUnknownCertificates: Type.Boolean({ default: false }),
    maxSessions: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
    maxConnectionsPerEndpoint: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
    /** A value older than this reads UncertainLastUsableValue. */
    staleAfterSeconds: Type.Integer({ minimum: 1, maximum: 7 * 86_400, default: 900 }),
    /** Area loads are recomputed at most this often, for the areas whose meters reported. */
    areaRefreshMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 1_000 }),
    /**
     * Meters that get nodes of their own (values, relay, methods), the first the registry lists:
     * each weighs some 200 KiB in node-opcua, so a large fleet is served by area (AggregateLoad)
     * and a bounded set of meters. Meters beyond it are logged once at start.
     */
    maxMeterNodes: Type.Integer({ minimum: 0, maximum: 100_000, default: 200 }),
    /**
     * Areas whose nodes are added per turn of the event loop while the server builds its
     * address space after it listens (a mirrored meter counts as 13): small enough that no
     * slice holds the loop for more than some tens of ms (an area node costs about 0.45 ms of CPU).
     */
    buildSliceAreas: Type.Integer({ minimum: 1, maximum: 100_000, default: 50 }),
    /**
     * With several nodes, the server runs on the leader only by default, and moves with the
     * leader lease: SCADA reaches it through the load balancer (or a virtual address) in front
     * of the nodes, and two nodes on one host would contend for the one port. true: every node
     * serves (give each its own port, and SCADA each endpoint). No effect in `single` mode.
     */
    everyNode: Type.Boolean({ default: false }),
  },
  strict,
);

export const BillingConfig = Type.Object(
  {
    /** Register billed by default. */
    quantity: Type.String({ default: 'energy.active.import', pattern: '^energy\\.(active|reactive)\\.(import|export)(\\.t[1-4])?$' }),
    /** A read this close to a boundary is the frozen value itself (not interpolated). */
    snapshotToleranceSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 60 }),
    /** Frozen reads: interpolate only with a read this close on both sides, else `missing`. */
    frozenMaxSpanHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 31, default: 24 }),
    /** Interval edges: interpolate only with a read this close on both sides, else the edge is a gap. */
    intervalMaxSpanMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60 }),
    /** Gaps up to this long between known interval edges are estimated linearly. */
    maxEstimatedGapMinutes: Type.Integer({ minimum: 0, maximum: 7 * 1440, default: 120 }),
    spikeFactor: Type.Number({ exclusiveMinimum: 1, maximum: 10_000, default: 10 }),
    spikeMinDelta: Type.Number({ minimum: 0, default: 1 }),
    baselineIntervals: Type.Integer({ minimum: 4, maximum: 10_000, default: 96 }),
    /** Integer digits of the registers: they wrap at 10^digits (6: 999999.99 → 0). 0: never wrap. */
    registerDigits: Type.Integer({ minimum: 0, maximum: 15, default: 6 }),
    maxReadsPerMeter: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 50_000 }),
    /** Meters per page of a streamed export. */
    exportChunkMeters: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
    /** Meter exchanges: deltas across one are computed per meter, not as a drop. */
    replacements: Type.Array(Type.Object({
      meterId: Id,
      at: Type.String({ format: 'date-time' }),
      oldFinal: Type.Number({ minimum: 0 }),
      newInitial: Type.Number({ minimum: 0 }),
    }, strict), { default: [], maxItems: 100_000 }),
    tariff: Type.Object(
      {
        timezoneOffsetMinutes: Type.Optional(Type.Integer({ minimum: -720, maximum: 840 })),
        defaultBucket: Type.String({ minLength: 1, maxLength: 32, default: 'flat' }),
        periods: Type.Array(TariffPeriodConfig, { default: [], maxItems: 200 }),
      },
      strict,
    ),
  },
  strict,
);

export const CLUSTER_MODES = ['single', 'active-standby', 'sharded'] as const;
export const NODE_ROLES = ['api', 'collect', 'rules', 'control', 'opcua'] as const;

/**
 * Several nodes sharing one PostgreSQL and one broker (src/cluster/). `single` is one process
 * that does everything, on either driver; the other modes need PostgreSQL.
 */
export const ClusterConfig = Type.Object(
  {
    /**
     * This node's id among the members (GRIDHEAD_NODE_ID). It must survive restarts: the
     * membership row, the leases and, in `sharded` mode, the node's own broker sessions are
     * keyed by it (src/cluster/mqttClients.ts). Left out:
     * the host name in `single` mode; required in the other modes, since two nodes on one
     * host would share the host name and a pid changes with every start.
     */
    nodeId: Type.Optional(Id),
    /**
     * `single`, `active-standby` (the leader lease's holder polls, takes telemetry and runs the
     * rule and load-control ticks; the others serve the API and stay warm) or `sharded`
     * (GRIDHEAD_CLUSTER_MODE).
     */
    mode: OneOf(CLUSTER_MODES, { default: 'single' }),
    /** What this node may do; every role by default. */
    roles: Type.Array(OneOf(NODE_ROLES), { minItems: 1, uniqueItems: true, default: [...NODE_ROLES] }),
    /** The API URL other nodes and a load balancer reach this node at; default the address it listens on. */
    advertiseUrl: Type.Optional(Type.String({ minLength: 1, pattern: '^https?://' })),
    /** How often the node writes its heartbeat to the member list (leases renew on their own beat, leaseMs / 3). */
    heartbeatMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 1_000 }),
    /**
     * A member is live while its heartbeat is younger than this, and a leader's lease lasts this
     * long after its last renewal, both by the database's clock. A dead leader is replaced within
     * leaseMs + leaseMs / 3 (6.7 s by default, inside the 10 s takeover target).
     */
    leaseMs: Type.Integer({ minimum: 500, maximum: 60_000, default: 5_000 }),
    /**
     * How long a step-down waits for one duty's stop (a poller, a notifier, the OPC UA server)
     * before it goes on without it, logged once with the duty's name: a stop that hangs must
     * not keep the node from standing by, or from taking over again.
     */
    dutyStopTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    /**
     * `sharded`: the MQTT shared subscription group the nodes' telemetry clients join
     * (`$share/<group>/<mqtt.topicPrefix>/+/telemetry` ...): the broker hands each message to
     * one node. One group per station; no "/", "+" or "#".
     */
    shareGroup: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^/+#]+$', default: 'gridhead' }),
    /** The cluster feed (src/cluster/feed/): every node's committed readings, for the other nodes' live state and rules. */
    feed: Type.Object(
      {
        /** Readings in one feed message, at most; a larger batch goes as several. */
        maxReadingsPerMessage: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
        /** Feed messages awaiting the broker's PUBACK, at most; beyond, a batch is dropped and counted (the store is the record). */
        maxPendingMessages: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
      },
      strict,
    ),
  },
  strict,
);

export const GridheadConfig = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: './data' }),
    station: Type.Object(
      {
        /** Fixed offset of station time from UTC (no DST), for collection days and aligned cycles. */
        utcOffsetMinutes: Type.Integer({ minimum: -720, maximum: 840, default: 0 }),
        /**
         * An area's load counts a meter's power.active while at most this old (device time): one
         * freshness for the overload rule, the live overview, load control and OPC UA (src/domain/areaLoad.ts).
         */
        areaLoadFreshMs: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: DEFAULT_AREA_LOAD.freshMs }),
        /** Turns a transformer area's kVA rating into its kW limit, everywhere a limit is shown or judged. */
        transformerPowerFactor: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: DEFAULT_AREA_LOAD.powerFactor }),
      },
      strict,
    ),
    log: Type.Object(
      {
        level: OneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }),
      },
      strict,
    ),
    http: HttpConfig,
    mqtt: MqttSection,
    influx: InfluxConfig,
    storage: StorageConfig,
    ingest: IngestConfig,
    collect: CollectConfig,
    modbus: modbus.ModbusConfig,
    dlms: DlmsConfig,
    registry: RegistryConfig,
    simulators: SimulatorConfig,
    rules: RulesConfig,
    alarms: AlarmsConfig,
    events: EventsConfig,
    loadControl: LoadControlConfig,
    control: ControlConfig,
    auth: AuthConfig,
    analysis: AnalysisConfig,
    opcua: OpcUaConfig,
    billing: BillingConfig,
    fees: FeesConfig,
    /** Graphical workflows (src/config/workflows.ts, read by src/workflows). */
    workflows: WorkflowsConfig,
    /** Work orders (工单): text and list bounds (src/config/workOrders.ts). */
    workOrders: WorkOrdersConfig,
    /** Firmware images and campaigns (src/config/firmware.ts, read by src/firmware), with MQTT OTA under `ota`. */
    firmware: FirmwareConfig,
    cluster: ClusterConfig,
  },
  strict,
);

export type GridheadConfig = Static<typeof GridheadConfig>;
export type CollectProfileConfig = Static<typeof CollectProfile>;
export type InfluxConfig = Static<typeof InfluxConfig>;
export type PostgresConfig = Static<typeof PostgresConfig>;
export type AreaSeed = Static<typeof AreaSeed>;
export type TerminalSeed = Static<typeof TerminalSeed>;
export type MeterSeed = Static<typeof MeterSeed>;
export type AlarmsConfig = Static<typeof AlarmsConfig>;
export type WebhookConfig = Static<typeof WebhookConfig>;
export type LoadControlProgramConfig = Static<typeof LoadControlProgram>;
export type ShedRoundConfig = Static<typeof ShedRound>;
export type LoadControlConfig = Static<typeof LoadControlConfig>;
export type ControlConfig = Static<typeof ControlConfig>;
export type AuthConfig = Static<typeof AuthConfig>;
export type AnalysisConfig = Static<typeof AnalysisConfig>;
export type OpcUaConfig = Static<typeof OpcUaConfig>;
export type BillingConfig = Static<typeof BillingConfig>;
export type ClusterConfig = Static<typeof ClusterConfig>;
