/**
 * ACSE field encodings shared by AARQ, AARE, RLRQ and RLRE (IEC 62056-5-3 §8 /
 * Green Book §9.4.2, ISO/IEC 8650-1 ASN.1 as profiled by DLMS). Each reader takes the
 * contents of an already-read context tag; each writer emits the whole TLV.
 */
import type { ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import { writeTlv, integerContents, oidContents, type BerReader } from './ber.js';
import { encodeUserInformation, readUserInformation, type UserInformation } from './initiate.js';

/** Upper bound on titles, qualifiers and authentication values: ECDSA certificates fit, garbage does not grow. */
export const MAX_ACSE_OCTETS = 2048;

const OCTET_STRING = 0x04;
const OBJECT_IDENTIFIER = 0x06;
const INTEGER = 0x02;
/** Authentication-value CHOICE charstring [0] IMPLICIT GraphicString. */
const CHARSTRING = 0x80;
/** Association-information: [30] EXPLICIT, constructed. */
export const USER_INFORMATION_TAG = 0xbe;

/** [n] EXPLICIT OBJECT IDENTIFIER (application-context-name). */
export function readExplicitOid(c: BerReader, what: string): string {
  const e = c.next(what);
  if (e.tag !== OBJECT_IDENTIFIER) c.fail(`${what}: expected OBJECT IDENTIFIER, got tag 0x${e.tag.toString(16)}`, e.at);
  c.done(what);
  return e.content.oid(what);
}

export function writeExplicitOid(w: ByteWriter, tag: number, oid: string): void {
  writeTlv(w, tag, (i) => writeTlv(i, OBJECT_IDENTIFIER, (o) => o.bytes(oidContents(oid))));
}

/** [n] IMPLICIT OBJECT IDENTIFIER (mechanism-name). */
export function writeImplicitOid(w: ByteWriter, tag: number, oid: string): void {
  writeTlv(w, tag, (o) => o.bytes(oidContents(oid)));
}

/** [n] EXPLICIT INTEGER (association result, diagnostics). */
export function readExplicitInteger(c: BerReader, what: string): number {
  const e = c.next(what);
  if (e.tag !== INTEGER) c.fail(`${what}: expected INTEGER, got tag 0x${e.tag.toString(16)}`, e.at);
  c.done(what);
  return e.content.integer(what);
}

export function writeExplicitInteger(w: ByteWriter, tag: number, v: number): void {
  writeTlv(w, tag, (i) => writeTlv(i, INTEGER, (o) => o.bytes(integerContents(v))));
}

export function writeImplicitInteger(w: ByteWriter, tag: number, v: number): void {
  writeTlv(w, tag, (o) => o.bytes(integerContents(v)));
}

/** AP-title / AE-qualifier: [n] EXPLICIT OCTET STRING in the DLMS profile (system title, certificate). */
export function readExplicitOctets(c: BerReader, what: string): Uint8Array {
  const e = c.next(what);
  if (e.tag !== OCTET_STRING) c.fail(`${what}: expected OCTET STRING, got tag 0x${e.tag.toString(16)}`, e.at);
  c.done(what);
  return boundedOctets(e.content, what);
}

export function writeExplicitOctets(w: ByteWriter, tag: number, v: Uint8Array): void {
  checkOctets(v, tag);
  writeTlv(w, tag, (i) => writeTlv(i, OCTET_STRING, (o) => o.bytes(v)));
}

/**
 * ACSE-requirements: IMPLICIT BIT STRING { authentication (0) }. True when the
 * authentication functional unit is selected (Green Book §9.4.2.2.2: `8A 02 07 80`).
 */
export function readAcseRequirements(c: BerReader, what: string): boolean {
  const b = c.raw();
  const unused = b.u8(`${what} unused bits`);
  if (unused > 7 || b.remaining === 0) c.fail(`${what}: malformed BIT STRING`);
  const first = b.u8(what);
  return (first & 0x80) !== 0;
}

export function writeAcseRequirements(w: ByteWriter, tag: number): void {
  writeTlv(w, tag, (o) => o.u8(0x07).u8(0x80));
}

/** Authentication-value: [n] EXPLICIT CHOICE; DLMS uses charstring [0] (password or challenge). */
export function readAuthenticationValue(c: BerReader, what: string): Uint8Array {
  const e = c.next(what);
  if (e.tag !== CHARSTRING) c.fail(`${what}: only the charstring form (0x80) is supported, got 0x${e.tag.toString(16)}`, e.at);
  c.done(what);
  return boundedOctets(e.content, what);
}

export function writeAuthenticationValue(w: ByteWriter, tag: number, v: Uint8Array): void {
  checkOctets(v, tag);
  writeTlv(w, tag, (i) => writeTlv(i, CHARSTRING, (o) => o.bytes(v)));
}

/** user-information: [30] EXPLICIT OCTET STRING holding one A-XDR xDLMS APDU. */
export function readUserInformationField(c: BerReader): UserInformation {
  const e = c.next('user-information');
  if (e.tag !== OCTET_STRING) c.fail(`user-information: expected OCTET STRING, got tag 0x${e.tag.toString(16)}`, e.at);
  c.done('user-information');
  return readUserInformation(e.content.raw());
}

export function writeUserInformationField(w: ByteWriter, u: UserInformation): void {
  const bytes = encodeUserInformation(u);
  writeTlv(w, USER_INFORMATION_TAG, (i) => writeTlv(i, OCTET_STRING, (o) => o.bytes(bytes)));
}

/** protocol-version [0] IMPLICIT BIT STRING: only version1 exists, so it is checked, not kept. */
export function checkProtocolVersion(c: BerReader): void {
  const b = c.raw();
  const unused = b.u8('protocol-version unused bits');
  const first = b.u8('protocol-version');
  if (unused > 7 || (first & 0x80) === 0) c.fail('protocol-version: version1 bit not set');
}

function boundedOctets(c: BerReader, what: string): Uint8Array {
  const v = c.rest();
  if (v.length > MAX_ACSE_OCTETS) c.fail(`${what}: ${v.length} octets exceed the limit of ${MAX_ACSE_OCTETS}`);
  return v.slice();
}

function checkOctets(v: Uint8Array, tag: number): void {
  if (v.length > MAX_ACSE_OCTETS) {
    throw new DlmsEncodeError('acse', `field 0x${tag.toString(16)}: ${v.length} octets exceed ${MAX_ACSE_OCTETS}`);
  }
}
