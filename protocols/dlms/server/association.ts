/**
 * The server side of COSEM-OPEN (Green Book §9.4.2.2 / IEC 62056-5-3, COSEM-OPEN): an
 * AARQ in, the AARE out and, when accepted, the negotiated xDLMS context. Checks run in the
 * order the ACSE then the xDLMS layer would apply them:
 *   1. application-context-name must be LN, without ciphering or (when the client's policy
 *      asks for APDU protection) with it, else acse-service-user
 *      application-context-name-not-supported (2);
 *   2. the client SAP must have a policy, else no-reason-given (1); with a security policy the
 *      calling-AP-title must be an 8-octet system title (the expected one, if named), else
 *      calling-AP-title-not-recognized (3);
 *   3. the mechanism must match the policy: LLS expected but no mechanism-name →
 *      authentication-mechanism-name-required (12); another mechanism →
 *      authentication-mechanism-name-not-recognised (11); LLS with a missing or wrong
 *      password → authentication-failure (13); HLS-GMAC with a CtoS outside 8..64 octets →
 *      authentication-failure (13);
 *   4. the InitiateRequest (Green Book §9.4.6.1): dlms version below 6 → dlms-version-too-low,
 *      client-max-receive-pdu-size below our minimum → pdu-size-too-short, no common GET, SET
 *      or ACTION → incompatible-conformance. These are refused as the Green Book example
 *      (reproduced by dlms-cosem test_aare.py) does: rejected-permanent, acse-service-user
 *      no-reason-given, and a ConfirmedServiceError initiateError in user-information.
 *   5. in a ciphered context the InitiateRequest must be a glo-initiate-request that
 *      deciphers (Green Book §9.2.7.2.2), else initiateError application-reference
 *      deciphering-error (the outcome carries the DlmsSecurityError for the record); a
 *      dedicated key is accepted only there (encrypted, 16 octets): a plain InitiateRequest
 *      carrying one is refused the same way, as a policy violation.
 * Accepted with HLS-GMAC, the AARE carries responding-AP-title, the mechanism name, StoC and
 * diagnostic authentication-required (14): the association waits for HLS pass 3.
 * All refusals are rejected-permanent except an AARQ arriving while an association exists
 * (rejected-transient: it may succeed once the current association is released).
 */
import type { Aarq } from '../acse/aarq.js';
import type { Aare } from '../acse/aare.js';
import { APPLICATION_CONTEXT, MECHANISM } from '../acse/names.js';
import { commonConformance, hasConformance, type Conformance } from '../acse/conformance.js';
import { DLMS_VERSION, type InitiateResponse, type UserInformation } from '../acse/initiate.js';
import { userDiagnostic, type AcseServiceUserDiagnostic, type AssociationResult } from '../acse/diagnostics.js';
import { SERVICE_ERROR } from '../apdu/serviceErrors.js';
import { GLO_CIPHERING_OVERHEAD } from '../security/ciphering.js';
import { DlmsSecurityError } from '../security/securityError.js';
import type { ClientPolicy } from './options.js';
import {
  checkSecuredAarq, newHlsChallenge, openInitiateRequest, sealInitiateResponse, type PendingHls, type SessionSecurity,
} from './sessionSecurity.js';

/** What an accepted association lets the client do, fixed for its lifetime. */
export interface AssociationContext {
  readonly clientSap: number;
  readonly authenticated: 'none' | 'low' | 'high';
  readonly readOnly: boolean;
  readonly conformance: Conformance;
  /**
   * The largest plain APDU to answer with: every response is cut to fit. It is the smaller of
   * the client's client-max-receive-pdu-size and our own server-max-receive-pdu-size, less the
   * ciphering overhead when ciphered. The standard bounds a response only by the client's size,
   * but clients commonly size their buffer by the size the server announced, so a server
   * answering a client that offers 0xFFFF with a 2 kB APDU breaks them; conforming servers cap
   * the client's proposal at their own (Gurux GXAPDU.ParseInitiate: "if client asks too high
   * PDU"), and so do we. 0xFFFF is a size like any other here (Unsigned16, Green Book §9.5).
   */
  readonly maxResponseSize: number;
  /** Security suite 0 of this association, when the client's policy has one. */
  readonly security?: SessionSecurity;
}

export interface AcseServerConfig {
  readonly policies: ReadonlyMap<number, ClientPolicy>;
  readonly conformance: Conformance;
  readonly serverMaxReceivePduSize: number;
  readonly minClientPduSize: number;
}

/**
 * `aare` is undefined when the InitiateRequest had response-allowed = FALSE: the Green Book
 * (InitiateRequest, §9.4.6.1) makes that an association the server does not answer.
 */
export type AarqOutcome =
  | { readonly accepted: true; readonly context: AssociationContext; readonly aare: Aare | undefined; readonly hls?: PendingHls }
  | { readonly accepted: false; readonly aare: Aare; readonly securityFailure?: DlmsSecurityError };

const LN = APPLICATION_CONTEXT['logical-name'];
const LN_CIPHERED = APPLICATION_CONTEXT['logical-name-ciphered'];

/** Green Book §9.5: vaa-name of an LN association is 0x0007. */
const LN_VAA_NAME = 0x0007;

type InitiateProblem = (typeof SERVICE_ERROR.initiate.values)[number];

export function answerAarq(aarq: Aarq, clientSap: number, config: AcseServerConfig): AarqOutcome {
  if (aarq.applicationContext !== LN && aarq.applicationContext !== LN_CIPHERED) return reject('application-context-name-not-supported');
  const policy = config.policies.get(clientSap);
  if (policy === undefined) return reject('no-reason-given');
  const cipheredContext = policy.security !== undefined && policy.security.protection !== 'none';
  if (aarq.applicationContext !== (cipheredContext ? LN_CIPHERED : LN)) return reject('application-context-name-not-supported');
  const titled = policy.security === undefined ? undefined : checkSecuredAarq(aarq, policy.security, policy.mechanism === 'high-gmac');
  if (titled !== undefined) return reject(titled);
  const auth = checkAuthentication(aarq, policy);
  if (auth !== undefined) return reject(auth);
  const security: SessionSecurity | undefined = policy.security === undefined || aarq.callingApTitle === undefined
    ? undefined : { policy: policy.security, clientSystemTitle: aarq.callingApTitle.slice() };

  let init = aarq.userInformation;
  if (cipheredContext && security !== undefined) {
    const opened = openInitiateRequest(init, security);
    if (!opened.ok) return { ...rejectInitiate('deciphering-error', 'application-reference'), securityFailure: opened.error };
    init = opened.value;
  } else if (init?.type === 'initiate-request' && init.dedicatedKey !== undefined) {
    // IEC 62056-5-3 §8: the dedicated key travels only in a ciphered InitiateRequest; one sent in clear is compromised.
    const error = new DlmsSecurityError('policy-violation', 'a dedicated key in a plain InitiateRequest');
    return { ...rejectInitiate('deciphering-error', 'application-reference'), securityFailure: error };
  }
  if (init?.type !== 'initiate-request') return rejectInitiate('other');
  if (init.proposedDlmsVersion < DLMS_VERSION) return rejectInitiate('dlms-version-too-low');
  if (init.clientMaxReceivePduSize < config.minClientPduSize) return rejectInitiate('pdu-size-too-short');
  const negotiated = commonConformance(init.proposedConformance, config.conformance);
  if (!hasConformance(negotiated, 'get') && !hasConformance(negotiated, 'set') && !hasConformance(negotiated, 'action')) {
    return rejectInitiate('incompatible-conformance');
  }

  const context: AssociationContext = {
    clientSap,
    authenticated: policy.mechanism === 'high-gmac' ? 'high' : policy.mechanism,
    readOnly: policy.access === 'read-only',
    conformance: negotiated,
    maxResponseSize: Math.min(init.clientMaxReceivePduSize, config.serverMaxReceivePduSize) - (cipheredContext ? GLO_CIPHERING_OVERHEAD : 0),
    ...(security === undefined ? {} : { security: init.dedicatedKey === undefined ? security : { ...security, dedicatedKey: init.dedicatedKey } }),
  };
  const plainResponse = initiateResponse(negotiated, config.serverMaxReceivePduSize);
  const response: UserInformation = cipheredContext && security !== undefined ? sealInitiateResponse(plainResponse, security) : plainResponse;
  // No responder-acse-requirements nor mechanism-name for none and LLS: they matter for HLS,
  // where the server sends its challenge; the published accepted AARE (dlms-cosem
  // test_aare.py) has neither.
  if (policy.mechanism !== 'high-gmac' || security === undefined) {
    const aare: Aare = {
      ...aareOf('accepted', 'null', response),
      applicationContext: aarq.applicationContext,
      ...(security === undefined ? {} : { respondingApTitle: security.policy.systemTitle }),
    };
    return { accepted: true, context, aare: init.responseAllowed ? aare : undefined };
  }
  // HLS pass 2 (Green Book §9.2.7.4): our system title and StoC; authentication-required says
  // the association is not usable until the client proves itself with pass 3.
  const hls: PendingHls = { ctos: aarq.callingAuthenticationValue ?? new Uint8Array(0), stoc: newHlsChallenge() };
  const aare: Aare = {
    ...aareOf('accepted', 'authentication-required', response),
    applicationContext: aarq.applicationContext,
    respondingApTitle: security.policy.systemTitle,
    authenticationRequired: true,
    mechanismName: MECHANISM['high-gmac'],
    respondingAuthenticationValue: hls.stoc,
  };
  return { accepted: true, context, hls, aare: init.responseAllowed ? aare : undefined };
}

/**
 * The negotiated xDLMS context (Green Book §9.4.6.1): sent in the AARE, and again, ciphered,
 * in the RLRE of a protected release (§9.3.3.2).
 */
export function initiateResponse(conformance: Conformance, serverMaxReceivePduSize: number): InitiateResponse {
  return {
    type: 'initiate-response',
    negotiatedDlmsVersion: DLMS_VERSION,
    negotiatedConformance: conformance,
    serverMaxReceivePduSize,
    vaaName: LN_VAA_NAME,
  };
}

/** The answer to an AARQ while another association is open on this link. */
export function rejectWhileAssociated(): Aare {
  return aareOf('rejected-transient', 'no-reason-given');
}

/** The answer to bytes tagged AARQ that do not decode: refused, no reason beyond "malformed". */
export function rejectMalformedAarq(): Aare {
  return aareOf('rejected-permanent', 'no-reason-given');
}

function checkAuthentication(aarq: Aarq, policy: ClientPolicy): AcseServiceUserDiagnostic | undefined {
  const mechanism = aarq.mechanismName;
  if (policy.mechanism === 'none') {
    // Lowest-level security: no mechanism, or the "none" mechanism named explicitly.
    return mechanism === undefined || mechanism === MECHANISM.none ? undefined : 'authentication-mechanism-name-not-recognised';
  }
  if (mechanism === undefined) return 'authentication-mechanism-name-required';
  // HLS-GMAC proves the secret later (pass 3); the challenge was checked with the AP-title.
  if (policy.mechanism === 'high-gmac') return mechanism === MECHANISM['high-gmac'] ? undefined : 'authentication-mechanism-name-not-recognised';
  if (mechanism !== MECHANISM.low) return 'authentication-mechanism-name-not-recognised';
  const given = aarq.callingAuthenticationValue;
  if (given === undefined || policy.password === undefined) return 'authentication-failure';
  return sameSecret(given, new TextEncoder().encode(policy.password)) ? undefined : 'authentication-failure';
}

/** Compares every octet whatever the first mismatch, so timing does not reveal a prefix. */
function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function reject(diagnostic: AcseServiceUserDiagnostic): AarqOutcome & { accepted: false } {
  return { accepted: false, aare: aareOf('rejected-permanent', diagnostic) };
}

function rejectInitiate(problem: InitiateProblem | 'deciphering-error', errorClass: 'initiate' | 'application-reference' = 'initiate'): AarqOutcome & { accepted: false } {
  const values: readonly string[] = SERVICE_ERROR[errorClass].values;
  const error: UserInformation = {
    type: 'confirmed-service-error',
    service: 'initiateError',
    errorClass,
    value: values.indexOf(problem),
  };
  return { accepted: false, aare: aareOf('rejected-permanent', 'no-reason-given', error) };
}

function aareOf(result: AssociationResult, diagnostic: AcseServiceUserDiagnostic, userInformation?: UserInformation): Aare {
  return {
    type: 'aare',
    applicationContext: LN,
    result,
    diagnostic: userDiagnostic(diagnostic),
    authenticationRequired: false,
    ...(userInformation === undefined ? {} : { userInformation }),
  };
}
