/**
 * A simulated DLMS meter on the network: the COSEM object model (meterObjects.ts) behind the
 * server engine (protocols/dlms/server) on a TCP listener speaking the wrapper or HDLC.
 *
 * Client SAPs, as common meters offer them: 16 public client (no security, read-only),
 * 1 management client (low-level security with the meter's password, read-write) and, when
 * `security` is given, 48 an HLS-GMAC management client (read-write) whose APDUs carry the
 * configured protection.
 */
import type { DlmsFraming } from '../../protocols/dlms/net/clientTransport.js';
import { startDlmsListener, type DlmsFaults, type DlmsListener } from '../../protocols/dlms/net/server.js';
import { ServerAssociation } from '../../protocols/dlms/server/engine.js';
import type { ClientPolicy } from '../../protocols/dlms/server/options.js';
import { MemorySecurityCounters } from '../../protocols/dlms/security/memoryCounters.js';
import type { ApduProtection, SecurityEvent, SuiteZeroKeys } from '../../protocols/dlms/security/settings.js';
import { SimulatedDlmsMeter, type SimulatedDlmsMeterOptions } from './meterObjects.js';
import { MANAGEMENT_LOGICAL_DEVICE } from './meterSimulation.js';
import type { PushDestination } from './objects/pushSetup.js';
import { DlmsPushSender } from './pushSender.js';
import type { MqttLogin } from './pushTransport.js';
import { DLMS_EVENT } from '../../protocols/dlms/push/eventCodes.js';

export const PUBLIC_CLIENT = 16;
export const MANAGEMENT_CLIENT = 1;
export { MANAGEMENT_LOGICAL_DEVICE } from './meterSimulation.js';
/** The HLS-GMAC management client (a common choice among IDIS/DSMR meters). */
export const HLS_CLIENT = 48;

export interface DlmsMeterSecurity {
  /** The meter's system title (8 octets). */
  readonly systemTitle: Uint8Array;
  readonly keys: SuiteZeroKeys;
  readonly protection: ApduProtection;
}

export interface DlmsMeterSimulatorOptions extends Omit<SimulatedDlmsMeterOptions, 'startTs'> {
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly framing: DlmsFraming;
  readonly startTs?: number;
  /** Largest APDU the meter accepts (its max receive PDU size). */
  readonly maxPduSize?: number;
  /** Mutable while running: slow replies, dropped connections, corrupt frames. */
  readonly faults?: DlmsFaults;
  /** Refuse every association (a meter that is locked out or misconfigured). */
  readonly refuseAssociations?: boolean;
  readonly clock?: () => number;
  /** Pushes (data-notifications): schedule and identity; the destination is the push setups' attribute 3. */
  readonly push?: {
    /** Scheduled pushes, ms; 0: only event pushes and method 1. */
    readonly intervalMs?: number;
    /** Terminal id in the MQTT topic (default the logical device name). */
    readonly terminalId?: string;
    readonly topicPrefix?: string;
    /** What the MQTT push client logs in with. */
    readonly mqttLogin?: MqttLogin;
  };
  /** HLS-GMAC with suite 0 for client 48; without it client 48 is refused. Pushes are general-glo-ciphered with it unless protection is 'none'. */
  readonly security?: DlmsMeterSecurity;
}

export class DlmsMeterSimulator {
  readonly meter: SimulatedDlmsMeter;
  readonly faults: DlmsFaults;
  private listener: DlmsListener | undefined;
  private readonly clock: () => number;
  private ticker: NodeJS.Timeout | undefined;
  /** The drop probability in force before an outage, restored when it ends. */
  private dropBeforeOutage: number | undefined;
  /** Sends this meter's pushes (to nowhere until a destination is set). */
  readonly pushes: DlmsPushSender;
  /** The meter's counters toward client 48: they outlive each association, as a real meter's do. */
  readonly hlsCounters = new MemorySecurityCounters();
  /** Security refusals (bad tags, replays, failed HLS, plain requests on a ciphered association). */
  readonly securityEvents: SecurityEvent[] = [];

  constructor(private readonly options: DlmsMeterSimulatorOptions) {
    this.clock = options.clock ?? Date.now;
    this.faults = options.faults ?? {};
    this.meter = new SimulatedDlmsMeter({ ...options, startTs: options.startTs ?? this.clock() });
    // The model asks for its connection to break (a firmware-drop scenario): the reply it was answering is never sent.
    this.meter.firmware.onConnectionDrop = () => { this.faults.dropNextReply = true; };
    this.pushes = new DlmsPushSender({
      meter: this.meter,
      terminalId: options.push?.terminalId ?? options.logicalDeviceName ?? `GRD${options.serialNumber}`,
      ...(options.push?.topicPrefix === undefined ? {} : { topicPrefix: options.push.topicPrefix }),
      ...(options.push?.mqttLogin === undefined ? {} : { mqttLogin: options.push.mqttLogin }),
      ...(options.push?.intervalMs === undefined ? {} : { intervalMs: options.push.intervalMs }),
      ...(options.security === undefined ? {} : { security: options.security, nextCounter: () => this.hlsCounters.nextOutgoing() }),
      clock: this.clock,
    });
  }

  /** Points both push setups at `destination` (as writing their attribute 3 would). */
  setPushDestination(destination: PushDestination | undefined): void {
    this.meter.pushSetups.interval.destination = destination;
    this.meter.pushSetups.event.destination = destination;
  }

  /** Simulates a loss (true) or return (false) of supply voltage now, and pushes the event. */
  injectVoltageLoss(on: boolean): void {
    this.meter.tick(this.clock());
    this.meter.simulation.setVoltageLoss(on);
    this.pushes.pushEvent(on ? DLMS_EVENT.missingVoltageL1 : DLMS_EVENT.voltageNormalL1);
  }

  get port(): number {
    if (this.listener === undefined) throw new Error('the DLMS meter simulator is not started');
    return this.listener.port;
  }

  async start(): Promise<{ port: number }> {
    this.listener = await startDlmsListener({
      host: this.options.host ?? '127.0.0.1',
      port: this.options.port ?? 0,
      framing: this.options.framing,
      serverSap: MANAGEMENT_LOGICAL_DEVICE,
      faults: this.faults,
      newResponder: () => new ServerAssociation({
        model: this.meter,
        clientPolicies: this.options.refuseAssociations === true ? {} : this.policies(),
        ...(this.options.maxPduSize === undefined ? {} : { serverMaxReceivePduSize: this.options.maxPduSize }),
        clock: this.clock,
        onSecurityEvent: (event) => {
          // Bounded: a client hammering the meter with forged APDUs must not grow memory.
          if (this.securityEvents.length >= 1_000) this.securityEvents.shift();
          this.securityEvents.push(event);
        },
      }),
    });
    // The limiter must trip on time even when nobody reads the meter.
    this.ticker = setInterval(() => { this.meter.tick(this.clock()); }, 1_000);
    this.ticker.unref();
    this.pushes.start();
    return { port: this.listener.port };
  }

  /**
   * An unreachable meter (an outage scenario) drops a connection instead of sending any reply,
   * so no client gets past the link set-up or the AARQ; reachable again restores the faults.
   */
  setReachable(reachable: boolean): void {
    this.pushes.paused = !reachable;
    if (!reachable && this.dropBeforeOutage === undefined) {
      this.dropBeforeOutage = this.faults.dropProbability ?? 0;
      this.faults.dropProbability = 1;
    } else if (reachable && this.dropBeforeOutage !== undefined) {
      this.faults.dropProbability = this.dropBeforeOutage;
      this.dropBeforeOutage = undefined;
    }
  }

  private policies(): Record<number, ClientPolicy> {
    const policies: Record<number, ClientPolicy> = {
      [PUBLIC_CLIENT]: { mechanism: 'none', access: 'read-only' },
      // The secret in force now: a client may have changed it through the association object.
      [MANAGEMENT_CLIENT]: { mechanism: 'low', password: this.meter.password, access: 'read-write' },
    };
    const s = this.options.security;
    if (s !== undefined) {
      policies[HLS_CLIENT] = {
        mechanism: 'high-gmac', access: 'read-write',
        security: { protection: s.protection, systemTitle: s.systemTitle, keys: s.keys, counters: this.hlsCounters },
      };
    }
    return policies;
  }

  async stop(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    await this.pushes.stop();
    await this.listener?.close();
    this.listener = undefined;
  }
}
