/**
 * The simulated meter's push side: builds data-notifications from its push setups and sends
 * them to the destination the push setup holds (attribute 3), over TCP with the wrapper or as
 * an MQTT binary payload.
 *
 * When it pushes:
 *   - the interval list every `intervalMs` (0: never on a schedule);
 *   - the event list when an event fires: a relay change (remote, manual or limiter), or a
 *     voltage loss / restore. Event pushes are data-notifications whose list carries the
 *     standard event log code object 0.0.96.11.0.255 (not event-notification-requests: a
 *     data-notification also carries the logical device name, so a plain one identifies its
 *     sender, and one decoder serves both kinds). A limiter trip pushes 65 (threshold
 *     exceeded) and then 64 (local disconnection).
 *
 * Wrapper wPorts: source 1, the management logical device that owns the push setups;
 * destination 0x66 (102), the client SAP IDIS-style meters address pushes to. The head-end's
 * listener does not depend on the destination wPort (it identifies senders by content).
 *
 * With `security`, every notification is general-glo-ciphered under the meter's system title
 * and its own invocation counter (incremented per APDU, never reused in this process).
 * Bounded: at most `maxQueued` notifications wait for a connection; older ones are dropped
 * and counted, as a meter with a full push buffer would.
 */
import { encodeCosemDateTime, epochMsToCosemDateTime } from '../../protocols/dlms/axdr/dateTime.js';
import { DLMS_EVENT } from '../../protocols/dlms/push/eventCodes.js';
import { encodePushNotification, type PushCipher } from '../../protocols/dlms/push/notification.js';
import type { ApduProtection, SuiteZeroKeys } from '../../protocols/dlms/security/settings.js';
import type { DisconnectTrigger } from './disconnectControl.js';
import type { PushSetupName, SimulatedDlmsMeter } from './meterObjects.js';
import { openPushTransport, type MqttLogin, type PushTransport } from './pushTransport.js';
import type { PushDestination } from './objects/pushSetup.js';

/** The same shape as the simulator's association security option (branch wt-sec). */
export interface SimulatorSecurity {
  readonly systemTitle: Uint8Array;
  readonly keys: SuiteZeroKeys;
  readonly protection: ApduProtection;
}

export interface DlmsPushSenderOptions {
  readonly meter: SimulatedDlmsMeter;
  /** Terminal id for the MQTT topic. */
  readonly terminalId: string;
  readonly topicPrefix?: string;
  /** What the MQTT push client logs in with. */
  readonly mqttLogin?: MqttLogin;
  /** Scheduled pushes, ms; 0 or absent: none. */
  readonly intervalMs?: number;
  readonly security?: SimulatorSecurity;
  /** First invocation counter used (default 1) when `nextCounter` is not given. */
  readonly initialCounter?: number;
  /**
   * The meter's one outgoing counter under these keys: a meter that also answers ciphered
   * associations must draw pushes from the same sequence, or two APDUs share an IV.
   */
  readonly nextCounter?: () => number;
  readonly maxQueued?: number;
  readonly clock?: () => number;
}

export interface PushSenderStats {
  built: number;
  sent: number;
  dropped: number;
  failed: number;
  lastError?: string;
}

export const PUSH_SOURCE_WPORT = 1;
export const PUSH_DESTINATION_WPORT = 0x66;

export class DlmsPushSender {
  readonly stats: PushSenderStats = { built: 0, sent: 0, dropped: 0, failed: 0 };
  private readonly clock: () => number;
  private counter: number;
  private invokeId = 0;
  private timer: NodeJS.Timeout | undefined;
  private transport: { key: string; t: PushTransport } | undefined;
  private readonly queue: { apdu: Uint8Array; destination: PushDestination | undefined }[] = [];
  private draining = false;
  private stopped = false;
  /** An unreachable meter (outage scenario) sends nothing; pushes due meanwhile are not sent later either. */
  paused = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly o: DlmsPushSenderOptions) {
    this.clock = o.clock ?? Date.now;
    this.counter = o.initialCounter ?? 1;
    o.meter.onPushRequest = (setup) => { this.push(setup); return true; };
    // Deferred: a limiter trip reports from inside the simulation's advance(), which reading
    // the push values would re-enter.
    o.meter.simulation.onRelayChange = (trigger, connected) => {
      queueMicrotask(() => {
        try {
          this.relayChanged(trigger, connected);
        } catch (err) {
          this.fail(err instanceof Error ? err.message : String(err));
        }
      });
    };
  }

  start(): void {
    const every = this.o.intervalMs ?? 0;
    if (every > 0 && this.timer === undefined) {
      this.timer = setInterval(() => { this.push('interval'); }, every);
      this.timer.unref();
    }
  }

  /** Builds one notification of `setup` now and queues it for sending. */
  push(setup: PushSetupName): void {
    if (this.stopped || this.paused) return;
    const now = this.clock();
    const meter = this.o.meter;
    const values = meter.pushValues(setup, now);
    const dateTime = encodeCosemDateTime(epochMsToCosemDateTime(meter.simulation.clock.reading(now), meter.simulation.clock.deviationMinutes));
    this.invokeId = (this.invokeId + 1) & 0xffffff;
    const apdu = encodePushNotification({ list: meter.pushSetups[setup].list, values, dateTime, invokeId: this.invokeId }, this.cipher());
    this.stats.built += 1;
    this.queue.push({ apdu, destination: meter.pushSetups[setup].destination });
    while (this.queue.length > (this.o.maxQueued ?? 64)) {
      this.queue.shift();
      this.stats.dropped += 1;
    }
    this.idle = this.drain();
  }

  /** Records `code` in the standard event log code object and pushes the event list. */
  pushEvent(code: number): void {
    this.o.meter.eventCode = code;
    this.push('event');
  }

  /** Resolves when everything queued so far was sent or given up. */
  flushed(): Promise<void> {
    return this.idle;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    await this.idle.catch(() => undefined);
    await this.transport?.t.close();
    this.transport = undefined;
  }

  private relayChanged(trigger: DisconnectTrigger, connected: boolean): void {
    const source = trigger.split('_')[0];
    // The limiter's threshold event comes first, then the relay's (IDIS disconnector control log).
    if (source === 'local') this.pushEvent(connected ? DLMS_EVENT.limiterThresholdOk : DLMS_EVENT.limiterThresholdExceeded);
    const code = source === 'remote'
      ? (connected ? DLMS_EVENT.remoteConnection : DLMS_EVENT.remoteDisconnection)
      : source === 'manual'
        ? (connected ? DLMS_EVENT.manualConnection : DLMS_EVENT.manualDisconnection)
        : (connected ? DLMS_EVENT.localReconnection : DLMS_EVENT.localDisconnection);
    this.pushEvent(code);
  }

  private cipher(): PushCipher | undefined {
    const s = this.o.security;
    if (s === undefined || s.protection === 'none') return undefined;
    if (this.o.nextCounter !== undefined) {
      return { systemTitle: s.systemTitle, keys: s.keys, protection: s.protection, invocationCounter: this.o.nextCounter() };
    }
    const invocationCounter = this.counter;
    // IEC 62056-5-3 §5.3.4.4: never reuse a counter under one key; stop rather than wrap.
    if (invocationCounter > 0xffffffff) throw new RangeError('push invocation counter exhausted');
    this.counter += 1;
    return { systemTitle: s.systemTitle, keys: s.keys, protection: s.protection, invocationCounter };
  }

  private async drain(): Promise<void> {
    if (this.draining) return this.idle;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const next = this.queue[0];
        if (next === undefined) break;
        if (next.destination === undefined) {
          this.queue.shift();
          this.fail('no push destination set');
          continue;
        }
        try {
          await (await this.transportFor(next.destination)).send(next.apdu);
          this.queue.shift();
          this.stats.sent += 1;
        } catch (err) {
          // A meter retries on its next push; what is queued waits for it (bounded above).
          this.fail(err instanceof Error ? err.message : String(err));
          await this.transport?.t.close();
          this.transport = undefined;
          return;
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async transportFor(d: PushDestination): Promise<PushTransport> {
    const key = d.transport === 'tcp' ? `tcp:${d.host}:${d.port}` : `mqtt:${d.url}`;
    if (this.transport?.key === key) return this.transport.t;
    await this.transport?.t.close();
    this.transport = undefined;
    const t = await openPushTransport(d, {
      terminalId: this.o.terminalId,
      topicPrefix: this.o.topicPrefix ?? 'gridhead/v1',
      ...(this.o.mqttLogin === undefined ? {} : { mqttLogin: this.o.mqttLogin }),
      sourceWPort: PUSH_SOURCE_WPORT,
      destinationWPort: PUSH_DESTINATION_WPORT,
    });
    this.transport = { key, t };
    return t;
  }

  private fail(message: string): void {
    this.stats.failed += 1;
    this.stats.lastError = message;
  }
}
