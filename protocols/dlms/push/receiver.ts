/**
 * Pushed DLMS data-notifications → RawReadings and RawDeviceEvents for the pipeline.
 *
 * A push is tied to its sender and to the push object list its body follows, from whatever
 * it carries, in this order (Blue Book IC 40 Push setup):
 *   1. its own description: a self-describing push carries its push_object_list;
 *   2. its push setup's logical name, naming one of the lists the receiver knows;
 *   3. the logical device name (0.0.42.0.0.255 value): at its place in a list found above,
 *      else any body element naming a DLMS terminal's `logicalDeviceName`;
 *   4. the system title of a ciphered push (general-glo), or where it came from: the MQTT
 *      topic's terminal, the one DLMS terminal at the TCP peer's address.
 * A ciphered push is always its key-store meter's (the system title picked the keys it
 * authenticated under); a terminal set up for ciphering never has a plain push accepted in
 * its name (security event 'policy-violation'); over MQTT the topic's terminal must also be
 * the sender's. The list: the described one, else one learnt from the sender's meter, else one
 * of the known lists (`lists`). When none fits, the sender's lists are read from the meter
 * through its collection lane (pushLists.ts) and the push waits for them, bounded.
 *
 * A push that yields nothing (undecodable, not a push, unknown sender, security failure,
 * unknown list, failed list read, pipeline refusal) is counted, reported through `onProblem`
 * (the caller rate-limits the log line) and handed to `deadLetter` with its bytes. Senders
 * are looked up through `PushSenderLookup` (senders.ts), which the station implements.
 *
 * Values: registers (IC 3/4 attribute 2) whose OBIS the catalogue knows become readings at
 * the push's device time. Pushes carry raw values, so the scaler_unit comes from
 * `PushScalerSource` (scalers.ts: a per-meter cache filled by reading attribute 3
 * over an association). The standard event log code (0.0.96.11.0.255) becomes a device
 * event with the DLMS code in its detail.
 */
import type { PushSink, RawDeviceEvent, RawReading } from '../../adapter.js';
import { ProtocolError } from '../../adapter.js';
import type { DlmsData } from '../axdr/data.js';
import { scaled } from '../client/scaler.js';
import { catalogueExponent, type ScalerUnit } from '../cosem/units.js';
import { hexUpper } from '../bytes.js';
import { DlmsDecodeError } from '../errors.js';
import type { PushOrigin } from '../net/pushListener.js';
import type { MqttPushOrigin } from '../net/pushMqtt.js';
import { GENERAL_GLO_CIPHERING_TAG, parseCipheredApdu } from '../security/ciphering.js';
import { DlmsSecurityError } from '../security/securityError.js';
import type { SecurityEvent } from '../security/settings.js';
import { describeDlmsEvent } from './eventCodes.js';
import {
  DlmsPushError, decodePushFrame, describePush, type PushFrame, type PushKeyLookup, type PushNotification, type PushSecurity,
} from './notification.js';
import type { PushListLearner, PushListReadOutcome } from './pushLists.js';
import {
  DEFAULT_PUSH_LISTS, PUSH_OBIS, logicalDeviceNameOf, matchPushList, selfDescribedList, type PushObjectList,
} from './pushObjects.js';
import type { PushScalerSource } from './scalers.js';
import type { PushSenderLookup, PushTerminal } from './senders.js';

export type PushOriginOf = PushOrigin | MqttPushOrigin;

/** A push that yielded nothing, with its bytes, for the operator to see and feed again. */
export interface PushDeadLetter {
  readonly origin: 'tcp' | 'mqtt';
  /** Where it came from: the TCP peer's address and port, or the MQTT topic's terminal id. */
  readonly from: string;
  /** What is known of the sender: peer address, topic terminal, system title or logical device name. */
  readonly sender: string;
  /** The terminal the push was tied to, when it got that far. */
  readonly terminalId?: string;
  readonly code: string;
  readonly reason: string;
  readonly receivedAt: number;
  /** The APDU as received (ciphered pushes stay ciphered). */
  readonly apdu: Uint8Array;
}

/**
 * The station did not take a push's readings or events (its sink failed). Thrown to the MQTT
 * subscriber, which retries the push and then dead-letters it; a TCP push is dead-lettered.
 */
export class DlmsPushSinkError extends ProtocolError {
  readonly code = 'DLMS_PUSH_SINK';
  constructor(terminalId: string, cause: unknown) {
    super(`the station did not take the push of ${terminalId}: ${cause instanceof Error ? cause.message : String(cause)}`, terminalId, { cause });
  }
}

export const PUSH_PROBLEM_CODES = [
  'decode', 'not-a-push', 'unknown-sender', 'sender-mismatch', 'security',
  'unknown-push-list', 'list-read-failed', 'list-wait-full', 'no-scaler', 'sink',
] as const;
export type PushProblemCode = (typeof PUSH_PROBLEM_CODES)[number];

/** How an accepted push's list was found. */
export type PushListSource = 'described' | 'learnt' | 'known' | 'read';

export interface DlmsPushReceiverOptions {
  /** Who may send: the station's terminals and meters. */
  readonly senders: PushSenderLookup;
  /** Quantity → OBIS and catalogue unit. */
  readonly catalogue: Readonly<Record<string, { readonly obis: string; readonly unit: string }>>;
  readonly scalers: PushScalerSource;
  readonly security?: PushKeyLookup;
  /** Lists known without asking any meter; default DEFAULT_PUSH_LISTS. */
  readonly lists?: readonly PushObjectList[];
  /** Lists learnt per meter, and reading them; without it a push of an unknown list is dead-lettered at once. */
  readonly learner?: PushListLearner;
  readonly maxApduBytes?: number;
  /** Where readings and events go; a push counts as accepted once both settled. */
  readonly sink: Pick<PushSink, 'readings' | 'events'>;
  readonly onSecurityEvent?: (event: SecurityEvent & { readonly meterId?: string; readonly terminalId?: string }) => void;
  /** `sender` is a terminal id, system title or peer address: what is known of the sender. */
  readonly onProblem?: (code: PushProblemCode, sender: string, detail: string) => void;
  /** A push that yielded nothing, with its bytes. */
  readonly deadLetter?: (letter: PushDeadLetter) => void;
  readonly now?: () => number;
}

export interface DlmsPushCounters {
  received: number;
  /** Pushes whose readings and events the station took. */
  accepted: number;
  readings: number;
  events: number;
  dropped: Record<PushProblemCode, number>;
  deadLettered: number;
  lists: Record<PushListSource, number>;
}

/** One push on its way through the receiver. */
interface Arrival {
  readonly apdu: Uint8Array;
  readonly origin: PushOriginOf;
  /** Peer address or topic terminal. */
  readonly from: string;
  readonly receivedAt: number;
}

interface Sender {
  readonly terminal: PushTerminal;
  readonly address: string;
}

/** What one push hands the station, made once: handing it over again needs no second decipher. */
interface Delivery {
  readonly arrival: Arrival;
  readonly terminalId: string;
  readonly source: PushListSource;
  readonly readings: readonly RawReading[];
  readonly events: readonly RawDeviceEvent[];
}

export class DlmsPushReceiver {
  readonly counters: DlmsPushCounters = {
    received: 0, accepted: 0, readings: 0, events: 0, deadLettered: 0,
    dropped: Object.fromEntries(PUSH_PROBLEM_CODES.map((c) => [c, 0])) as Record<PushProblemCode, number>,
    lists: { described: 0, learnt: 0, known: 0, read: 0 },
  };
  private readonly now: () => number;
  /** The catalogue by OBIS: built once, looked up for every pushed register. */
  private readonly wanted: ReadonlyMap<string, { readonly quantity: string; readonly unit: string }>;
  /**
   * MQTT pushes the station did not take, by the bytes the subscriber hands again on a retry:
   * a ciphered push's invocation counter is spent, so deciphering it again would fail as a
   * replay. Weak: a push the subscriber gave up on (dead-lettered) is let go with its bytes.
   */
  private readonly unsent = new WeakMap<Uint8Array, Delivery>();

  constructor(private readonly o: DlmsPushReceiverOptions) {
    this.now = o.now ?? Date.now;
    this.wanted = new Map(Object.entries(o.catalogue).map(([quantity, e]) => [e.obis, { quantity, unit: e.unit }]));
  }

  /**
   * Handles one pushed APDU. Every failure to make sense of it is counted, reported and
   * dead-lettered, and the promise resolves. When the station's sink or key store fails, a
   * TCP push is dead-lettered likewise, while an MQTT push rejects with DlmsPushSinkError: the
   * subscriber retries it (the same bytes again are handed over without deciphering twice),
   * then dead-letters it. A push waiting for its meter's lists is finished later, in the background.
   */
  async handle(apdu: Uint8Array, origin: PushOriginOf): Promise<void> {
    const again = this.unsent.get(apdu);
    if (again !== undefined) {
      await this.hand(again, true);
      return;
    }
    this.counters.received += 1;
    const arrival: Arrival = { apdu, origin, from: origin.kind === 'tcp' ? origin.remote : origin.terminalId, receivedAt: this.now() };
    const frame = await this.decode(arrival);
    if (frame === undefined) return;
    const described = selfDescribedList(frame.body);
    const known = described === undefined ? matchPushList(frame.body, this.o.lists ?? DEFAULT_PUSH_LISTS) : undefined;
    const sender = this.identify(frame, described ?? known, arrival);
    if (sender === undefined) return;
    // Only an MQTT push still held by its subscriber can be handed over again.
    const retryable = origin.kind === 'mqtt';
    if (described !== undefined) {
      await this.deliver(frame, described, 'described', sender, arrival, retryable);
      return;
    }
    // The sender's own lists come before the known ones: they were read from this meter.
    const learnt = this.o.learner === undefined ? undefined : matchPushList(frame.body, await this.o.learner.lists(sender.terminal.id, sender.address));
    if (learnt !== undefined) await this.deliver(frame, learnt, 'learnt', sender, arrival, retryable);
    else if (known !== undefined) await this.deliver(frame, known, 'known', sender, arrival, retryable);
    else this.awaitLists(frame, sender, arrival);
  }

  private async decode(a: Arrival): Promise<PushFrame | undefined> {
    let security: PushSecurity | undefined;
    try {
      security = await this.securityOf(a.apdu);
    } catch (err) {
      // The station's key or counter store did not answer (its database down): the push may
      // be sound and its invocation counter is unspent, so this is the station failing to
      // take it, as a sink failure, not an undecodable push. An MQTT push goes back to the
      // subscriber, which retries it and leaves it unacknowledged meanwhile.
      if (a.origin.kind === 'mqtt') throw new DlmsPushSinkError(a.from, err);
      this.fail('sink', a, titleOf(a.apdu) ?? a.from, `the key store did not answer: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    try {
      return decodePushFrame(a.apdu, {
        ...(security === undefined ? {} : { security }),
        limits: { maxApduBytes: this.o.maxApduBytes ?? 4_096 },
      });
    } catch (err) {
      if (err instanceof DlmsSecurityError) {
        const systemTitle = titleOf(a.apdu);
        this.securityEvent({ kind: err.reason, detail: err.message, ...(systemTitle === undefined ? {} : { systemTitle }) }, a, systemTitle ?? a.from);
      } else if (err instanceof DlmsPushError) {
        this.fail(err.reason === 'unknown-system-title' ? 'unknown-sender' : 'not-a-push', a, titleOf(a.apdu) ?? a.from, err.message);
      } else if (err instanceof DlmsDecodeError) {
        this.fail('decode', a, a.from, err.message);
      } else {
        // A bug of ours: still one push lost, not a listener or a process.
        this.fail('decode', a, a.from, `unexpected ${err instanceof Error ? err.name : 'error'}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return undefined;
    }
  }

  /** The owner of a ciphered APDU's system title, looked up before the synchronous decoder needs it. */
  private async securityOf(apdu: Uint8Array): Promise<PushSecurity | undefined> {
    const lookup = this.o.security;
    if (lookup === undefined) return undefined;
    const title = cipheredTitle(apdu);
    const owner = title === undefined ? undefined : await lookup.forSystemTitle(title);
    return { forSystemTitle: () => owner };
  }

  /** The sender of a push, in the order of the header comment; undefined when refused (reported). */
  private identify(frame: PushFrame, list: PushObjectList | undefined, a: Arrival): Sender | undefined {
    const senders = this.o.senders;
    let terminal: PushTerminal | undefined;
    let address: string | undefined;
    if (frame.meterId !== undefined) {
      const meter = senders.meter(frame.meterId);
      terminal = meter?.terminal;
      address = meter?.address;
      if (terminal === undefined) {
        this.fail('unknown-sender', a, frame.meterId, 'the key store names a meter the registry does not have');
        return undefined;
      }
    } else {
      const named = this.byLogicalDeviceName(frame.body, list);
      terminal = named.terminal ?? this.byOrigin(a.origin);
      if (terminal === undefined) {
        this.fail('unknown-sender', a, named.name ?? a.from, 'no DLMS terminal has this logical device name or sends from here');
        return undefined;
      }
      if (terminal.requiresSecurity) {
        this.securityEvent({ kind: 'policy-violation', detail: `unciphered push in the name of ${terminal.id}, which is set up for ciphering` }, a, terminal.id, terminal.id);
        return undefined;
      }
    }
    if (a.origin.kind === 'mqtt' && a.origin.terminalId !== terminal.id) {
      this.fail('sender-mismatch', a, a.origin.terminalId, `topic names ${a.origin.terminalId}, the push comes from ${terminal.id}`, terminal.id);
      return undefined;
    }
    if (address === undefined) {
      const addresses = terminal.addresses;
      const wPort = a.origin.kind === 'tcp' ? String(a.origin.source) : undefined;
      address = addresses.find((x) => x === wPort) ?? (addresses.length === 1 ? addresses[0] : undefined) ?? '1';
    }
    return { terminal, address };
  }

  /** The logical device name at its place in `list`, else the first body element that names a DLMS terminal. */
  private byLogicalDeviceName(body: readonly DlmsData[], list: PushObjectList | undefined): { name?: string; terminal?: PushTerminal } {
    const at = list?.objects.findIndex((o) => o.obis === PUSH_OBIS.logicalDeviceName && o.attribute === 2) ?? -1;
    const candidates = at >= 0 ? [body[at]] : body;
    let first: string | undefined;
    for (const v of candidates) {
      const name = logicalDeviceNameOf(v);
      if (name === undefined) continue;
      first ??= name;
      const terminal = this.o.senders.byLogicalDeviceName(name);
      if (terminal !== undefined) return { name, terminal };
    }
    return first === undefined ? {} : { name: first };
  }

  /** The MQTT topic's DLMS terminal, or the one DLMS terminal whose endpoint host is the TCP peer's address. */
  private byOrigin(origin: PushOriginOf): PushTerminal | undefined {
    if (origin.kind === 'mqtt') return this.o.senders.dlmsTerminal(origin.terminalId);
    const host = origin.remote.slice(0, origin.remote.lastIndexOf(':')).replace(/^::ffff:/, '');
    return this.o.senders.byHost(host);
  }

  /** No list fits yet: the push waits for its meter's lists (read through the lane), bounded. */
  private awaitLists(frame: PushFrame, sender: Sender, a: Arrival): void {
    const learner = this.o.learner;
    const what = `no known push object list fits a body of ${frame.body.length} values`;
    if (learner === undefined || !sender.terminal.dlms) {
      this.fail('unknown-push-list', a, sender.terminal.id, what, sender.terminal.id);
      return;
    }
    const refusal = learner.wait(sender.terminal.id, sender.address, (outcome) => this.afterRead(outcome, frame, sender, a));
    if (refusal === 'read-recently') this.fail('unknown-push-list', a, sender.terminal.id, `${what}, and the meter's lists were read recently`, sender.terminal.id);
    else if (refusal !== undefined) this.fail('list-wait-full', a, sender.terminal.id, `${what}; no room to wait for the meter's lists (${refusal})`, sender.terminal.id);
  }

  private async afterRead(outcome: PushListReadOutcome, frame: PushFrame, sender: Sender, a: Arrival): Promise<void> {
    if (!outcome.ok) {
      this.fail('list-read-failed', a, sender.terminal.id, `reading the push object lists failed: ${outcome.error.message}`, sender.terminal.id);
      return;
    }
    const list = matchPushList(frame.body, outcome.lists);
    if (list === undefined) {
      this.fail('unknown-push-list', a, sender.terminal.id, `none of the meter's ${outcome.lists.length} push object lists fits a body of ${frame.body.length} values`, sender.terminal.id);
      return;
    }
    // The MQTT message was acknowledged when the push began to wait: nobody can hand it over again.
    await this.deliver(frame, list, 'read', sender, a, false);
  }

  private async deliver(frame: PushFrame, list: PushObjectList, source: PushListSource, sender: Sender, a: Arrival, retryable: boolean): Promise<void> {
    const n = describePush(frame, list);
    const { terminal, address } = sender;
    const ts = n.ts ?? a.receivedAt;
    const readings = await this.readingsOf(n, terminal.id, address, ts);
    const events = this.eventsOf(n, terminal.id, address, ts);
    await this.hand({ arrival: a, terminalId: terminal.id, source, readings, events }, retryable);
  }

  /** Hands a push's readings and events to the station; the push counts as accepted once both settled. */
  private async hand(d: Delivery, retryable: boolean): Promise<void> {
    try {
      if (d.readings.length > 0) await this.o.sink.readings(d.readings);
      if (d.events.length > 0) await this.o.sink.events?.(d.events);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      if (!retryable) {
        this.fail('sink', d.arrival, d.terminalId, detail, d.terminalId);
        return;
      }
      // Counted once per push; the subscriber reports each attempt and dead-letters the last.
      if (!this.unsent.has(d.arrival.apdu)) this.counters.dropped.sink += 1;
      this.unsent.set(d.arrival.apdu, d);
      throw new DlmsPushSinkError(d.terminalId, err);
    }
    this.unsent.delete(d.arrival.apdu);
    this.counters.accepted += 1;
    this.counters.lists[d.source] += 1;
    this.counters.readings += d.readings.length;
    this.counters.events += d.events.length;
  }

  private async readingsOf(n: PushNotification, terminalId: string, address: string, ts: number): Promise<RawReading[]> {
    const wanted = this.wanted;
    const registers = n.values.filter((v) => (v.classId === 3 || v.classId === 4) && v.attribute === 2 && v.dataIndex === 0 && wanted.has(v.obis));
    if (registers.length === 0) return [];
    let scalers: ReadonlyMap<string, ScalerUnit>;
    try {
      scalers = await this.o.scalers.get({ id: terminalId }, address, registers.map((v) => v.obis));
    } catch (err) {
      this.report('no-scaler', terminalId, err instanceof Error ? err.message : String(err));
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
        out.push({ terminalId, address, quantity: target.quantity, value: scaled(v.data, su.scaler + exponent), ts });
      } catch {
        // A value of a non-numeric type (asNumber refuses it): the register is unusable, not the push.
        missing.push(`${v.obis} (${v.data.type})`);
      }
    }
    if (missing.length > 0) this.report('no-scaler', terminalId, `no usable scaler_unit for ${missing.join(', ')}`);
    return out;
  }

  /** The event code, mapped onto the station's vocabulary (eventCodes.ts); the station files codes it does not know as 'other'. */
  private eventsOf(n: PushNotification, terminalId: string, address: string, ts: number): RawDeviceEvent[] {
    const v = n.values.find((x) => x.obis === PUSH_OBIS.eventCode && x.attribute === 2);
    if (v === undefined || !('value' in v.data) || typeof v.data.value !== 'number') return [];
    const { code, detail } = describeDlmsEvent(v.data.value);
    return [{ terminalId, address, code, ts, detail }];
  }

  private securityEvent(e: SecurityEvent, a: Arrival, sender: string, terminalId?: string): void {
    this.fail('security', a, sender, `${e.kind}: ${e.detail}`, terminalId);
    try {
      this.o.onSecurityEvent?.({ ...e, ...(terminalId === undefined ? {} : { terminalId }) });
    } catch {
      // The recorder failing must not lose the count above nor stop the receiver.
    }
  }

  /** A push that yielded nothing: counted, reported, dead-lettered with its bytes. */
  private fail(code: PushProblemCode, a: Arrival, sender: string, detail: string, terminalId?: string): void {
    this.report(code, sender, detail);
    this.counters.deadLettered += 1;
    try {
      this.o.deadLetter?.({
        origin: a.origin.kind, from: a.from, sender, code, reason: detail, receivedAt: a.receivedAt, apdu: a.apdu,
        ...(terminalId === undefined ? {} : { terminalId }),
      });
    } catch {
      // The dead-letter store counts its own failures; the receiver goes on.
    }
  }

  private report(code: PushProblemCode, sender: string, detail: string): void {
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
  const st = cipheredTitle(apdu);
  return st === undefined ? undefined : hexUpper(st);
}

/** The system title of a general-glo-ciphered APDU, if it has one (a malformed one is the decoder's to report). */
function cipheredTitle(apdu: Uint8Array): Uint8Array | undefined {
  if (apdu[0] !== GENERAL_GLO_CIPHERING_TAG) return undefined;
  try {
    return parseCipheredApdu(apdu).systemTitle;
  } catch {
    return undefined;
  }
}
