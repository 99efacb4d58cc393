/**
 * Server-initiated APDUs (IEC 62056-5-3 §8 / Green Book §9.5 xDLMS ASN.1):
 *   Data-Notification [15] SEQUENCE { long-invoke-id-and-priority, date-time OCTET STRING,
 *                                     notification-body SEQUENCE { data-value Data } }
 *   EventNotificationRequest [194] SEQUENCE { time OCTET STRING OPTIONAL,
 *                                     cosem-attribute-descriptor, attribute-value Data }
 * date-time is a plain OCTET STRING: length 0 when the server sends no time, else the
 * 12 octets of a COSEM date-time (IEC 62056-6-2 §4.1.6.1), which is how it is kept here.
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import type { DlmsData } from '../axdr/data.js';
import { readData, writeData } from '../axdr/codec.js';
import {
  readAttributeDescriptor, readPresence, writeAttributeDescriptor, type ApduLimits, type CosemAttributeDescriptor,
} from './descriptors.js';
import {
  decodeLongInvokeIdAndPriority, encodeLongInvokeIdAndPriority, type LongInvokeIdAndPriority,
} from './invokeId.js';

/** A COSEM date-time is 12 octets; a longer time field is not one. */
const MAX_TIME_OCTETS = 12;

export interface DataNotification {
  readonly type: 'data-notification';
  readonly invoke: LongInvokeIdAndPriority;
  /** The 12-octet COSEM date-time, absent when the server sent an empty string. */
  readonly dateTime?: Uint8Array;
  readonly body: DlmsData;
}

export interface EventNotificationRequest {
  readonly type: 'event-notification-request';
  /** The 12-octet COSEM date-time of the event, when sent. */
  readonly time?: Uint8Array;
  readonly attribute: CosemAttributeDescriptor;
  readonly value: DlmsData;
}

export const DATA_NOTIFICATION_TAG = 0x0f;
export const EVENT_NOTIFICATION_REQUEST_TAG = 0xc2;

export function readDataNotification(r: ByteReader, limits: ApduLimits): DataNotification {
  const invoke = decodeLongInvokeIdAndPriority(r.u32('long-invoke-id-and-priority'));
  const n = r.length(MAX_TIME_OCTETS, 'date-time length');
  const dateTime = n === 0 ? undefined : r.bytes(n, 'date-time').slice();
  const body = readData(r, limits.data);
  return dateTime === undefined ? { type: 'data-notification', invoke, body } : { type: 'data-notification', invoke, dateTime, body };
}

export function writeDataNotification(w: ByteWriter, a: DataNotification): void {
  w.u32(encodeLongInvokeIdAndPriority(a.invoke));
  writeTime(w, a.dateTime);
  writeData(w, a.body);
}

export function readEventNotificationRequest(r: ByteReader, limits: ApduLimits): EventNotificationRequest {
  const time = readPresence(r, 'time') ? r.bytes(r.length(MAX_TIME_OCTETS, 'time length'), 'time').slice() : undefined;
  const attribute = readAttributeDescriptor(r);
  const value = readData(r, limits.data);
  return time === undefined
    ? { type: 'event-notification-request', attribute, value }
    : { type: 'event-notification-request', time, attribute, value };
}

export function writeEventNotificationRequest(w: ByteWriter, a: EventNotificationRequest): void {
  if (a.time === undefined) w.u8(0);
  else writeTime(w.u8(1), a.time);
  writeAttributeDescriptor(w, a.attribute);
  writeData(w, a.value);
}

function writeTime(w: ByteWriter, t: Uint8Array | undefined): void {
  const bytes = t ?? new Uint8Array(0);
  if (bytes.length > MAX_TIME_OCTETS) throw new DlmsEncodeError('apdu', `date-time of ${bytes.length} octets`);
  w.length(bytes.length).bytes(bytes);
}
