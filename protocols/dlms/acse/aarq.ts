/**
 * AARQ, the A-ASSOCIATE request (IEC 62056-5-3 §8 / Green Book §9.4.2.2 and the ACSE
 * ASN.1 of §9.5): [APPLICATION 0] IMPLICIT SEQUENCE, identifier 0x60. Field tags are
 * context-specific: constructed 0xA0|n for EXPLICIT fields, primitive 0x80|n for IMPLICIT.
 */
import { ByteWriter } from '../bytes.js';
import { BerReader, writeTlv } from './ber.js';
import {
  checkProtocolVersion, readAcseRequirements, readAuthenticationValue, readExplicitOctets, readExplicitOid,
  readUserInformationField, writeAcseRequirements, writeAuthenticationValue, writeExplicitOctets,
  writeExplicitOid, writeImplicitOid, writeUserInformationField,
} from './fields.js';
import type { UserInformation } from './initiate.js';

export const AARQ_TAG = 0x60;

export interface Aarq {
  readonly type: 'aarq';
  /** OID; see APPLICATION_CONTEXT (LN without ciphering: 2.16.756.5.8.1.1). */
  readonly applicationContext: string;
  readonly calledApTitle?: Uint8Array;
  readonly calledAeQualifier?: Uint8Array;
  /** The client's system title (ciphered contexts, HLS). */
  readonly callingApTitle?: Uint8Array;
  /** The client's certificate (HLS-ECDSA). */
  readonly callingAeQualifier?: Uint8Array;
  /** sender-acse-requirements with the authentication bit: the authentication functional unit is selected. */
  readonly authenticationRequired: boolean;
  /** OID; see MECHANISM (LLS: 2.16.756.5.8.2.1). */
  readonly mechanismName?: string;
  /** LLS: the password; HLS: the client-to-server challenge. */
  readonly callingAuthenticationValue?: Uint8Array;
  readonly userInformation?: UserInformation;
}

/** Field tags (Green Book §9.5 AARQ-apdu). */
const F = {
  protocolVersion: 0x80,
  applicationContext: 0xa1,
  calledApTitle: 0xa2,
  calledAeQualifier: 0xa3,
  callingApTitle: 0xa6,
  callingAeQualifier: 0xa7,
  senderAcseRequirements: 0x8a,
  mechanismName: 0x8b,
  callingAuthenticationValue: 0xac,
  userInformation: 0xbe,
} as const;

/**
 * Decodes an AARQ (the whole APDU, identifier 0x60 included). AP/AE invocation
 * identifiers (0xA4, 0xA5, 0xA8, 0xA9) and implementation-information (0x9D) are not
 * used by the DLMS profile; they are skipped rather than refused.
 */
export function decodeAarq(bytes: Uint8Array): Aarq {
  const outer = new BerReader(bytes);
  const apdu = outer.next('AARQ');
  if (apdu.tag !== AARQ_TAG) outer.fail(`not an AARQ: identifier 0x${apdu.tag.toString(16)}`, apdu.at);
  outer.done('AARQ');
  const c = apdu.content;
  const seen = new Set<number>();
  let applicationContext: string | undefined;
  let authenticationRequired = false;
  const out: { -readonly [K in keyof Aarq]?: Aarq[K] } = {};
  while (!c.atEnd) {
    const e = c.next('AARQ field');
    if (seen.has(e.tag)) c.fail(`AARQ: field 0x${e.tag.toString(16)} appears twice`, e.at);
    seen.add(e.tag);
    switch (e.tag) {
      case F.protocolVersion: checkProtocolVersion(e.content); break;
      case F.applicationContext: applicationContext = readExplicitOid(e.content, 'application-context-name'); break;
      case F.calledApTitle: out.calledApTitle = readExplicitOctets(e.content, 'called-AP-title'); break;
      case F.calledAeQualifier: out.calledAeQualifier = readExplicitOctets(e.content, 'called-AE-qualifier'); break;
      case F.callingApTitle: out.callingApTitle = readExplicitOctets(e.content, 'calling-AP-title'); break;
      case F.callingAeQualifier: out.callingAeQualifier = readExplicitOctets(e.content, 'calling-AE-qualifier'); break;
      case F.senderAcseRequirements: authenticationRequired = readAcseRequirements(e.content, 'sender-acse-requirements'); break;
      case F.mechanismName: out.mechanismName = e.content.oid('mechanism-name'); break;
      case F.callingAuthenticationValue:
        out.callingAuthenticationValue = readAuthenticationValue(e.content, 'calling-authentication-value');
        break;
      case F.userInformation: out.userInformation = readUserInformationField(e.content); break;
      default:
        if ((e.tag & 0xc0) !== 0x80) c.fail(`AARQ: unexpected identifier 0x${e.tag.toString(16)}`, e.at);
    }
  }
  if (applicationContext === undefined) return c.fail('AARQ: application-context-name missing');
  return { type: 'aarq', applicationContext, authenticationRequired, ...out };
}

export function encodeAarq(a: Omit<Aarq, 'type'>): Uint8Array {
  const w = new ByteWriter(64);
  writeAarq(w, a);
  return w.toBytes();
}

/** Writes the AARQ in the field order of the ASN.1 SEQUENCE; protocol-version is left at its DEFAULT. */
export function writeAarq(w: ByteWriter, a: Omit<Aarq, 'type'>): void {
  writeTlv(w, AARQ_TAG, (c) => {
    writeExplicitOid(c, F.applicationContext, a.applicationContext);
    if (a.calledApTitle) writeExplicitOctets(c, F.calledApTitle, a.calledApTitle);
    if (a.calledAeQualifier) writeExplicitOctets(c, F.calledAeQualifier, a.calledAeQualifier);
    if (a.callingApTitle) writeExplicitOctets(c, F.callingApTitle, a.callingApTitle);
    if (a.callingAeQualifier) writeExplicitOctets(c, F.callingAeQualifier, a.callingAeQualifier);
    if (a.authenticationRequired) writeAcseRequirements(c, F.senderAcseRequirements);
    if (a.mechanismName !== undefined) writeImplicitOid(c, F.mechanismName, a.mechanismName);
    if (a.callingAuthenticationValue) writeAuthenticationValue(c, F.callingAuthenticationValue, a.callingAuthenticationValue);
    if (a.userInformation) writeUserInformationField(c, a.userInformation);
  });
}
