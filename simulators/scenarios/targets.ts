/**
 * The fleet's meters and terminals as scenario targets: the load model behind each meter id,
 * and how each kind of terminal goes off the air and comes back.
 *
 * - Modbus: the listener stays; every connection is dropped and each new one closed at once.
 * - DLMS: every connection is dropped instead of answered (link set-up or AARQ never completes).
 * - MQTT: the client vanishes without DISCONNECT, so the broker publishes its last will
 *   (status offline, retained); back on the air it reconnects with a birth message.
 */
import type { DlmsMeterSimulator } from '../dlms/server.js';
import { DLMS_EVENT } from '../../protocols/dlms/push/eventCodes.js';
import type { MeterModel } from '../loadShape.js';
import type { ModbusTerminalSimulator } from '../modbus/terminal.js';
import type { MqttTerminalSimulator } from '../mqtt/terminal.js';
import type { SimulatedMeter, SimulatedTerminal } from '../seed.js';
import type { MeterTarget, ScenarioTargets, TerminalTarget } from './runner.js';

export interface FleetParts {
  /** Terminal seeds of each protocol in the order of the simulators below. */
  readonly terminals: readonly SimulatedTerminal[];
  readonly meters: readonly SimulatedMeter[];
  readonly modbus: readonly ModbusTerminalSimulator[];
  readonly mqtt: readonly MqttTerminalSimulator[];
  readonly dlms: readonly DlmsMeterSimulator[];
}

export class FleetTargets implements ScenarioTargets {
  readonly meters = new Map<string, MeterTarget>();
  readonly terminals = new Map<string, TerminalTarget>();
  /** MQTT terminals off the air now; they are not started with the others. */
  private readonly mqttDown = new Set<MqttTerminalSimulator>();
  private publishing = false;

  constructor(private readonly parts: FleetParts) {
    const ofProtocol = (p: SimulatedTerminal['protocol']) => parts.terminals.filter((t) => t.protocol === p);
    ofProtocol('modbus').forEach((t, i) => {
      const sim = parts.modbus[i];
      if (sim !== undefined) this.addTerminal(t, (address) => sim.meterModel(Number(address)), (r) => { sim.setReachable(r); return Promise.resolve(); });
    });
    ofProtocol('mqtt').forEach((t, i) => {
      const sim = parts.mqtt[i];
      if (sim !== undefined) this.addTerminal(t, (address) => sim.meterModel(address), (r) => this.setMqttReachable(sim, r));
    });
    ofProtocol('dlms').forEach((t, i) => {
      const sim = parts.dlms[i];
      if (sim === undefined) return;
      this.addTerminal(t, () => sim.meter.simulation.model, (r) => { sim.setReachable(r); return Promise.resolve(); }, {
        shiftClock: (ms, now) => {
          sim.meter.tick(now);
          const s = sim.meter.simulation;
          // Moves the clock itself, as a crystal running fast would have: capture schedules follow it.
          s.clock.set(s.clock.reading(s.time) + ms, s.time);
        },
        coverOpened: (open) => { sim.pushes.pushEvent(open ? DLMS_EVENT.meterCoverRemoved : DLMS_EVENT.meterCoverClosed); },
        ...(sim.meter.firmware.imageTransfer ? { dropConnectionAtBlock: (block: number | undefined) => { sim.meter.firmware.dropAtBlock = block; } } : {}),
      });
    });
  }

  /** Starts the MQTT terminals that are on the air; the others start when their outage ends. */
  async startMqtt(): Promise<void> {
    this.publishing = true;
    await Promise.all(this.parts.mqtt.filter((s) => !this.mqttDown.has(s)).map((s) => s.start()));
  }

  private addTerminal(
    t: SimulatedTerminal,
    modelOf: (address: string) => MeterModel | undefined,
    setReachable: (reachable: boolean) => Promise<void>,
    dlms?: Required<Pick<MeterTarget, 'shiftClock' | 'coverOpened'>> & Pick<MeterTarget, 'dropConnectionAtBlock'>,
  ): void {
    const meters = this.parts.meters.filter((m) => m.terminalId === t.id);
    this.terminals.set(t.id, { id: t.id, protocol: t.protocol, meterIds: meters.map((m) => m.id), setReachable });
    for (const m of meters) {
      const model = modelOf(m.address);
      if (model === undefined) throw new Error(`simulated terminal ${t.id} has no meter at address ${m.address}`);
      this.meters.set(m.id, { id: m.id, protocol: t.protocol, model, ...dlms });
    }
  }

  private async setMqttReachable(sim: MqttTerminalSimulator, reachable: boolean): Promise<void> {
    if (!reachable) {
      this.mqttDown.add(sim);
      if (sim.running) await sim.crash();
      return;
    }
    this.mqttDown.delete(sim);
    if (this.publishing && !sim.running) await sim.start();
  }
}
