/**
 * The xDLMS InitiateRequest / InitiateResponse that ride in the ACSE user-information field
 * (IEC 62056-5-3 §8 / Green Book §9.4.6.1 and §9.5 ASN.1). They are A-XDR inside a BER
 * OCTET STRING: `BE len 04 len <xDLMS-APDU>`. Optional fields are 0x00 (absent) or 0x01
 * + value; DEFAULT fields are 0x00 (the default) or 0x01 + value (A-XDR, IEC 61334-6).
 */
import type { ByteReader} from '../bytes.js';
import { ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import {
  readConfirmedServiceError, writeConfirmedServiceError, type ConfirmedServiceError,
} from '../apdu/serviceErrors.js';
import type { Conformance } from './conformance.js';

/** xDLMS-APDU tags of the initiate exchange (Green Book §9.5). */
export const INITIATE_TAG = { request: 0x01, response: 0x08, confirmedServiceError: 0x0e } as const;

/** The DLMS version every current meter speaks (Green Book: dlms-version-number 6). */
export const DLMS_VERSION = 6;

/** Keys are 16 or 32 bytes (AES-128/256); anything longer is not a key. */
const MAX_DEDICATED_KEY = 32;

export interface InitiateRequest {
  readonly type: 'initiate-request';
  /** Only with ciphered contexts; LN without ciphering leaves it out. */
  readonly dedicatedKey?: Uint8Array;
  /** DEFAULT TRUE: false asks the server not to answer (unconfirmed association). */
  readonly responseAllowed: boolean;
  readonly proposedQualityOfService?: number;
  readonly proposedDlmsVersion: number;
  readonly proposedConformance: Conformance;
  readonly clientMaxReceivePduSize: number;
}

export interface InitiateResponse {
  readonly type: 'initiate-response';
  readonly negotiatedQualityOfService?: number;
  readonly negotiatedDlmsVersion: number;
  readonly negotiatedConformance: Conformance;
  readonly serverMaxReceivePduSize: number;
  /** Green Book: 0x0007 for LN referencing, the base name of the association in SN. */
  readonly vaaName: number;
}

/**
 * What user-information carries. `other` keeps bytes this layer does not interpret, such as
 * a ciphered glo-InitiateRequest (0x21) for the security layer to open.
 */
export type UserInformation =
  | InitiateRequest
  | InitiateResponse
  | ConfirmedServiceError
  | { readonly type: 'other'; readonly tag: number; readonly bytes: Uint8Array };

/** A user-information this layer carries without interpreting (a glo-ciphered initiate APDU). */
export type ForeignUserInformation = Extract<UserInformation, { type: 'other' }>;

/**
 * A ciphered xDLMS APDU (glo-initiate-request [33], glo-initiate-response [40], …) as the
 * user-information of an AARQ, AARE, RLRQ or RLRE (Green Book §9.2.7.2.2, §9.3.3).
 */
export function foreignUserInformation(apdu: Uint8Array): ForeignUserInformation {
  const tag = apdu[0];
  if (tag === undefined) throw new DlmsEncodeError('acse', 'empty ciphered user-information');
  return { type: 'other', tag, bytes: apdu.subarray(1) };
}

/** The whole APDU (tag and content) of a foreign user-information, for the security layer to open. */
export function foreignApdu(u: ForeignUserInformation): Uint8Array {
  const apdu = new Uint8Array(u.bytes.length + 1);
  apdu[0] = u.tag;
  apdu.set(u.bytes, 1);
  return apdu;
}

/** Decodes the contents of the user-information OCTET STRING. */
export function readUserInformation(r: ByteReader): UserInformation {
  const at = r.offset;
  const tag = r.u8('xDLMS tag');
  let out: UserInformation;
  if (tag === INITIATE_TAG.request) out = readInitiateRequest(r);
  else if (tag === INITIATE_TAG.response) out = readInitiateResponse(r);
  else if (tag === INITIATE_TAG.confirmedServiceError) out = readConfirmedServiceError(r);
  else return { type: 'other', tag, bytes: r.bytes(r.remaining).slice() };
  if (r.remaining !== 0) r.fail(`user-information: ${r.remaining} byte(s) after the xDLMS APDU`, at);
  return out;
}

export function writeUserInformation(w: ByteWriter, u: UserInformation): void {
  switch (u.type) {
    case 'initiate-request': {
      w.u8(INITIATE_TAG.request);
      writeOptionalOctets(w, u.dedicatedKey);
      if (u.responseAllowed) w.u8(0);
      else w.u8(1).u8(0);
      writeOptionalInt8(w, u.proposedQualityOfService);
      w.u8(u8(u.proposedDlmsVersion, 'dlms version'));
      writeConformance(w, u.proposedConformance);
      w.u16(u16(u.clientMaxReceivePduSize, 'client-max-receive-pdu-size'));
      return;
    }
    case 'initiate-response':
      w.u8(INITIATE_TAG.response);
      writeOptionalInt8(w, u.negotiatedQualityOfService);
      w.u8(u8(u.negotiatedDlmsVersion, 'dlms version'));
      writeConformance(w, u.negotiatedConformance);
      w.u16(u16(u.serverMaxReceivePduSize, 'server-max-receive-pdu-size'));
      w.u16(u16(u.vaaName, 'vaa-name'));
      return;
    case 'confirmed-service-error':
      w.u8(INITIATE_TAG.confirmedServiceError);
      writeConfirmedServiceError(w, u);
      return;
    case 'other':
      // An `other` that reused an initiate tag would read back as that APDU, not as itself.
      if (!Number.isInteger(u.tag) || u.tag < 0 || u.tag > 0xff || (Object.values(INITIATE_TAG) as number[]).includes(u.tag)) {
        throw new DlmsEncodeError('acse', `user-information tag ${u.tag} is not a foreign xDLMS tag`);
      }
      w.u8(u.tag).bytes(u.bytes);
      return;
  }
}

/** User-information contents as bytes (for the BER OCTET STRING). */
export function encodeUserInformation(u: UserInformation): Uint8Array {
  const w = new ByteWriter(32);
  writeUserInformation(w, u);
  return w.toBytes();
}

function readInitiateRequest(r: ByteReader): InitiateRequest {
  const dedicatedKey = r.u8('dedicated-key present') !== 0
    ? r.bytes(r.length(MAX_DEDICATED_KEY, 'dedicated-key length'), 'dedicated-key').slice()
    : undefined;
  const responseAllowed = r.u8('response-allowed present') !== 0 ? r.u8('response-allowed') !== 0 : true;
  const qos = readOptionalInt8(r);
  const proposedDlmsVersion = r.u8('proposed-dlms-version-number');
  const proposedConformance = readConformance(r);
  const clientMaxReceivePduSize = r.u16('client-max-receive-pdu-size');
  return {
    type: 'initiate-request',
    ...(dedicatedKey === undefined ? {} : { dedicatedKey }),
    responseAllowed,
    ...(qos === undefined ? {} : { proposedQualityOfService: qos }),
    proposedDlmsVersion,
    proposedConformance,
    clientMaxReceivePduSize,
  };
}

function readInitiateResponse(r: ByteReader): InitiateResponse {
  const qos = readOptionalInt8(r);
  const negotiatedDlmsVersion = r.u8('negotiated-dlms-version-number');
  const negotiatedConformance = readConformance(r);
  const serverMaxReceivePduSize = r.u16('server-max-receive-pdu-size');
  const vaaName = r.u16('vaa-name');
  return {
    type: 'initiate-response',
    ...(qos === undefined ? {} : { negotiatedQualityOfService: qos }),
    negotiatedDlmsVersion, negotiatedConformance, serverMaxReceivePduSize, vaaName,
  };
}

/**
 * Conformance keeps its BER form inside A-XDR (Green Book §9.4.6.1): tag 5F 1F
 * ([APPLICATION 31], high-tag-number form), length 04, 00 unused bits, three octets.
 */
function readConformance(r: ByteReader): Conformance {
  const at = r.offset;
  const head = r.bytes(4, 'conformance header');
  if (head[0] !== 0x5f || head[1] !== 0x1f || head[2] !== 0x04 || head[3] !== 0x00) {
    r.fail('conformance: expected 5F 1F 04 00 (BIT STRING of 24 bits)', at);
  }
  const b = r.bytes(3, 'conformance bits');
  return ((b[0] ?? 0) << 16) | ((b[1] ?? 0) << 8) | (b[2] ?? 0);
}

function writeConformance(w: ByteWriter, c: Conformance): void {
  if (!Number.isInteger(c) || c < 0 || c > 0xffffff) throw new DlmsEncodeError('acse', `conformance ${c} is not 24 bits`);
  w.u8(0x5f).u8(0x1f).u8(0x04).u8(0x00).u8(c >>> 16).u8(c >>> 8).u8(c);
}

function readOptionalInt8(r: ByteReader): number | undefined {
  if (r.u8('quality-of-service present') === 0) return undefined;
  const v = r.u8('quality-of-service');
  return v >= 0x80 ? v - 0x100 : v;
}

function writeOptionalInt8(w: ByteWriter, v: number | undefined): void {
  if (v === undefined) {
    w.u8(0);
    return;
  }
  if (!Number.isInteger(v) || v < -128 || v > 127) throw new DlmsEncodeError('acse', `quality-of-service ${v} is not an Integer8`);
  w.u8(1).u8(v);
}

function writeOptionalOctets(w: ByteWriter, v: Uint8Array | undefined): void {
  if (v === undefined) {
    w.u8(0);
    return;
  }
  if (v.length > MAX_DEDICATED_KEY) throw new DlmsEncodeError('acse', `dedicated-key of ${v.length} bytes`);
  w.u8(1).length(v.length).bytes(v);
}

function u8(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new DlmsEncodeError('acse', `${what} ${v} is not an Unsigned8`);
  return v;
}

function u16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new DlmsEncodeError('acse', `${what} ${v} is not an Unsigned16`);
  return v;
}
