/**
 * A simulated MQTT terminal: one mqtt.js client publishing telemetry for its meters under
 * the gridhead convention (protocols/mqtt/README.md), with birth and last will.
 */
import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { disconnect, withDeadline } from '../../protocols/mqtt/disconnect.js';
import { encodeTelemetry, type TelemetryMessage } from '../../protocols/mqtt/payload.js';
import { encodeStatus } from '../../protocols/mqtt/status.js';
import { encodeEvents } from '../../protocols/mqtt/events.js';
import { DEFAULT_TOPIC_PREFIX, eventsTopic, isTerminalId, statusTopic, telemetryTopic } from '../../protocols/mqtt/topics.js';
import { commandResponseTopic, commandTopic, encodeJson, parseCommand, type CommandMessage, type CommandResponse } from '../../protocols/mqtt/commands.js';
import { otaOfferTopic } from '../../protocols/mqtt/ota.js';
import { ControlTally } from '../controlTally.js';
import { SimulatedOta, type SimulatedOtaOptions, type SimulatedOtaStats } from './ota.js';
import { MeterModel, type MeterState } from '../loadShape.js';

export interface MqttTerminalSimulatorOptions {
  readonly url: string;
  readonly terminalId: string;
  /** A count (addresses "1".."N") or the meters' addresses on this terminal. */
  readonly meters: number | readonly string[];
  /** Seeds the meters' load shapes; the same seed serves the same values. */
  readonly seed: number;
  readonly publishIntervalMs: number;
  /** Default `gridhead/v1`. */
  readonly prefix?: string;
  /** Device clock, ms epoch. Default `Date.now`. */
  readonly clock?: () => number;
  readonly username?: string;
  readonly password?: string;
  /** Default 1000 ms. */
  readonly reconnectPeriodMs?: number;
  /** Firmware version at start and OTA behaviour (simulators/mqtt/ota.ts). */
  readonly ota?: SimulatedOtaOptions;
}

export interface MqttTerminalSimulatorStats {
  /** Telemetry messages the broker acknowledged. */
  readonly published: number;
  readonly readings: number;
  /** Periodic publishes skipped while disconnected (a real terminal would buffer; we stay bounded). */
  readonly skipped: number;
  readonly errors: number;
  /** Commands received on the command topic (answered or not). */
  readonly commands: number;
  readonly ota: SimulatedOtaStats;
}

/** A simulated meter's relay and limit: disconnected ⇒ its power and currents read 0. */
export interface MeterControlState {
  connected: boolean;
  limitKw: number | null;
}

export interface BurstOptions {
  /** Device-time step between consecutive messages; default 1 ms, so every reading has its own timestamp. */
  readonly stepMs?: number;
  /** Messages awaiting PUBACK at once. Default 64. */
  readonly maxInflight?: number;
}

export class MqttTerminalSimulator {
  readonly terminalId: string;
  /** The relay and limit commands each meter executed, by meter address. */
  readonly controlTally = new ControlTally();
  private readonly prefix: string;
  private readonly clock: () => number;
  private readonly meters: readonly { readonly address: string; readonly model: MeterModel }[];
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private published = 0;
  private readings = 0;
  private skipped = 0;
  private errors = 0;
  private commands = 0;
  private readonly controls = new Map<string, MeterControlState>();
  /** Device clock minus the simulator clock, set by sync-clock. */
  private clockOffsetMs = 0;
  private readonly ota: SimulatedOta;

  constructor(private readonly options: MqttTerminalSimulatorOptions) {
    if (!isTerminalId(options.terminalId)) throw new RangeError(`invalid terminal id "${options.terminalId}"`);
    this.terminalId = options.terminalId;
    this.prefix = options.prefix ?? DEFAULT_TOPIC_PREFIX;
    this.clock = options.clock ?? Date.now;
    const addresses = typeof options.meters === 'number'
      ? Array.from({ length: options.meters }, (_, i) => String(i + 1))
      : options.meters;
    if (addresses.length === 0) throw new RangeError('a terminal needs at least one meter');
    const startTs = this.clock();
    this.meters = addresses.map((address, i) => ({
      address,
      model: new MeterModel({ seed: (Math.imul(options.seed, 1_000_003) + i) | 0, startTs }),
    }));
    this.ota = new SimulatedOta({
      prefix: this.prefix,
      terminalId: this.terminalId,
      publish: async (topic, payload) => {
        if (this.client === undefined) throw new Error('simulator not started');
        await this.client.publishAsync(topic, payload, { qos: 1 });
      },
      // The retained birth carries the version, so the station learns it on every (re)subscription too.
      activated: () => { this.publishBirth(); },
    }, options.ota);
  }

  /** Connects (subscription, birth, then a first publish) and publishes every `publishIntervalMs`. Rejects if the first connection fails. */
  async start(): Promise<void> {
    if (this.client !== undefined) throw new Error('simulator already started');
    const status = statusTopic(this.prefix, this.terminalId);
    const client = mqtt.connect(this.options.url, {
      clientId: simulatorClientId(this.terminalId),
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: this.options.reconnectPeriodMs ?? 1000,
      // MQTT 3.1.1 §3.1.2.5: the broker publishes this if we vanish without DISCONNECT.
      will: { topic: status, payload: encodeStatus(false), qos: 1, retain: true },
      ...(this.options.username === undefined ? {} : { username: this.options.username }),
      ...(this.options.password === undefined ? {} : { password: this.options.password }),
    });
    this.client = client;
    const offers = otaOfferTopic(this.prefix, this.terminalId);
    let listening: () => void = () => undefined;
    const subscribed = new Promise<void>((resolve) => { listening = resolve; });
    client.on('message', (topic, payload) => {
      if (topic === offers) {
        this.ota.handle(payload);
        return;
      }
      if (topic !== commandTopic(this.prefix, this.terminalId)) return;
      this.commands += 1;
      const command = parseCommand(payload);
      if (command === undefined) return; // a real terminal ignores what it cannot parse; the head-end times out
      client.publish(commandResponseTopic(this.prefix, this.terminalId), encodeJson(this.apply(command)), { qos: 1 }, (err) => {
        if (err) this.errors += 1;
      });
    });
    client.on('connect', () => {
      client.subscribe([commandTopic(this.prefix, this.terminalId), offers], { qos: 1 }, (err) => {
        if (err) this.errors += 1;
        listening();
      });
      this.publishBirth();
      this.publishNow().catch(() => {
        this.errors += 1;
      });
    });
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        client.off('connect', onConnect);
        client.end(true);
        this.client = undefined;
        reject(err);
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
    client.on('error', () => {
      this.errors += 1;
    });
    // A command or an offer sent as soon as start() resolves must find the terminal listening.
    await subscribed;
    this.timer = setInterval(() => {
      if (!client.connected) {
        this.skipped += 1;
        return;
      }
      this.publishNow().catch(() => {
        this.errors += 1;
      });
    }, this.options.publishIntervalMs);
  }

  /** Publishes one telemetry message for every meter at the device clock's now; resolves with its reading count after PUBACK. */
  async publishNow(): Promise<number> {
    return this.publishAt(this.clock());
  }

  /**
   * Publishes `messages` telemetry messages back to back, at most `maxInflight` awaiting
   * PUBACK, with device time stepping up to now. For ingest benchmarks.
   */
  async publishBurst(messages: number, options: BurstOptions = {}): Promise<{ messages: number; readings: number }> {
    const stepMs = options.stepMs ?? 1;
    const start = this.clock() - messages * stepMs;
    let next = 0;
    let readings = 0;
    const worker = async () => {
      while (next < messages) {
        const i = next++;
        // Not `readings += await …`: that reads `readings` before the await and loses the other workers' counts.
        const count = await this.publishAt(start + (i + 1) * stepMs);
        readings += count;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.maxInflight ?? 64, messages)) }, worker));
    return { messages, readings };
  }

  /**
   * Publishes one device event of the meter at `address` (events convention,
   * protocols/mqtt/README.md) at the device clock's now; resolves after PUBACK.
   */
  async publishEvent(address: string, code: string, detail?: string): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new Error('simulator not started');
    const event = { meter: address, code, ts: this.clock(), ...(detail === undefined ? {} : { detail }) };
    await client.publishAsync(eventsTopic(this.prefix, this.terminalId), encodeEvents({ events: [event] }), { qos: 1 });
  }

  /** The firmware version the terminal runs (changed by an OTA activation). */
  get firmwareVersion(): string {
    return this.ota.firmwareVersion;
  }

  /** Stops publishing, announces offline (retained) and disconnects cleanly. */
  async stop(): Promise<void> {
    const client = this.detach();
    if (client === undefined) return;
    if (client.connected) {
      const announced = await withDeadline(
        client.publishAsync(statusTopic(this.prefix, this.terminalId), encodeStatus(false, this.clock()), { qos: 1, retain: true }),
        2_000,
      ).catch(() => 'late' as const);
      if (announced === 'late') this.errors += 1;
    }
    await disconnect(client);
  }

  /** The load model of the meter at `address` (scenarios set its effects). */
  meterModel(address: string): MeterModel | undefined {
    return this.meters.find((m) => m.address === address)?.model;
  }

  /** Whether the terminal is connected or connecting (started and neither stopped nor crashed). */
  get running(): boolean {
    return this.client !== undefined;
  }

  /** Drops the connection without DISCONNECT, as a terminal losing power does: the broker publishes the last will. */
  async crash(): Promise<void> {
    await this.detach()?.endAsync(true);
  }

  stats(): MqttTerminalSimulatorStats {
    return { published: this.published, readings: this.readings, skipped: this.skipped, errors: this.errors, commands: this.commands, ota: this.ota.stats() };
  }

  /** The relay and limit of the meter at `address` (undefined for an unknown address). */
  controlState(address: string): Readonly<MeterControlState> | undefined {
    if (!this.meters.some((m) => m.address === address)) return undefined;
    return { ...this.controlOf(address) };
  }

  /** Executes one command on the simulated meter and builds the response (README.md, "Commands"). */
  private apply(c: CommandMessage): CommandResponse {
    if (!this.meters.some((m) => m.address === c.meter)) return { id: c.id, status: 'error', error: `no meter at address ${c.meter}` };
    const state = this.controlOf(c.meter);
    switch (c.type) {
      case 'disconnect':
      case 'reconnect':
        this.controlTally.record(c.meter, c.type);
        state.connected = c.type === 'reconnect';
        return { id: c.id, status: 'ok', state: { connected: state.connected } };
      case 'set-limit':
        if (c.params.limitKw === undefined || c.params.limitKw < 0) return { id: c.id, status: 'error', error: 'set-limit needs limitKw ≥ 0' };
        this.controlTally.record(c.meter, 'set-limit');
        state.limitKw = c.params.limitKw;
        return { id: c.id, status: 'ok', state: { limitKw: state.limitKw } };
      case 'clear-limit':
        this.controlTally.record(c.meter, 'clear-limit');
        state.limitKw = null;
        return { id: c.id, status: 'ok', state: { limitKw: null } };
      case 'sync-clock':
        if (c.params.time === undefined) return { id: c.id, status: 'error', error: 'sync-clock needs time' };
        this.clockOffsetMs = c.params.time - this.clock();
        return { id: c.id, status: 'ok', state: { clock: this.clock() + this.clockOffsetMs } };
      case 'read-state':
        return { id: c.id, status: 'ok', state: c.params.of === 'limit' ? { limitKw: state.limitKw } : { connected: state.connected } };
    }
  }

  /** Status birth (retained): online, the device time, the firmware it runs. */
  private publishBirth(): void {
    this.client?.publish(statusTopic(this.prefix, this.terminalId), encodeStatus(true, this.clock(), this.ota.firmwareVersion), { qos: 1, retain: true }, (err) => {
      if (err) this.errors += 1;
    });
  }

  private controlOf(address: string): MeterControlState {
    let state = this.controls.get(address);
    if (state === undefined) this.controls.set(address, (state = { connected: true, limitKw: null }));
    return state;
  }

  private async publishAt(ts: number): Promise<number> {
    const client = this.client;
    if (client === undefined) throw new Error('simulator not started');
    const message: TelemetryMessage = {
      ts,
      meters: this.meters.map(({ address, model }) => ({ address, values: relayApplied(catalogueValues(model.advance(ts)), this.controls.get(address)) })),
    };
    const count = message.meters.reduce((n, m) => n + Object.keys(m.values).length, 0);
    await client.publishAsync(telemetryTopic(this.prefix, this.terminalId), encodeTelemetry(message), { qos: 1 });
    this.published += 1;
    this.readings += count;
    return count;
  }

  private detach(): MqttClient | undefined {
    clearInterval(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    return client;
  }
}

/** A meter state as catalogue quantities (src/domain/quantity.ts), rounded to what a meter displays. */
export function catalogueValues(s: MeterState): Record<string, number> {
  const [t1, t2, t3, t4] = s.energyActiveImportTariff;
  return {
    'energy.active.import': round(s.energyActiveImport, 3),
    'energy.active.import.t1': round(t1, 3),
    'energy.active.import.t2': round(t2, 3),
    'energy.active.import.t3': round(t3, 3),
    'energy.active.import.t4': round(t4, 3),
    'energy.active.export': round(s.energyActiveExport, 3),
    'energy.reactive.import': round(s.energyReactiveImport, 3),
    'energy.reactive.export': round(s.energyReactiveExport, 3),
    'power.active': round(s.powerActive, 4),
    'power.active.l1': round(s.powerActiveL[0], 4),
    'power.active.l2': round(s.powerActiveL[1], 4),
    'power.active.l3': round(s.powerActiveL[2], 4),
    'power.reactive': round(s.powerReactive, 4),
    'voltage.l1': round(s.voltage[0], 2),
    'voltage.l2': round(s.voltage[1], 2),
    'voltage.l3': round(s.voltage[2], 2),
    'current.l1': round(s.current[0], 3),
    'current.l2': round(s.current[1], 3),
    'current.l3': round(s.current[2], 3),
    'power.factor': round(s.powerFactor, 3),
    'frequency': round(s.frequency, 3),
    'demand.active.max': round(s.maxDemand, 4),
  };
}

/** An open relay: no power flows and no current, whatever the load model says. */
function relayApplied(values: Record<string, number>, control: MeterControlState | undefined): Record<string, number> {
  if (control === undefined || control.connected) return values;
  for (const q of ['power.active', 'power.active.l1', 'power.active.l2', 'power.active.l3', 'power.reactive', 'current.l1', 'current.l2', 'current.l3']) values[q] = 0;
  return values;
}

/**
 * MQTT 3.1.1 §3.1.3.1 only obliges brokers to accept 23-character client ids (aedes holds
 * to it); a longer terminal id is hashed rather than cut, so two terminals never collide.
 */
export function simulatorClientId(terminalId: string): string {
  const id = `sim-${terminalId}`;
  return id.length <= 23 ? id : `sim-${createHash('sha256').update(terminalId).digest('hex').slice(0, 19)}`;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
