/**
 * The one entry point from bytes to a typed APDU and back, for every APDU of the
 * LN-referencing profile without ciphering: the ACSE APDUs (BER, tags 0x60-0x63) and the
 * xDLMS APDUs (A-XDR, IEC 62056-5-3 §8 / Green Book §9.5). Dispatches on the first octet.
 * `decodeApdu` takes exactly one APDU (trailing bytes are a wrong-length error);
 * `decodeLeadingApdu` takes the APDU at the start and counts what follows it.
 * It sits above both `acse/` and `apdu/`: the ACSE APDUs carry xDLMS pieces (the
 * InitiateRequest and its ConfirmedServiceError), so `acse/` builds on `apdu/`, and only
 * this entry point needs both.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { DlmsDecodeError } from './errors.js';
import { AARQ_TAG, decodeAarq, writeAarq, type Aarq } from './acse/aarq.js';
import { AARE_TAG, decodeAare, writeAare, type Aare } from './acse/aare.js';
import { RLRE_TAG, RLRQ_TAG, decodeRlre, decodeRlrq, encodeRlre, encodeRlrq, type Rlre, type Rlrq } from './acse/release.js';
import { DEFAULT_APDU_LIMITS, type ApduLimits } from './apdu/descriptors.js';
import {
  GET_REQUEST_TAG, GET_RESPONSE_TAG, readGetRequest, readGetResponse, writeGetRequest, writeGetResponse,
  type GetRequest, type GetResponse,
} from './apdu/get.js';
import {
  SET_REQUEST_TAG, SET_RESPONSE_TAG, readSetRequest, readSetResponse, writeSetRequest, writeSetResponse,
  type SetRequest, type SetResponse,
} from './apdu/set.js';
import {
  ACTION_REQUEST_TAG, ACTION_RESPONSE_TAG, readActionRequest, readActionResponse, writeActionRequest,
  writeActionResponse, type ActionRequest, type ActionResponse,
} from './apdu/action.js';
import {
  DATA_NOTIFICATION_TAG, EVENT_NOTIFICATION_REQUEST_TAG, readDataNotification, readEventNotificationRequest,
  writeDataNotification, writeEventNotificationRequest, type DataNotification, type EventNotificationRequest,
} from './apdu/notification.js';
import {
  readConfirmedServiceError, readExceptionResponse, writeConfirmedServiceError, writeExceptionResponse,
  type ConfirmedServiceError, type ExceptionResponse,
} from './apdu/serviceErrors.js';

export type AcseApdu = Aarq | Aare | Rlrq | Rlre;

export type XdlmsApdu =
  | GetRequest | GetResponse | SetRequest | SetResponse | ActionRequest | ActionResponse
  | DataNotification | EventNotificationRequest | ExceptionResponse | ConfirmedServiceError;

/** Every APDU gridhead speaks, discriminated by `type` (the standard's CHOICE names). */
export type Apdu = AcseApdu | XdlmsApdu;

export const APDU_TAG = {
  aarq: AARQ_TAG,
  aare: AARE_TAG,
  rlrq: RLRQ_TAG,
  rlre: RLRE_TAG,
  'confirmed-service-error': 0x0e,
  'data-notification': DATA_NOTIFICATION_TAG,
  'get-request': GET_REQUEST_TAG,
  'set-request': SET_REQUEST_TAG,
  'event-notification-request': EVENT_NOTIFICATION_REQUEST_TAG,
  'action-request': ACTION_REQUEST_TAG,
  'get-response': GET_RESPONSE_TAG,
  'set-response': SET_RESPONSE_TAG,
  'action-response': ACTION_RESPONSE_TAG,
  'exception-response': 0xd8,
} as const;

/**
 * Decodes one APDU. Every failure is a DlmsDecodeError (layer `apdu`, or `acse` for the
 * BER APDUs); tags of ciphered or SN APDUs are refused by name so the caller can say why.
 */
export function decodeApdu(bytes: Uint8Array, limits: Partial<ApduLimits> = {}): Apdu {
  const { apdu, trailing } = decodeLeadingApdu(bytes, limits);
  if (trailing !== 0) {
    throw new DlmsDecodeError('apdu', `${trailing} byte(s) after the end of the ${apdu.type} APDU`, bytes.length - trailing);
  }
  return apdu;
}

/**
 * Decodes the APDU at the start of `bytes` and counts the bytes after its end. A-XDR is
 * self-delimiting (IEC 62056-5-3 §8: every field's length follows from its own encoding), so
 * the APDU is complete and unambiguous whatever the wrapper length or HDLC information field
 * says; a client may then ignore (and count) what some meters append. ACSE APDUs are BER
 * with an outer length and are taken whole, as decodeApdu does.
 */
export function decodeLeadingApdu(bytes: Uint8Array, limits: Partial<ApduLimits> = {}): { readonly apdu: Apdu; readonly trailing: number } {
  const l: ApduLimits = { ...DEFAULT_APDU_LIMITS, ...limits };
  if (bytes.length === 0) throw new DlmsDecodeError('apdu', 'empty APDU', 0);
  if (bytes.length > l.maxApduBytes) throw new DlmsDecodeError('apdu', `APDU of ${bytes.length} bytes exceeds the limit of ${l.maxApduBytes}`, 0);
  const tag = bytes[0] ?? 0;
  switch (tag) {
    case AARQ_TAG: return { apdu: decodeAarq(bytes), trailing: 0 };
    case AARE_TAG: return { apdu: decodeAare(bytes), trailing: 0 };
    case RLRQ_TAG: return { apdu: decodeRlrq(bytes), trailing: 0 };
    case RLRE_TAG: return { apdu: decodeRlre(bytes), trailing: 0 };
    default: break;
  }
  const r = new ByteReader(bytes, 'apdu', 1);
  const apdu = readXdlms(tag, r, l);
  return { apdu, trailing: r.remaining };
}

/** Encodes one APDU; values out of range for their field throw DlmsEncodeError. */
export function encodeApdu(apdu: Apdu): Uint8Array {
  const w = new ByteWriter(64);
  switch (apdu.type) {
    case 'aarq': writeAarq(w, apdu); break;
    case 'aare': writeAare(w, apdu); break;
    case 'rlrq': return encodeRlrq(apdu);
    case 'rlre': return encodeRlre(apdu);
    case 'get-request-normal': case 'get-request-next': case 'get-request-with-list':
      writeGetRequest(w.u8(GET_REQUEST_TAG), apdu); break;
    case 'get-response-normal': case 'get-response-with-datablock': case 'get-response-with-list':
      writeGetResponse(w.u8(GET_RESPONSE_TAG), apdu); break;
    case 'set-request-normal': case 'set-request-with-first-datablock': case 'set-request-with-datablock':
    case 'set-request-with-list': case 'set-request-with-list-and-first-datablock':
      writeSetRequest(w.u8(SET_REQUEST_TAG), apdu); break;
    case 'set-response-normal': case 'set-response-datablock': case 'set-response-last-datablock':
    case 'set-response-last-datablock-with-list': case 'set-response-with-list':
      writeSetResponse(w.u8(SET_RESPONSE_TAG), apdu); break;
    case 'action-request-normal': case 'action-request-next-pblock': case 'action-request-with-list':
    case 'action-request-with-first-pblock': case 'action-request-with-list-and-first-pblock': case 'action-request-with-pblock':
      writeActionRequest(w.u8(ACTION_REQUEST_TAG), apdu); break;
    case 'action-response-normal': case 'action-response-with-pblock': case 'action-response-with-list':
    case 'action-response-next-pblock':
      writeActionResponse(w.u8(ACTION_RESPONSE_TAG), apdu); break;
    case 'data-notification': writeDataNotification(w.u8(DATA_NOTIFICATION_TAG), apdu); break;
    case 'event-notification-request': writeEventNotificationRequest(w.u8(EVENT_NOTIFICATION_REQUEST_TAG), apdu); break;
    case 'exception-response': writeExceptionResponse(w.u8(APDU_TAG['exception-response']), apdu); break;
    case 'confirmed-service-error': writeConfirmedServiceError(w.u8(APDU_TAG['confirmed-service-error']), apdu); break;
  }
  return w.toBytes();
}

/**
 * Tags of APDUs outside this profile, named so the error says what arrived: ciphered
 * (glo-/ded-/general-ciphering, IEC 62056-5-3 §8) and SN-referencing services.
 */
const FOREIGN_TAG: Readonly<Record<number, string>> = {
  0x05: 'SN read-request', 0x06: 'SN write-request', 0x0c: 'SN read-response', 0x0d: 'SN write-response',
  0x18: 'SN unconfirmed-write-request', 0x21: 'glo-initiate-request', 0x28: 'glo-initiate-response',
  0xc8: 'glo-get-request', 0xc9: 'glo-set-request', 0xca: 'glo-event-notification-request', 0xcb: 'glo-action-request',
  0xcc: 'glo-get-response', 0xcd: 'glo-set-response', 0xcf: 'glo-action-response',
  0xd0: 'ded-get-request', 0xd1: 'ded-set-request', 0xd2: 'ded-event-notification-request', 0xd3: 'ded-action-request',
  0xd4: 'ded-get-response', 0xd5: 'ded-set-response', 0xd7: 'ded-action-response',
  0xdb: 'general-glo-ciphering', 0xdc: 'general-ded-ciphering', 0xdd: 'general-ciphering',
  0xdf: 'general-signing', 0xe0: 'general-block-transfer',
};

function readXdlms(tag: number, r: ByteReader, l: ApduLimits): XdlmsApdu {
  switch (tag) {
    case GET_REQUEST_TAG: return readGetRequest(r, l);
    case GET_RESPONSE_TAG: return readGetResponse(r, l);
    case SET_REQUEST_TAG: return readSetRequest(r, l);
    case SET_RESPONSE_TAG: return readSetResponse(r, l);
    case ACTION_REQUEST_TAG: return readActionRequest(r, l);
    case ACTION_RESPONSE_TAG: return readActionResponse(r, l);
    case DATA_NOTIFICATION_TAG: return readDataNotification(r, l);
    case EVENT_NOTIFICATION_REQUEST_TAG: return readEventNotificationRequest(r, l);
    case APDU_TAG['exception-response']: return readExceptionResponse(r);
    case APDU_TAG['confirmed-service-error']: return readConfirmedServiceError(r);
    default: {
      const name = FOREIGN_TAG[tag];
      return r.fail(name === undefined
        ? `unknown APDU tag 0x${tag.toString(16)}`
        : `${name} (tag 0x${tag.toString(16)}) is not supported by the LN profile without ciphering`, 0);
    }
  }
}
