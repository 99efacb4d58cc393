/**
 * The simulated fleet's configuration: the `simulators:` section (how many terminals of each
 * protocol, their load and push settings) and the timed scenarios played on them. The station
 * composes it into its own document (src/config/schema.ts) and hands the loaded section to
 * `startFleet`; the fleet itself needs nothing from the station.
 */
import Type, { type Static } from 'typebox';
import { Id, OneOf, strict } from '../protocols/config.js';

/** Kinds of simulated scenario (simulators/scenarios): what each does is in the README's simulator section. */
const SCENARIO_KINDS = ['overload', 'voltage-sag', 'voltage-loss', 'outage', 'reverse-power', 'register-stuck', 'clock-drift', 'tamper', 'firmware-drop'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];
/** Longest scenario delay, duration or period: 30 days. */
const SCENARIO_MAX_MS = 30 * 86_400_000;

/**
 * One timed scenario of the simulated fleet. The parameters a kind needs (and the ones it does
 * not take) are checked per kind by scenarios/check.ts, which names the missing key.
 */
export const ScenarioConfig = Type.Object(
  {
    kind: OneOf(SCENARIO_KINDS),
    /** Name in the start/end log lines (default `<kind>#<index>`). */
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /** Meters affected; `outage` takes terminals instead. */
    meters: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000 })),
    /** Terminals affected: every meter behind them, or the terminal itself for `outage`. */
    terminals: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000 })),
    /** Delay from the fleet's start to the first window. */
    startAfterMs: Type.Integer({ minimum: 0, maximum: SCENARIO_MAX_MS, default: 0 }),
    /** Length of a window; 0 = until the fleet stops. */
    durationMs: Type.Integer({ minimum: 0, maximum: SCENARIO_MAX_MS, default: 0 }),
    /** Start a new window this long after the previous one started (more than durationMs). */
    repeatEveryMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: SCENARIO_MAX_MS })),
    /** overload: power and currents × factor; reverse-power: exported power × factor (default 1). */
    factor: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    /** voltage-sag and voltage-loss: the phase affected (voltage-sag default `all`). */
    phase: Type.Optional(OneOf(['l1', 'l2', 'l3', 'all'] as const)),
    /** voltage-sag: the phase voltage as a percentage of what it would be, e.g. 80. */
    percentOfNominal: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100 })),
    /** clock-drift: how far the meter's clock jumps ahead (negative: behind), s. */
    driftSeconds: Type.Optional(Type.Number({ minimum: -86_400, maximum: 86_400 })),
    /** firmware-drop: the image block (numbered from 0) whose arrival closes the meter's connection, once per window. */
    atBlock: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff_ffff })),
  },
  strict,
);

const NameplateText = Type.String({ minLength: 1, maxLength: 64 });

/**
 * Firmware and nameplate of the simulated DLMS meters. Every meter has image transfer (IC 18
 * 0.0.44.0.0.255) and its activation schedule (IC 22 0.0.15.0.2.255) unless `imageTransfer` is
 * false; a field left out takes the simulator's default (simulators/dlms/imageTransfer.ts,
 * meterObjects.ts): version GRD-FW-1.0.0, model GRD-SIM-3P, hardware version HW-1.0, block size
 * 192, largest image 1 MiB. A group gives its meters their own version, model or hardware version.
 */
export const SimulatedFirmwareConfig = Type.Object(
  {
    imageTransfer: Type.Boolean({ default: true }),
    /** Active firmware identifier (1.0.0.2.0.255) at start. */
    version: Type.Optional(NameplateText),
    /** Nameplate model (0.0.96.1.1.255). */
    model: Type.Optional(NameplateText),
    /** Nameplate hardware version (0.0.96.1.2.255). */
    hardwareVersion: Type.Optional(NameplateText),
    /** image_block_size, octets. */
    blockSize: Type.Optional(Type.Integer({ minimum: 16, maximum: 65_535 })),
    /** Largest image a meter accepts, octets. */
    maxImageBytes: Type.Optional(Type.Integer({ minimum: 1_024, maximum: 64 * 1024 * 1024 })),
    groups: Type.Array(
      Type.Object(
        {
          /** Meter ids (sim-dl-NN-1); a meter in several groups takes the first. */
          meters: Type.Array(Id, { minItems: 1, maxItems: 10_000 }),
          version: Type.Optional(NameplateText),
          model: Type.Optional(NameplateText),
          hardwareVersion: Type.Optional(NameplateText),
        },
        strict,
      ),
      { default: [], maxItems: 100 },
    ),
  },
  strict,
);

export const SimulatorConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    /** Seed for the fleet's random numbers, so a run can be repeated. */
    seed: Type.Integer({ default: 1 }),
    host: Type.String({ default: '127.0.0.1' }),
    modbus: Type.Object(
      {
        count: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
        /** First TCP port; terminal i listens on basePort + i (0: any free port). */
        basePort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
        /** Meters (unit ids 1..n) behind each terminal. */
        metersPerTerminal: Type.Integer({ minimum: 1, maximum: 247, default: 1 }),
        registerMap: Type.String({ default: 'three-phase-meter' }),
        profiles: Type.Array(Type.String(), { default: [] }),
      },
      strict,
    ),
    mqtt: Type.Object(
      {
        count: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
        metersPerTerminal: Type.Integer({ minimum: 1, maximum: 1_000, default: 1 }),
        /** Broker the simulated terminals publish to; defaults to the head-end's broker. */
        url: Type.Optional(Type.String()),
        publishIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 15_000 }),
      },
      strict,
    ),
    dlms: Type.Object(
      {
        count: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
        /** Half the simulated meters speak each framing when `both`. */
        framing: Type.Union([Type.Literal('wrapper'), Type.Literal('hdlc'), Type.Literal('both')], { default: 'both' }),
        /** The management client's low-level security password of every simulated meter. */
        password: Type.String({ minLength: 1, maxLength: 64, default: '12345678' }),
        /** The first `hls` meters require HLS-GMAC with authenticated encryption (client SAP 48), with fresh random keys each run. */
        hls: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
        profiles: Type.Array(Type.String(), { default: [] }),
        /** Scheduled data-notification pushes to the head-end's push listener, ms; 0: event pushes only. */
        pushIntervalMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 0 }),
        /** How the meters push: TCP wrapper, MQTT binary, or half each (odd meters TCP). */
        pushTransport: OneOf(['tcp', 'mqtt', 'both'] as const, { default: 'tcp' }),
        /** Firmware and nameplate (SimulatedFirmwareConfig); absent: the simulator's defaults, image transfer on. */
        firmware: Type.Optional(SimulatedFirmwareConfig),
      },
      strict,
    ),
    /**
     * `gridhead sim` only: a read-only HTTP listener whose GET /status answers with the fleet's
     * registry seed and the control operations each meter executed (simulators/statusServer.ts),
     * so a test or an operator of a separate fleet process can see what the devices were told to do.
     */
    status: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        host: Type.String({ default: '127.0.0.1' }),
        /** 0: any free port; the listening URL is logged either way. */
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
      },
      strict,
    ),
    /** Transformer areas the simulated meters are spread over (round-robin); created when absent. */
    areaIds: Type.Array(Id, { default: [] }),
    /** Timed scenarios (overload, voltage sag, outage, …) played on the fleet from its start. */
    scenarios: Type.Array(ScenarioConfig, { default: [], maxItems: 1_000 }),
  },
  strict,
);

export type SimulatorConfig = Static<typeof SimulatorConfig>;
export type ScenarioConfig = Static<typeof ScenarioConfig>;
export type SimulatedFirmwareConfig = Static<typeof SimulatedFirmwareConfig>;
