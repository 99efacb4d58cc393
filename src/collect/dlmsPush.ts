/**
 * Pushed DLMS data-notifications → RawReadings and RawDeviceEvents for the pipeline.
 *
 * Who sent it:
 *   - a ciphered push names its system title; the key store (`PushSecurity`) ties that to a
 *     meter, and only a push that deciphers under that meter's keys with a fresh counter is
 *     taken (a replayed or tampered one is dropped and reported as a security event);
 *   - a plain push is identified by its logical device name (a DLMS terminal's endpoint
 *     `logicalDeviceName`); a terminal set up for ciphering (`security` other than 'none')
 *     never has a plain push accepted in its name (security event 'policy-violation');
 *   - over MQTT the topic's terminal id must also be the sender's terminal.
 * An unknown sender, an undecodable APDU and everything dropped is counted and reported
 * through `onProblem` (the caller rate-limits the log line).
 *
 * Values: registers (IC 3/4 attribute 2) whose OBIS the catalogue knows become readings at
 * the push's device time. Pushes carry raw values, so the scaler_unit comes from
 * `PushScalerSource` (dlmsPushScalers.ts: a per-meter cache filled by reading attribute 3
 * over an association). The standard event log code (0.0.96.11.0.255) becomes a device
 * event with the DLMS code in its detail.
 */
import type { RawDeviceEvent, RawReading } from '../../protocols/adapter.js';
import { scaled } from '../../protocols/dlms/client/scaler.js';
import { catalogueExponent, type ScalerUnit } from '../../protocols/dlms/cosem/units.js';
import { DlmsDecodeError } from '../../protocols/dlms/errors.js';
import type { PushOrigin } from '../../protocols/dlms/net/pushListener.js';
import type { MqttPushOrigin } from '../../protocols/dlms/net/pushMqtt.js';
import { describeDlmsEvent } from '../../protocols/dlms/push/eventCodes.js';
import {
  DlmsPushError, decodePushNotification, type PushNotification, type PushSecurity,
} from '../../protocols/dlms/push/notification.js';
import { PUSH_OBIS, type PushObjectList } from '../../protocols/dlms/push/pushObjects.js';
import { GENERAL_GLO_CIPHERING_TAG, parseCipheredApdu } from '../../protocols/dlms/security/ciphering.js';
import { DlmsSecurityError } from '../../protocols/dlms/security/securityError.js';
import type { SecurityEvent } from '../../protocols/dlms/security/settings.js';
import { isDeviceEventCode, type Meter, type Terminal } from '../domain/index.js';
import type { PushScalerSource } from './dlmsPushScalers.js';

export type PushOriginOf = PushOrigin | MqttPushOrigin;

/** The registry as the receiver needs it. */
export interface PushDirectory {
  listTerminals(): Terminal[];
  findTerminal(id: string): Terminal | undefined;
  findMeter(id: string): Meter | undefined;
  metersOfTerminal(id: string): Meter[];
}

export type PushProblemCode =
  | 'decode' | 'not-a-push' | 'unknown-sender' | 'sender-mismatch' | 'security' | 'no-scaler' | 'sink';

export interface DlmsPushReceiverOptions {
  readonly directory: PushDirectory;
  /** Quantity → OBIS and catalogue unit. */
  readonly catalogue: Readonly<Record<string, { readonly obis: string; readonly unit: string }>>;
  readonly scalers: PushScalerSource;
  readonly security?: PushSecurity;
  readonly lists?: readonly PushObjectList[];
  readonly maxApduBytes?: number;
  readonly readings: (batch: readonly RawReading[]) => void | Promise<void>;
  readonly events: (batch: readonly RawDeviceEvent[]) => void | Promise<void>;
  readonly onSecurityEvent?: (event: SecurityEvent & { readonly meterId?: string; readonly terminalId?: string }) => void;
  /** `sender` is a terminal id, system title or peer address: what is known of the sender. */
  readonly onProblem?: (code: PushProblemCode, sender: string, detail: string) => void;
  readonly now?: () => number;
}

export interface DlmsPushCounters {
  received: number;
  accepted: number;
  readings: number;
  events: number;
  dropped: Record<PushProblemCode, number>;
}

export class DlmsPushReceiver {
  readonly counters: DlmsPushCounters = {
    received: 0, accepted: 0, readings: 0, events: 0,
    dropped: { decode: 0, 'not-a-push': 0, 'unknown-sender': 0, 'sender-mismatch': 0, security: 0, 'no-scaler': 0, sink: 0 },
  };
  private byName: Map<string, string> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: DlmsPushReceiverOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The registry changed: the logical device name index is rebuilt on the next plain push. */
  invalidate(): void {
    this.byName = undefined;
  }

  /** Handles one pushed APDU; never throws (every failure is counted and reported). */
  async handle(apdu: Uint8Array, origin: PushOriginOf): Promise<void> {
    this.counters.received += 1;
    const from = origin.kind === 'tcp' ? origin.remote : origin.terminalId;
    const n = this.decode(apdu, from);
    if (n === undefined) return;
    const sender = this.identify(n, origin, from);
    if (sender === undefined) return;
    const { terminal, address } = sender;
    const ts = n.ts ?? this.now();
    const readings = await this.readingsOf(n, terminal, address, ts);
    const events = this.eventsOf(n, terminal.id, address, ts);
    this.counters.accepted += 1;
    try {
      if (readings.length > 0) await this.o.readings(readings);
      if (events.length > 0) await this.o.events(events);
      this.counters.readings += readings.length;
      this.counters.events += events.length;
    } catch (err) {
      this.drop('sink', terminal.id, err instanceof Error ? err.message : String(err));
    }
  }

  private decode(apdu: Uint8Array, from: string): PushNotification | undefined {
    try {
      return decodePushNotification(apdu, {
        ...(this.o.security === undefined ? {} : { security: this.o.security }),
        ...(this.o.lists === undefined ? {} : { lists: this.o.lists }),
        limits: { maxApduBytes: this.o.maxApduBytes ?? 4_096 },
      });
    } catch (err) {
      if (err instanceof DlmsSecurityError) {
        const systemTitle = titleOf(apdu);
        this.securityEvent({ kind: err.reason, detail: err.message, ...(systemTitle === undefined ? {} : { systemTitle }) }, from);
      } else if (err instanceof DlmsPushError) {
        this.drop(err.reason === 'unknown-system-title' ? 'unknown-sender' : 'not-a-push', titleOf(apdu) ?? from, err.message);
      } else if (err instanceof DlmsDecodeError) {
        this.drop('decode', from, err.message);
      } else {
        // A bug of ours: still one push lost, not a listener or a process.
        this.drop('decode', from, `unexpected ${err instanceof Error ? err.name : 'error'}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return undefined;
    }
  }

  private identify(n: PushNotification, origin: PushOriginOf, from: string): { terminal: Terminal; address: string } | undefined {
    let terminal: Terminal | undefined;
    let address: string | undefined;
    if (n.meterId !== undefined) {
      const meter = this.o.directory.findMeter(n.meterId);
      terminal = meter === undefined ? undefined : this.o.directory.findTerminal(meter.terminalId);
      address = meter?.address;
      if (terminal === undefined) {
        this.drop('unknown-sender', n.meterId, 'the key store names a meter the registry does not have');
        return undefined;
      }
    } else {
      const id = n.logicalDeviceName === undefined ? undefined : this.terminalByName(n.logicalDeviceName);
      terminal = id === undefined ? undefined : this.o.directory.findTerminal(id);
      if (terminal === undefined) {
        this.drop('unknown-sender', n.logicalDeviceName ?? from, 'no DLMS terminal has this logical device name');
        return undefined;
      }
      if (terminal.protocol === 'dlms' && (terminal.dlms.security ?? 'none') !== 'none') {
        this.securityEvent({ kind: 'policy-violation', detail: `unciphered push in the name of ${terminal.id}, which is set up for ciphering` }, terminal.id, terminal.id);
        return undefined;
      }
    }
    if (origin.kind === 'mqtt' && origin.terminalId !== terminal.id) {
      this.drop('sender-mismatch', origin.terminalId, `topic names ${origin.terminalId}, the push comes from ${terminal.id}`);
      return undefined;
    }
    if (address === undefined) {
      const meters = this.o.directory.metersOfTerminal(terminal.id);
      const wPort = origin.kind === 'tcp' ? String(origin.source) : undefined;
      address = meters.find((m) => m.address === wPort)?.address ?? (meters.length === 1 ? meters[0]?.address : undefined) ?? '1';
    }
    return { terminal, address };
  }

  private async readingsOf(n: PushNotification, terminal: Terminal, address: string, ts: number): Promise<RawReading[]> {
    const wanted = new Map<string, { quantity: string; unit: string }>();
    for (const [quantity, e] of Object.entries(this.o.catalogue)) wanted.set(e.obis, { quantity, unit: e.unit });
    const registers = n.values.filter((v) => (v.classId === 3 || v.classId === 4) && v.attribute === 2 && v.dataIndex === 0 && wanted.has(v.obis));
    if (registers.length === 0) return [];
    let scalers: ReadonlyMap<string, ScalerUnit>;
    try {
      scalers = await this.o.scalers.get(terminal, address, registers.map((v) => v.obis));
    } catch (err) {
      this.drop('no-scaler', terminal.id, err instanceof Error ? err.message : String(err));
      return [];
    }
    const out: RawReading[] = [];
    const missing: string[] = [];
    for (const v of registers) {
      const target = wanted.get(v.obis);
      const su = scalers.get(v.obis);
      if (target === undefined || v.data.type === 'null-data') continue;
      const exponent = su === undefined ? undefined : catalogueExponent(su.unit, target.unit);
      if (su === undefined || exponent === undefined) {
        missing.push(v.obis);
        continue;
      }
      try {
        out.push({ terminalId: terminal.id, address, quantity: target.quantity, value: scaled(v.data, su.scaler + exponent), ts });
      } catch {
        // A value of a non-numeric type (asNumber refuses it): the register is unusable, not the push.
        missing.push(`${v.obis} (${v.data.type})`);
      }
    }
    if (missing.length > 0) this.drop('no-scaler', terminal.id, `no usable scaler_unit for ${missing.join(', ')}`);
    return out;
  }

  private eventsOf(n: PushNotification, terminalId: string, address: string, ts: number): RawDeviceEvent[] {
    const v = n.values.find((x) => x.obis === PUSH_OBIS.eventCode && x.attribute === 2);
    if (v === undefined || !('value' in v.data) || typeof v.data.value !== 'number') return [];
    const { code, detail } = describeDlmsEvent(v.data.value);
    return [{ terminalId, address, code: isDeviceEventCode(code) ? code : 'other', ts, detail }];
  }

  private terminalByName(name: string): string | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const t of this.o.directory.listTerminals()) {
        if (t.protocol === 'dlms' && t.dlms.logicalDeviceName !== undefined) this.byName.set(t.dlms.logicalDeviceName, t.id);
      }
    }
    return this.byName.get(name);
  }

  private securityEvent(e: SecurityEvent, sender: string, terminalId?: string): void {
    this.drop('security', sender, `${e.kind}: ${e.detail}`);
    try {
      this.o.onSecurityEvent?.({ ...e, ...(terminalId === undefined ? {} : { terminalId }) });
    } catch {
      // The recorder failing must not lose the count above nor stop the receiver.
    }
  }

  private drop(code: PushProblemCode, sender: string, detail: string): void {
    this.counters.dropped[code] += 1;
    try {
      this.o.onProblem?.(code, sender, detail);
    } catch {
      // As above: reporting is best effort, the count is the record.
    }
  }
}

/** The system title (hex) of a general-glo-ciphered APDU, if it has one. */
function titleOf(apdu: Uint8Array): string | undefined {
  if (apdu[0] !== GENERAL_GLO_CIPHERING_TAG) return undefined;
  try {
    const st = parseCipheredApdu(apdu).systemTitle;
    return st === undefined ? undefined : Buffer.from(st).toString('hex').toUpperCase();
  } catch {
    return undefined;
  }
}
