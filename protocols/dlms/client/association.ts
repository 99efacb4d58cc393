/**
 * The association exchange (Green Book §9.4.2.2 / IEC 62056-5-3 §7.2): the AARQ a LN client
 * sends, and what it keeps from the AARE. Pure: bytes in, typed results out.
 */
import type { Aarq } from '../acse/aarq.js';
import { associationOutcome } from '../acse/aare.js';
import { conformanceFeatures, type Conformance, type ConformanceFeature } from '../acse/conformance.js';
import { DLMS_VERSION } from '../acse/initiate.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../acse/names.js';
import type { Apdu } from '../apdu/apdu.js';
import { UnexpectedResponse } from './errors.js';

export type Authentication = { readonly mechanism: 'none' } | { readonly mechanism: 'low'; readonly password: string };

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
}

/**
 * The AARQ for the LN-referencing context without ciphering. LLS (Green Book §9.2.7.2.2):
 * the authentication functional unit is selected (sender-acse-requirements), the mechanism
 * name is 2.16.756.5.8.2.1 and calling-authentication-value carries the password. With no
 * security the three fields are left out, as the lowest-security mechanism implies.
 */
export function buildAarq(p: AarqParameters): Aarq {
  const initiate = {
    type: 'initiate-request',
    responseAllowed: true,
    proposedDlmsVersion: DLMS_VERSION,
    proposedConformance: p.conformance,
    clientMaxReceivePduSize: p.maxReceivePduSize,
  } as const;
  const base = { type: 'aarq', applicationContext: APPLICATION_CONTEXT['logical-name'], userInformation: initiate } as const;
  if (p.auth.mechanism === 'none') return { ...base, authenticationRequired: false };
  return {
    ...base,
    authenticationRequired: true,
    mechanismName: MECHANISM.low,
    callingAuthenticationValue: new TextEncoder().encode(p.auth.password),
  };
}

/**
 * The negotiated parameters from the server's answer; a refusal throws AssociationRejected
 * (with the diagnostic's name), anything but an AARE carrying an InitiateResponse throws
 * UnexpectedResponse.
 */
export function readAssociationResponse(reply: Apdu, terminalId?: string): NegotiatedAssociation {
  if (reply.type !== 'aare') {
    throw new UnexpectedResponse('apdu-type', `expected an AARE, got ${reply.type}`, terminalId);
  }
  const outcome = associationOutcome(reply, terminalId);
  if (!outcome.ok) throw outcome.error;
  const u = reply.userInformation;
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
