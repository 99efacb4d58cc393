/**
 * The simulated fleet: N Modbus terminals and N MQTT terminals from the `simulators`
 * section of a configuration, and the registry seed (terminals and meters) that describes
 * them, so the head-end polls and accepts exactly what is running.
 */
import { randomBytes } from 'node:crypto';
import type { SuiteZeroKeys } from '../protocols/dlms/security/settings.js';
import { ConfigError, type ConfigIssue } from '../protocols/config.js';
import type { SimulatedFirmwareConfig, SimulatorConfig } from './config.js';
import type { SimulatedDlmsMeterOptions } from './dlms/meterObjects.js';
import type { ControlCounts } from './controlTally.js';
import { DlmsMeterSimulator, HLS_CLIENT, MANAGEMENT_CLIENT } from './dlms/server.js';
import type { MqttLogin } from './dlms/pushTransport.js';
import { ModbusTerminalSimulator } from './modbus/terminal.js';
import { MqttTerminalSimulator } from './mqtt/terminal.js';
import { ScenarioRunner, type ScenarioEvent } from './scenarios/runner.js';
import { FleetTargets } from './scenarios/targets.js';
import type { FleetSeed, SimulatedArea, SimulatedMeter, SimulatedTerminal } from './seed.js';

export interface Fleet {
  readonly seed: FleetSeed;
  readonly modbus: readonly ModbusTerminalSimulator[];
  readonly mqtt: readonly MqttTerminalSimulator[];
  readonly dlms: readonly DlmsMeterSimulator[];
  /** The configured scenarios, timed from the fleet's start. */
  readonly scenarios: ScenarioRunner;
  /**
   * Secrets by meter id, which the head-end stores in its key store at start: EK and AK of
   * the HLS meters (fresh each run), the LLS password of the others.
   */
  readonly keys: ReadonlyMap<string, SuiteZeroKeys | { readonly password: string }>;
  /**
   * Connects the MQTT terminals, which then publish on their schedule. Separate from
   * `startFleet` so the head-end can subscribe first and miss nothing.
   */
  startPublishing(): Promise<void>;
  /**
   * Points the DLMS meters' pushes at the head-end (by `simulators.dlms.pushTransport`), once
   * its push listener is up: the fleet starts before it. A transport not offered is replaced
   * by the other one; with neither, the meters keep their pushes to themselves.
   */
  startPushing(to: { readonly tcp?: { readonly host: string; readonly port: number }; readonly mqttUrl?: string }): void;
  /** The control operations each meter executed (simulators/controlTally.ts), by meter id; meters that executed none are absent. */
  controlCounts(): Record<string, ControlCounts>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  /** Broker the MQTT terminals publish to. */
  readonly mqttUrl: string;
  readonly topicPrefix: string;
  /** Areas the head-end already knows; the fleet's `areaIds` not among them are created as stand-alone transformer areas. */
  readonly knownAreaIds?: ReadonlySet<string>;
  /** Time of every simulator and of the scenarios (default Date.now); tests move a fake one. */
  readonly clock?: () => number;
  /** Told when a scenario starts or ends (the station logs it). */
  readonly onScenario?: (event: ScenarioEvent) => void;
  /** How often scenario edges are looked for, ms; 0: only on `scenarios.update()` (default 250). */
  readonly scenarioTickMs?: number;
  /** What each simulated terminal logs in to the broker with (its telemetry and its DLMS pushes); none by default. */
  readonly mqttLogin?: (terminalId: string) => MqttLogin;
}

const pad = (i: number): string => String(i).padStart(2, '0');

/** "GRD" (a FLAG-style manufacturer id) and the meter's number as 5 octets (Green Book §4.3.4: 3 + 5 octets). */
export function simulatedSystemTitle(i: number): Uint8Array {
  const st = Buffer.alloc(8);
  st.write('GRD', 0, 'latin1');
  st.writeUIntBE(i, 3, 5);
  return st;
}

/**
 * The simulated meters serve primary-side values with CT and PT ratio 1, up to the largest
 * industrial customer of the load shapes (about 630 A per phase at peak, 1.9 kA under the
 * demo's ×3 overload). Rated 1,500 A, the station's plausibility bounds (2 × Imax by
 * default: 3 kA) take that with room for a harder overload.
 */
export const SIMULATED_RATING = { ctRatio: 1, ptRatio: 1, nominalVoltage: 230, maxCurrent: 1_500 } as const;

export async function startFleet(sim: SimulatorConfig, options: FleetOptions): Promise<Fleet> {
  const terminals: SimulatedTerminal[] = [];
  const meters: SimulatedMeter[] = [];
  const areas: SimulatedArea[] = sim.areaIds
    .filter((id) => options.knownAreaIds?.has(id) !== true)
    .map((id) => ({ id, name: `Simulated area ${id}`, kind: 'transformer' as const, transformerKva: 400 }));
  let meterIndex = 0;
  const nextArea = (): string | undefined => sim.areaIds[meterIndex++ % Math.max(1, sim.areaIds.length)];
  const customer = (id: string) => ({ customerRef: `CUST-${id}`, accountRef: `ACC-${id}` });
  const clock = options.clock === undefined ? {} : { clock: options.clock };

  const firmwareIssues = firmwareGroupIssues(sim.dlms.firmware, sim.dlms.count);
  if (firmwareIssues.length > 0) throw new ConfigError('simulators.dlms.firmware', firmwareIssues);
  const modbus: ModbusTerminalSimulator[] = [];
  const mqtt: MqttTerminalSimulator[] = [];
  const dlms: DlmsMeterSimulator[] = [];
  const keys = new Map<string, SuiteZeroKeys | { readonly password: string }>();
  const stopAll = async () => {
    await Promise.allSettled([...modbus.map((s) => s.stop()), ...mqtt.map((s) => s.stop()), ...dlms.map((s) => s.stop())]);
  };
  try {
    for (let i = 1; i <= sim.modbus.count; i++) {
      const id = `sim-mb-${pad(i)}`;
      const s = new ModbusTerminalSimulator({
        host: sim.host, port: sim.modbus.basePort === 0 ? 0 : sim.modbus.basePort + i - 1, meters: sim.modbus.metersPerTerminal, seed: sim.seed * 10_000 + i, ...clock,
      });
      modbus.push(s);
      const { port } = await s.start();
      terminals.push({
        id, name: `Simulated Modbus terminal ${pad(i)}`, protocol: 'modbus', enabled: true, profiles: [...sim.modbus.profiles],
        modbus: { host: sim.host, port, framing: 'tcp', registerMap: sim.modbus.registerMap },
      });
      for (let u = 1; u <= sim.modbus.metersPerTerminal; u++) {
        const mid = `${id}-${u}`;
        const areaId = nextArea();
        meters.push({ id: mid, name: `Meter ${mid}`, terminalId: id, address: String(u), ...SIMULATED_RATING, protected: false, ...(areaId === undefined ? {} : { areaId }), ...customer(mid) });
      }
    }
    for (let i = 1; i <= sim.mqtt.count; i++) {
      const id = `sim-mq-${pad(i)}`;
      const s = new MqttTerminalSimulator({
        url: options.mqttUrl, terminalId: id, meters: sim.mqtt.metersPerTerminal, seed: sim.seed * 20_000 + i,
        publishIntervalMs: sim.mqtt.publishIntervalMs, prefix: options.topicPrefix, ...clock, ...options.mqttLogin?.(id),
      });
      mqtt.push(s);
      terminals.push({ id, name: `Simulated MQTT terminal ${pad(i)}`, protocol: 'mqtt', enabled: true, profiles: [] });
      for (let u = 1; u <= sim.mqtt.metersPerTerminal; u++) {
        const mid = `${id}-${u}`;
        const areaId = nextArea();
        meters.push({ id: mid, name: `Meter ${mid}`, terminalId: id, address: String(u), ...SIMULATED_RATING, protected: false, ...(areaId === undefined ? {} : { areaId }), ...customer(mid) });
      }
    }
    for (let i = 1; i <= sim.dlms.count; i++) {
      const id = `sim-dl-${pad(i)}`;
      const framing = sim.dlms.framing === 'both' ? (i % 2 === 1 ? 'wrapper' : 'hdlc') : sim.dlms.framing;
      // The first `hls` meters require HLS-GMAC with authenticated encryption, under fresh random keys.
      const hls = i <= sim.dlms.hls;
      const mid = `${id}-1`;
      const systemTitle = simulatedSystemTitle(i);
      const meterKeys: SuiteZeroKeys = { ek: randomBytes(16), ak: randomBytes(16) };
      keys.set(mid, hls ? meterKeys : { password: sim.dlms.password });
      const security = hls ? { security: { systemTitle, keys: meterKeys, protection: 'auth-enc' as const } } : {};
      const serialNumber = `SIM${String(i).padStart(5, '0')}`;
      const s = new DlmsMeterSimulator({
        host: sim.host, framing, seed: sim.seed * 30_000 + i, serialNumber, password: sim.dlms.password, ...clock, ...security,
        ...firmwareOf(sim.dlms.firmware, mid),
        push: {
          intervalMs: sim.dlms.pushIntervalMs, terminalId: id, topicPrefix: options.topicPrefix,
          ...(options.mqttLogin === undefined ? {} : { mqttLogin: options.mqttLogin(id) }),
        },
      });
      dlms.push(s);
      const { port } = await s.start();
      const logicalDeviceName = `GRD${serialNumber}`;
      terminals.push({
        id, name: `Simulated DLMS meter ${pad(i)} (${framing}${hls ? ', HLS' : ''})`, protocol: 'dlms', enabled: true, profiles: [...sim.dlms.profiles],
        dlms: hls
          ? { host: sim.host, port, framing, clientSap: HLS_CLIENT, auth: 'high-gmac', security: 'auth-enc', systemTitle: Buffer.from(systemTitle).toString('hex'), meterType: 'gridhead-sim-v1', logicalDeviceName }
          : { host: sim.host, port, framing, clientSap: MANAGEMENT_CLIENT, auth: 'low', security: 'none', meterType: 'gridhead-sim-v1', logicalDeviceName },
      });
      // The meter is its own terminal: address 1 is its management logical device.
      const areaId = nextArea();
      meters.push({ id: mid, name: `Meter ${mid}`, terminalId: id, address: '1', ...SIMULATED_RATING, protected: false, ...(areaId === undefined ? {} : { areaId }), ...customer(mid) });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const targets = new FleetTargets({ terminals, meters, modbus, mqtt, dlms });
  let scenarios: ScenarioRunner;
  try {
    scenarios = new ScenarioRunner(sim.scenarios, targets, {
      clock: options.clock ?? Date.now,
      ...(options.onScenario === undefined ? {} : { onScenario: options.onScenario }),
      ...(options.scenarioTickMs === undefined ? {} : { tickMs: options.scenarioTickMs }),
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    seed: { areas, terminals, meters },
    modbus,
    mqtt,
    dlms,
    scenarios,
    keys,
    startPublishing: () => targets.startMqtt(),
    controlCounts: () => {
      const counts: Record<string, ControlCounts> = {};
      const add = (terminal: string, tally: { addresses(): string[]; of(address: string): ControlCounts }) => {
        for (const address of tally.addresses()) counts[`${terminal}-${address}`] = tally.of(address);
      };
      modbus.forEach((s, i) => { add(`sim-mb-${pad(i + 1)}`, s.controlTally); });
      mqtt.forEach((s) => { add(s.terminalId, s.controlTally); });
      dlms.forEach((s, i) => { add(`sim-dl-${pad(i + 1)}`, s.meter.simulation.controlTally); });
      return counts;
    },
    stop: async () => {
      await scenarios.stop();
      await stopAll();
    },
    startPushing: (to) => {
      dlms.forEach((s, i) => {
        const want = sim.dlms.pushTransport === 'both' ? (i % 2 === 0 ? 'tcp' : 'mqtt') : sim.dlms.pushTransport;
        const tcp = to.tcp === undefined ? undefined : { transport: 'tcp' as const, ...to.tcp };
        const viaMqtt = to.mqttUrl === undefined ? undefined : { transport: 'mqtt' as const, url: to.mqttUrl };
        s.setPushDestination(want === 'tcp' ? tcp ?? viaMqtt : viaMqtt ?? tcp);
      });
    },
  };
}

/** The firmware and nameplate options of simulated DLMS meter `meterId`: its group's, then the section's, then the simulator's defaults. */
function firmwareOf(c: SimulatedFirmwareConfig | undefined, meterId: string): Pick<SimulatedDlmsMeterOptions, 'firmware' | 'model' | 'hardwareVersion'> {
  if (c === undefined) return {};
  const group = c.groups.find((g) => g.meters.includes(meterId));
  return {
    model: group?.model ?? c.model,
    hardwareVersion: group?.hardwareVersion ?? c.hardwareVersion,
    firmware: { imageTransfer: c.imageTransfer, version: group?.version ?? c.version, blockSize: c.blockSize, maxImageBytes: c.maxImageBytes },
  };
}

/** Group meters that are not among the `count` simulated DLMS meters. */
function firmwareGroupIssues(c: SimulatedFirmwareConfig | undefined, count: number): ConfigIssue[] {
  const known = new Set(Array.from({ length: count }, (_, i) => `sim-dl-${pad(i + 1)}-1`));
  return (c?.groups ?? []).flatMap((g, i) => g.meters.flatMap((id, j) => (known.has(id) ? [] : [
    { path: `simulators.dlms.firmware.groups[${i}].meters[${j}]`, message: `no simulated DLMS meter ${JSON.stringify(id)}` },
  ])));
}
