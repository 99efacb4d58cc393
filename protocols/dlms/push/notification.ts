/**
 * Pushed data-notifications, sans-IO (IEC 62056-5-3 §8 Data-Notification; Blue Book IC 40
 * Push setup): bytes in, typed values out, and back.
 *
 * A push arrives as either
 *   - a plain Data-Notification [15] whose body is a structure holding one Data per element
 *     of the sender's push_object_list, or
 *   - general-glo-ciphering [219] carrying that APDU (IEC 62056-5-3 §8; the data-notification
 *     has no service-specific glo- form), protected with security suite 0 under the sender's
 *     system title and its own invocation counter (Green Book §9.2.7.2.4).
 *
 * The receiver picks the keys by the system title in the ciphered APDU, refuses a counter
 * that does not exceed the last one accepted from that sender (replay), and records the new
 * one only after the APDU authenticated.
 *
 * Two steps: `decodePushFrame` deciphers and decodes down to the body's values; the
 * receiver then ties them to a push object list (pushObjects.ts: described by the push,
 * named by it, or known for its sender) with `describePush`.
 *
 * Errors: malformed bytes → DlmsDecodeError; a security failure → DlmsSecurityError (its
 * `reason` is the security event kind); a well-formed APDU that is no push we can read
 * (another APDU type, unknown system title, unknown push object list) → DlmsPushError.
 */
import { ProtocolError } from '../../adapter.js';
import type { DlmsData } from '../axdr/data.js';
import { cosemDateTimeToEpochMs, decodeCosemDateTime } from '../axdr/dateTime.js';
import { decodeApdu, encodeApdu } from '../apduCodec.js';
import type { ApduLimits } from '../apdu/descriptors.js';
import { hexUpper } from '../bytes.js';
import { DlmsDecodeError } from '../errors.js';
import { GENERAL_GLO_CIPHERING_TAG, cipherApdu, decipherApdu, parseCipheredApdu } from '../security/ciphering.js';
import { securityControlFor, type Protection } from '../security/securityHeader.js';
import type { SecurityCounters, SuiteZeroKeys } from '../security/settings.js';
import {
  DEFAULT_PUSH_LISTS, PUSH_OBIS, logicalDeviceNameOf, matchPushList, selfDescribedList, type PushObject, type PushObjectList,
} from './pushObjects.js';

/** The meter that owns a system title, with its keys and counters. */
export interface PushOwner {
  readonly meterId: string;
  readonly keys: SuiteZeroKeys;
  readonly counters: SecurityCounters;
}

/** Keys and counters of the meter that owns a system title, answered at once (decoding is synchronous). */
export interface PushSecurity {
  forSystemTitle(systemTitle: Uint8Array): PushOwner | undefined;
}

/**
 * The same, from a key store that may answer over the network (the head-end's): the receiver
 * asks it before deciphering and hands the answer to the decoder.
 */
export interface PushKeyLookup {
  forSystemTitle(systemTitle: Uint8Array): PushOwner | undefined | Promise<PushOwner | undefined>;
}

export interface PushValue extends PushObject {
  readonly data: DlmsData;
}

/** A push as it arrived, deciphered but not yet tied to a push object list. */
export interface PushFrame {
  readonly ciphered: boolean;
  /** The sender's system title (ciphered pushes only). */
  readonly systemTitle?: Uint8Array;
  /** The meter the key store tied the system title to (ciphered pushes only). */
  readonly meterId?: string;
  readonly invocationCounter?: number;
  /** The instant of the APDU's date-time, when the sender filled it; ms since the epoch. */
  readonly ts?: number;
  /** One Data per element of the sender's push_object_list (a body that is no structure is one element). */
  readonly body: readonly DlmsData[];
}

export interface PushNotification extends Omit<PushFrame, 'body'> {
  /** The logical device name value, when the list carries one (identifies a plain push). */
  readonly logicalDeviceName?: string;
  /** The push setup whose list the body followed. */
  readonly pushSetup: string;
  /** Device time: the notification's date-time, else the pushed clock; ms since the epoch. */
  readonly ts?: number;
  readonly values: readonly PushValue[];
}

export type DlmsPushReason = 'not-a-notification' | 'unknown-system-title' | 'unknown-push-list';

/** A well-formed APDU that is not a push this receiver can read. */
export class DlmsPushError extends ProtocolError {
  readonly code = 'DLMS_PUSH';
  constructor(readonly reason: DlmsPushReason, message: string) {
    super(`push: ${reason}: ${message}`, undefined);
  }
}

export interface PushDecodeOptions {
  /** Push object lists the senders use; default DEFAULT_PUSH_LISTS. */
  readonly lists?: readonly PushObjectList[];
  /** Needed for ciphered pushes; without it they are refused as unknown-system-title. */
  readonly security?: PushSecurity;
  readonly limits?: Partial<ApduLimits>;
}

/**
 * Decodes a push whose list is described by the push itself or is one of `options.lists`
 * (default DEFAULT_PUSH_LISTS); DlmsPushError 'unknown-push-list' otherwise.
 */
export function decodePushNotification(apdu: Uint8Array, options: PushDecodeOptions = {}): PushNotification {
  const frame = decodePushFrame(apdu, options);
  const list = selfDescribedList(frame.body) ?? matchPushList(frame.body, options.lists ?? DEFAULT_PUSH_LISTS);
  if (list === undefined) throw new DlmsPushError('unknown-push-list', `no known push object list matches a body of ${frame.body.length} values`);
  return describePush(frame, list);
}

/**
 * Deciphers (general-glo) and decodes a data-notification down to its body values. A
 * ciphered push's counter is recorded here, once it authenticated and decoded: whatever the
 * receiver later makes of the body, a replay of this APDU fails.
 */
export function decodePushFrame(apdu: Uint8Array, options: Omit<PushDecodeOptions, 'lists'> = {}): PushFrame {
  if (apdu[0] === GENERAL_GLO_CIPHERING_TAG) return decodeCiphered(apdu, options);
  return { ciphered: false, ...decodePlain(apdu, options) };
}

/** The frame's values tied to `list` (one entry per body element), with device name and device time. */
export function describePush(frame: PushFrame, list: PushObjectList): PushNotification {
  const { body, ...header } = frame;
  if (list.objects.length !== body.length) throw new DlmsPushError('unknown-push-list', `a list of ${list.objects.length} objects for a body of ${body.length} values`);
  const values: PushValue[] = list.objects.map((o, i) => ({ ...o, data: body[i] ?? { type: 'null-data' } }));
  const ldn = values.find((v) => v.obis === PUSH_OBIS.logicalDeviceName && v.attribute === 2)?.data;
  const clock = values.find((v) => v.obis === PUSH_OBIS.clock && v.attribute === 2)?.data;
  const ts = header.ts ?? (clock?.type === 'octet-string' ? instantOf(clock.value) : undefined);
  const logicalDeviceName = logicalDeviceNameOf(ldn);
  return {
    ...header,
    pushSetup: list.pushSetup,
    values,
    ...(logicalDeviceName === undefined ? {} : { logicalDeviceName }),
    ...(ts === undefined ? {} : { ts }),
  };
}

export interface PushCipher {
  /** The sender's system title (8 octets). */
  readonly systemTitle: Uint8Array;
  readonly keys: SuiteZeroKeys;
  readonly protection: Protection;
  readonly invocationCounter: number;
}

export interface PushMessage {
  readonly list: PushObjectList;
  /** One value per list element, in list order. */
  readonly values: readonly DlmsData[];
  /** 12-octet COSEM date-time for the APDU header; absent sends an empty date-time. */
  readonly dateTime?: Uint8Array;
  /** Long-invoke-id (0..0xFFFFFF), e.g. a per-sender sequence number. */
  readonly invokeId?: number;
}

/** Encodes a data-notification, general-glo-ciphered when `cipher` is given. */
export function encodePushNotification(message: PushMessage, cipher?: PushCipher): Uint8Array {
  if (message.values.length !== message.list.objects.length) {
    throw new RangeError(`${message.values.length} values for a push object list of ${message.list.objects.length}`);
  }
  const plain = encodeApdu({
    type: 'data-notification',
    // An unconfirmed, normal-priority service: the receiver never answers a push.
    invoke: { invokeId: message.invokeId ?? 0, selfDescriptive: false, breakOnError: false, confirmed: false, highPriority: false },
    ...(message.dateTime === undefined ? {} : { dateTime: message.dateTime }),
    body: { type: 'structure', value: [...message.values] },
  });
  if (cipher === undefined) return plain;
  return cipherApdu(plain, {
    sc: securityControlFor(cipher.protection),
    systemTitle: cipher.systemTitle,
    invocationCounter: cipher.invocationCounter,
    ek: cipher.keys.ek,
    ak: cipher.keys.ak,
    form: 'general-glo',
  });
}

function decodeCiphered(apdu: Uint8Array, options: Omit<PushDecodeOptions, 'lists'>): PushFrame {
  const parsed = parseCipheredApdu(apdu, options.limits?.maxApduBytes);
  const systemTitle = parsed.systemTitle ?? new Uint8Array(0);
  const owner = options.security?.forSystemTitle(systemTitle);
  if (owner === undefined) throw new DlmsPushError('unknown-system-title', `no keys for system title ${hexUpper(systemTitle)}`);
  const lastSeen = owner.counters.lastIncoming();
  const deciphered = decipherApdu(apdu, {
    peerSystemTitle: systemTitle,
    ek: owner.keys.ek,
    ak: owner.keys.ak,
    ...(owner.keys.bk === undefined ? {} : { broadcastKey: owner.keys.bk }),
    ...(lastSeen === undefined ? {} : { lastSeenCounter: lastSeen }),
  });
  const counter = deciphered.header.invocationCounter;
  const content = decodePlain(deciphered.plaintext, options);
  // Recorded only once the APDU deciphered and decoded (an 'enc'-only APDU has no tag to
  // vouch for it): from now on a replay of it fails.
  owner.counters.acceptIncoming(counter);
  return { ciphered: true, systemTitle, meterId: owner.meterId, invocationCounter: counter, ...content };
}

function decodePlain(apdu: Uint8Array, options: Omit<PushDecodeOptions, 'lists'>): Omit<PushFrame, 'ciphered'> {
  const decoded = decodeApdu(apdu, options.limits);
  if (decoded.type !== 'data-notification') throw new DlmsPushError('not-a-notification', `a ${decoded.type} APDU is not a data-notification`);
  // IEC 62056-5-3 §8: notification-body is one Data; a push setup sends a structure of its list's values.
  const body = decoded.body.type === 'structure' ? decoded.body.value : [decoded.body];
  const ts = instantOf(decoded.dateTime);
  return { body, ...(ts === undefined ? {} : { ts }) };
}

/** The instant of a 12-octet COSEM date-time; undefined when it names none (wildcards, no deviation). */
function instantOf(bytes: Uint8Array | undefined): number | undefined {
  if (bytes?.length !== 12) return undefined;
  try {
    return cosemDateTimeToEpochMs(decodeCosemDateTime(bytes));
  } catch (err) {
    if (err instanceof DlmsDecodeError) return undefined;
    throw err;
  }
}

