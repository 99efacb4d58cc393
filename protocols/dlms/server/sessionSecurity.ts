/**
 * Security suite 0 on the server side of one association (IEC 62056-5-3 §5.3, Green Book
 * §9.2.7): the calling-AP-title check, the glo-ciphered InitiateRequest/Response of a ciphered
 * context, deciphering requests and ciphering responses, and HLS-GMAC passes 3/4 through
 * reply_to_HLS_authentication (IC 15 method 1). Pure functions of the policy and the bytes;
 * counters live in the policy (shared by every association of one client).
 * A dedicated key (IEC 62056-5-3 §8, Green Book §9.2.7.2.2) is accepted only inside an
 * encrypted glo-initiate-request, 16 octets (suite 0); ded-ciphered requests are then
 * deciphered with it and answered ded-ciphered, glo- requests still get glo- responses.
 */
import type { Aarq } from '../acse/aarq.js';
import type { AcseServiceUserDiagnostic } from '../acse/diagnostics.js';
import {
  encodeUserInformation, foreignApdu, foreignUserInformation, readUserInformation, type InitiateResponse, type UserInformation,
} from '../acse/initiate.js';
import type { ActionOutcome } from '../apdu/action.js';
import type { CosemMethodDescriptor } from '../apdu/descriptors.js';
import type { ExceptionResponse } from '../apdu/serviceErrors.js';
import type { DlmsData } from '../axdr/data.js';
import { ByteReader } from '../bytes.js';
import { DlmsDecodeError } from '../errors.js';
import { cipherApdu, decipherApdu } from '../security/ciphering.js';
import { KEY_LENGTH, SYSTEM_TITLE_LENGTH } from '../security/gcm.js';
import { computeHlsResponse, generateChallenge, MAX_CHALLENGE_LENGTH, MIN_CHALLENGE_LENGTH, verifyHlsResponse } from '../security/hlsGmac.js';
import { DlmsSecurityError } from '../security/securityError.js';
import { securityControlFor, type Protection } from '../security/securityHeader.js';
import type { ServerSecurityPolicy } from './options.js';

/** The security of an accepted association: the policy and the client's system title. */
export interface SessionSecurity {
  readonly policy: ServerSecurityPolicy;
  readonly clientSystemTitle: Uint8Array;
  /** The dedicated key the client proposed in its ciphered InitiateRequest, for this association only. */
  readonly dedicatedKey?: Uint8Array;
}

/** A deciphered request: its plain APDU, whether it came ded-ciphered, and whether it was encrypted. */
export interface OpenedRequest {
  readonly plaintext: Uint8Array;
  readonly dedicated: boolean;
  readonly encrypted: boolean;
}

/** HLS between the AARE and pass 3: the challenges both ways. */
export interface PendingHls {
  readonly ctos: Uint8Array;
  readonly stoc: Uint8Array;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DlmsSecurityError };

/**
 * calling-AP-title is the client's system title, 8 octets (Green Book §9.2.7.2.2), and the
 * expected one when the policy names it; HLS also needs a CtoS of 8..64 octets (§9.2.7.4).
 */
export function checkSecuredAarq(aarq: Aarq, policy: ServerSecurityPolicy, hls: boolean): AcseServiceUserDiagnostic | undefined {
  const title = aarq.callingApTitle;
  if (title?.length !== SYSTEM_TITLE_LENGTH) return 'calling-AP-title-not-recognized';
  const expected = policy.clientSystemTitle;
  if (expected !== undefined && !sameBytes(expected, title)) return 'calling-AP-title-not-recognized';
  const ctos = aarq.callingAuthenticationValue;
  if (hls && (ctos === undefined || ctos.length < MIN_CHALLENGE_LENGTH || ctos.length > MAX_CHALLENGE_LENGTH)) return 'authentication-failure';
  return undefined;
}

/** A fresh StoC for pass 2 (the AARE's responding-authentication-value). */
export function newHlsChallenge(): Uint8Array {
  return generateChallenge();
}

export function ciphered(s: SessionSecurity | undefined): s is SessionSecurity & { readonly policy: { readonly protection: Protection } } {
  return s !== undefined && s.policy.protection !== 'none';
}

/**
 * Opens the glo-initiate-request [33] of a ciphered context: in the AARQ, and in the RLRQ of a
 * protected release (Green Book §9.3.3.2), where a missing or plain one is refused the same way.
 */
export function openInitiateRequest(u: UserInformation | undefined, s: SessionSecurity): Checked<UserInformation> {
  if (u?.type !== 'other' || u.tag !== 0x21) {
    return refused('policy-violation', `a ciphered context needs a glo-initiate-request, got ${u?.type === 'other' ? `tag 0x${u.tag.toString(16)}` : u?.type ?? 'none'}`);
  }
  const plain = decipherRequest(foreignApdu(u), s);
  if (!plain.ok) return plain;
  let init: UserInformation;
  try {
    init = readUserInformation(new ByteReader(plain.value.plaintext, 'security'));
  } catch (e) {
    if (!(e instanceof DlmsDecodeError)) throw e;
    return refused('bad-header', `the deciphered InitiateRequest does not decode: ${e.message}`);
  }
  if (init.type === 'initiate-request' && init.dedicatedKey !== undefined) {
    // The key must not have crossed the wire readable: authentication-only ciphering leaves it in clear.
    if (!plain.value.encrypted) return refused('policy-violation', 'a dedicated key in an InitiateRequest that was not encrypted');
    if (init.dedicatedKey.length !== KEY_LENGTH) return refused('bad-parameter', `dedicated key of ${init.dedicatedKey.length} octets, suite 0 needs ${KEY_LENGTH}`);
  }
  return { ok: true, value: init };
}

/** The InitiateResponse as a glo-initiate-response [40], ciphered with the server's counter. */
export function sealInitiateResponse(response: InitiateResponse, s: SessionSecurity): UserInformation {
  return foreignUserInformation(cipherResponse(encodeUserInformation(response), s));
}

/**
 * A glo-, ded- or general-glo-ciphered request: authenticated with the client's system title
 * and the policy's protection, its counter above the last accepted one (then recorded). A
 * ded- request needs the association's dedicated key.
 */
export function decipherRequest(bytes: Uint8Array, s: SessionSecurity): Checked<OpenedRequest> {
  const { policy } = s;
  if (policy.protection === 'none') return refused('policy-violation', 'a ciphered APDU on an association without protection');
  const last = policy.counters.lastIncoming();
  try {
    const out = decipherApdu(bytes, {
      peerSystemTitle: s.clientSystemTitle, ek: policy.keys.ek, ak: policy.keys.ak, required: policy.protection,
      ...(policy.keys.bk === undefined ? {} : { broadcastKey: policy.keys.bk }), ...(last === undefined ? {} : { lastSeenCounter: last }),
      ...(s.dedicatedKey === undefined ? {} : { dedicatedKey: s.dedicatedKey }),
    });
    policy.counters.acceptIncoming(out.header.invocationCounter);
    return { ok: true, value: { plaintext: out.plaintext, dedicated: out.form === 'ded', encrypted: out.header.sc.encrypted } };
  } catch (e) {
    if (e instanceof DlmsSecurityError) return { ok: false, error: e };
    if (e instanceof DlmsDecodeError) return refused('bad-header', e.message);
    throw e;
  }
}

/**
 * A plain response APDU ciphered with the server's system title and next counter: ded- with
 * the dedicated key when `dedicated` (the request came ded-ciphered), glo- otherwise.
 */
export function cipherResponse(plain: Uint8Array, s: SessionSecurity, dedicated = false): Uint8Array {
  const { policy } = s;
  const protection = policy.protection === 'none' ? 'auth-enc' : policy.protection;
  const ded = dedicated ? s.dedicatedKey : undefined;
  return cipherApdu(plain, {
    sc: securityControlFor(protection), systemTitle: policy.systemTitle, invocationCounter: policy.counters.nextOutgoing(),
    ek: ded ?? policy.keys.ek, ak: policy.keys.ak, ...(ded === undefined ? {} : { form: 'ded' as const }),
  });
}

/** Whether an ACTION names reply_to_HLS_authentication of the current association. */
export function isHlsReply(method: CosemMethodDescriptor): boolean {
  const ln = method.instanceId;
  return method.classId === 15 && method.methodId === 1 && ln.length === 6
    && ln[0] === 0 && ln[1] === 0 && ln[2] === 40 && ln[3] === 0 && ln[4] === 0 && ln[5] === 255;
}

/**
 * HLS pass 3 checked, pass 4 answered (Green Book §9.2.7.4): the client's f(StoC) must verify
 * under its system title; the answer returns f(CtoS). StoC is fresh for every association, so
 * an old f(StoC) cannot verify: its IC needs no replay check (and clients commonly use it before
 * the counter of the ciphered APDU that carries it, which the replay guard has accepted already).
 */
export function answerHlsReply(parameters: DlmsData | undefined, pending: PendingHls, s: SessionSecurity): Checked<ActionOutcome> {
  if (parameters?.type !== 'octet-string') return refused('hls-failed', `reply_to_HLS_authentication with ${parameters?.type ?? 'no'} parameter, expected f(StoC)`);
  const { policy } = s;
  try {
    verifyHlsResponse({ peerSystemTitle: s.clientSystemTitle, ek: policy.keys.ek, ak: policy.keys.ak, challenge: pending.stoc, response: parameters.value });
  } catch (e) {
    if (!(e instanceof DlmsSecurityError)) throw e;
    return refused('hls-failed', `the client's f(StoC) does not verify (${e.reason})`, { cause: e });
  }
  const fCtoS = computeHlsResponse({
    systemTitle: policy.systemTitle, invocationCounter: policy.counters.nextOutgoing(), ek: policy.keys.ek, ak: policy.keys.ak, challenge: pending.ctos,
  });
  return { ok: true, value: { result: 'success', returnParameters: { ok: true, data: { type: 'octet-string', value: fCtoS } } } };
}

/**
 * The ExceptionResponse for a request refused by security (Green Book §9.5 ASN.1): a replay
 * gets invocation-counter-error with the least counter that would be accepted, anything else
 * deciphering-error. Sent plain: exception-response has no glo- form.
 */
export function securityRefusal(error: DlmsSecurityError, policy: ServerSecurityPolicy): ExceptionResponse {
  if (error.reason !== 'replay') return { type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'deciphering-error' };
  const last = policy.counters.lastIncoming();
  return {
    type: 'exception-response', stateError: 'service-not-allowed', serviceError: 'invocation-counter-error',
    ...(last === undefined || last >= 0xffffffff ? {} : { invocationCounter: last + 1 }),
  };
}

function refused<T>(reason: DlmsSecurityError['reason'], message: string, options?: ErrorOptions): Checked<T> {
  return { ok: false, error: new DlmsSecurityError(reason, message, options) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
