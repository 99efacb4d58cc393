/**
 * The association exchange (Green Book §9.4.2.2 / IEC 62056-5-3 §7.2): the AARQ a LN client
 * sends, and what it keeps from the AARE. Pure: bytes in, typed results out.
 */
import type { Aarq } from '../acse/aarq.js';
import { associationOutcome } from '../acse/aare.js';
import { conformanceFeatures, type Conformance, type ConformanceFeature } from '../acse/conformance.js';
import {
  DLMS_VERSION, encodeUserInformation, foreignUserInformation, type ForeignUserInformation, type InitiateRequest, type UserInformation,
} from '../acse/initiate.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../acse/names.js';
import type { Rlrq } from '../acse/release.js';
import type { Apdu } from '../apduCodec.js';
import { UnexpectedResponse } from './errors.js';

/** 'high-gmac' takes its keys and system titles from DlmsClientOptions.security. */
export type Authentication =
  | { readonly mechanism: 'none' }
  | { readonly mechanism: 'low'; readonly password: string }
  | { readonly mechanism: 'high-gmac' };

export type { ForeignUserInformation } from '../acse/initiate.js';

/** What the server granted: the client bounds its requests by it. */
export interface NegotiatedAssociation {
  /** The server's negotiated conformance block (the features it granted of those proposed). */
  readonly conformance: Conformance;
  readonly features: readonly ConformanceFeature[];
  /** Largest APDU the server accepts from us (server-max-receive-pdu-size). */
  readonly serverMaxReceivePduSize: number;
  readonly dlmsVersion: number;
}

export interface AarqParameters {
  readonly auth: Authentication;
  readonly conformance: Conformance;
  readonly maxReceivePduSize: number;
  /** Our system title, sent as calling-AP-title (ciphered contexts and HLS-GMAC). */
  readonly callingApTitle?: Uint8Array;
  /** HLS: the client-to-server challenge CtoS, sent as calling-authentication-value. */
  readonly challenge?: Uint8Array;
  /**
   * When given, the context is LN with ciphering and the InitiateRequest travels as the
   * glo-initiate-request this function returns for its plain encoding.
   */
  readonly cipherInitiate?: (plainInitiate: Uint8Array) => Uint8Array;
  /**
   * The association's dedicated key, carried in the InitiateRequest (IEC 62056-5-3 §8);
   * only with `cipherInitiate`, as the key must not travel in clear.
   */
  readonly dedicatedKey?: Uint8Array;
}

/**
 * The AARQ for the LN-referencing context, without or with ciphering (2.16.756.5.8.1.1 / .3).
 * LLS (Green Book §9.2.7.2.2): the authentication functional unit is selected
 * (sender-acse-requirements), the mechanism name is 2.16.756.5.8.2.1 and
 * calling-authentication-value carries the password. HLS-GMAC (§9.2.7.4, pass 1): mechanism
 * 2.16.756.5.8.2.5, calling-AP-title our system title and calling-authentication-value CtoS.
 * With a ciphered context the InitiateRequest is glo-ciphered (glo-initiate-request [33],
 * §9.2.7.2.2 / IEC 62056-5-3 §8). With no security the authentication fields are left out,
 * as the lowest-security mechanism implies.
 */
export function buildAarq(p: AarqParameters): Aarq {
  const initiate = proposedInitiate(p);
  const ciphered = p.cipherInitiate !== undefined;
  if (p.dedicatedKey !== undefined && !ciphered) throw new TypeError('a dedicated key travels only in a ciphered InitiateRequest');
  const userInformation: UserInformation = p.cipherInitiate === undefined ? initiate : foreignUserInformation(p.cipherInitiate(encodeUserInformation(initiate)));
  const base = {
    type: 'aarq',
    applicationContext: APPLICATION_CONTEXT[ciphered ? 'logical-name-ciphered' : 'logical-name'],
    ...(p.callingApTitle === undefined ? {} : { callingApTitle: p.callingApTitle }),
    userInformation,
  } as const;
  switch (p.auth.mechanism) {
    case 'none': return { ...base, authenticationRequired: false };
    case 'low':
      return { ...base, authenticationRequired: true, mechanismName: MECHANISM.low, callingAuthenticationValue: new TextEncoder().encode(p.auth.password) };
    case 'high-gmac':
      if (p.challenge === undefined || p.callingApTitle === undefined) throw new TypeError('HLS-GMAC needs a challenge and a calling-AP-title');
      return { ...base, authenticationRequired: true, mechanismName: MECHANISM['high-gmac'], callingAuthenticationValue: p.challenge };
  }
}

/**
 * The RLRQ with reason normal (Green Book §9.3.3 COSEM-RELEASE, §9.4.2.3; ISO/IEC 8650-1 ASN.1).
 * In a ciphered context its user-information repeats the xDLMS context proposed in the AARQ as
 * a glo-initiate-request [33] (Green Book §9.3.3.2), so only a client holding the keys can end
 * the association: meters passing the DLMS UA conformance tests refuse a plain one. The
 * dedicated key is left out: the InitiateRequest makes it OPTIONAL and it would only put key
 * material on the wire again for an association that is ending.
 */
export function buildRlrq(p: Pick<AarqParameters, 'conformance' | 'maxReceivePduSize' | 'cipherInitiate'>): Rlrq {
  if (p.cipherInitiate === undefined) return { type: 'rlrq', reason: 'normal' };
  const initiate = proposedInitiate({ conformance: p.conformance, maxReceivePduSize: p.maxReceivePduSize });
  return { type: 'rlrq', reason: 'normal', userInformation: foreignUserInformation(p.cipherInitiate(encodeUserInformation(initiate))) };
}

/** The xDLMS InitiateRequest of our proposal (Green Book §9.4.6.1 / §9.5 ASN.1). */
function proposedInitiate(p: Pick<AarqParameters, 'conformance' | 'maxReceivePduSize' | 'dedicatedKey'>): InitiateRequest {
  return {
    type: 'initiate-request',
    responseAllowed: true,
    proposedDlmsVersion: DLMS_VERSION,
    proposedConformance: p.conformance,
    clientMaxReceivePduSize: p.maxReceivePduSize,
    ...(p.dedicatedKey === undefined ? {} : { dedicatedKey: p.dedicatedKey }),
  };
}

/**
 * The negotiated parameters from the server's answer; a refusal throws AssociationRejected
 * (with the diagnostic's name), anything but an AARE carrying an InitiateResponse throws
 * UnexpectedResponse. `decipher` opens a glo-initiate-response [40] (ciphered contexts).
 */
export function readAssociationResponse(
  reply: Apdu, terminalId?: string, decipher?: (u: ForeignUserInformation) => UserInformation,
): NegotiatedAssociation {
  if (reply.type !== 'aare') {
    throw new UnexpectedResponse('apdu-type', `expected an AARE, got ${reply.type}`, terminalId);
  }
  const outcome = associationOutcome(reply, terminalId);
  if (!outcome.ok) throw outcome.error;
  const u = reply.userInformation?.type === 'other' && decipher !== undefined ? decipher(reply.userInformation) : reply.userInformation;
  if (u?.type !== 'initiate-response') {
    throw new UnexpectedResponse('apdu-type', `accepted AARE without an InitiateResponse (${u?.type ?? 'no user-information'})`, terminalId);
  }
  return {
    conformance: u.negotiatedConformance,
    features: conformanceFeatures(u.negotiatedConformance),
    serverMaxReceivePduSize: u.serverMaxReceivePduSize,
    dlmsVersion: u.negotiatedDlmsVersion,
  };
}
