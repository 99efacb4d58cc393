/**
 * The security steps of COSEM-OPEN on the client (Green Book §9.2.7.4, HLS passes 1-4, and
 * §9.2.7.2.2, ciphered contexts): what goes into the AARQ, how the AARE's ciphered
 * InitiateResponse is opened, and the HLS-GMAC proof exchanged through the current
 * association object's reply_to_HLS_authentication method (IC 15 method 1).
 */
import type { Aare } from '../acse/aare.js';
import { AssociationRejected } from '../acse/diagnostics.js';
import { foreignApdu, readUserInformation, type ForeignUserInformation, type UserInformation } from '../acse/initiate.js';
import type { Rlre } from '../acse/release.js';
import type { DlmsData } from '../axdr/data.js';
import { ByteReader } from '../bytes.js';
import { computeHlsResponse, generateChallenge, verifyHlsResponse } from '../security/hlsGmac.js';
import { DlmsSecurityError, type DlmsSecurityReason } from '../security/securityError.js';
import type { ProtocolError } from '../../adapter.js';
import type { ExceptionResponse } from '../apdu/serviceErrors.js';
import type { AarqParameters } from './association.js';
import { ServiceRejected } from './errors.js';
import type { ClientCipher } from './secureChannel.js';

/** reply_to_HLS_authentication of the current association (IEC 62056-6-2 §4.4.4, IC 15 method 1). */
export const HLS_REPLY_METHOD = { classId: 15, obis: '0.0.40.0.0.255', method: 1 } as const;

/**
 * What the AARQ needs from the security settings; `challenge` is CtoS when HLS is used, and
 * `dedicatedKey` the association's fresh dedicated key when the settings ask for one.
 */
export function securedAarqFields(cipher: ClientCipher, hls: boolean): Pick<AarqParameters, 'callingApTitle' | 'challenge' | 'cipherInitiate' | 'dedicatedKey'> {
  const dedicatedKey = cipher.ciphered ? cipher.beginAssociation() : undefined;
  return {
    callingApTitle: cipher.security.systemTitle,
    ...(hls ? { challenge: generateChallenge() } : {}),
    ...(dedicatedKey === undefined ? {} : { dedicatedKey }),
    ...(cipher.ciphered ? { cipherInitiate: (plain: Uint8Array) => cipher.protect(plain) } : {}),
  };
}

/** Opens a glo-initiate-response [40] (or a glo-confirmed-service-error) carried in the AARE. */
export function openInitiate(cipher: ClientCipher, u: ForeignUserInformation): UserInformation {
  const plain = cipher.unprotect(foreignApdu(u)).plaintext;
  return cipher.guard(() => readUserInformation(new ByteReader(plain, 'security')));
}

/**
 * Security checks on the AARE before its InitiateResponse is read: the server system title.
 * A refusal because the server could not decipher our InitiateRequest (initiateError
 * application-reference deciphering-error, Green Book §9.2.7.2.2) is a key problem, not a
 * plain rejection, so it becomes a DlmsSecurityError 'tag-mismatch' with the rejection as cause.
 */
export function checkAare(cipher: ClientCipher, aare: Aare, terminalId?: string): void {
  if (aare.result === 'accepted') {
    cipher.learnServerTitle(aare.respondingApTitle);
    // A ciphered context answers with a glo-initiate-response; a plain one could be forged.
    if (cipher.ciphered && aare.userInformation?.type === 'initiate-response') {
      throw cipher.fail('policy-violation', 'the AARE of a ciphered context carries a plain InitiateResponse');
    }
    return;
  }
  const u = aare.userInformation;
  if (u?.type === 'confirmed-service-error' && u.errorClass === 'application-reference' && u.value === 6) {
    const rejected = new AssociationRejected(aare.result, aare.diagnostic, u, terminalId);
    throw cipher.fail('tag-mismatch', 'the meter could not decipher our InitiateRequest (wrong keys or system title, or an invocation counter it has seen)', undefined, { cause: rejected });
  }
}

/**
 * The RLRE of a ciphered context (Green Book §9.3.3.2): its user-information must be the
 * negotiated xDLMS context as a glo-initiate-response [40] that deciphers under the server's
 * keys, title and a fresh counter (replays are refused as for any response). One that is
 * there but plain, or does not decipher, is a DlmsSecurityError. An RLRE with no
 * user-information at all is tolerated and counted (`plainReleaseResponses`): user-information
 * is OPTIONAL in the RLRE's ASN.1 (ISO/IEC 8650-1), meters built before the protected release
 * answer so, and it carries no data, while the association ends either way.
 */
export function checkRlre(cipher: ClientCipher, rlre: Rlre): void {
  const u = rlre.userInformation;
  if (u === undefined) {
    cipher.plainReleaseResponses++;
    return;
  }
  if (u.type !== 'other') throw cipher.fail('policy-violation', `the RLRE of a ciphered context carries a plain ${u.type}`);
  const opened = openInitiate(cipher, u);
  if (opened.type !== 'initiate-response') throw cipher.fail('policy-violation', `the RLRE's ciphered user-information holds a ${opened.type}, not an InitiateResponse`);
}

/**
 * An exception-response to the AARQ (Green Book §9.5: ExceptionResponse ::= SEQUENCE
 * { state-error, service-error }): the meter could not even process the request, which in
 * practice means it could not decipher it (wrong keys or system title, or less protection
 * than it requires) or refused our invocation counter. Those are security failures, named
 * with both fields; any other refusal is the meter's ServiceRejected, unless we asked for
 * security, when the likeliest cause is a policy the meter does not share.
 */
export function aarqException(reply: ExceptionResponse, cipher: ClientCipher | undefined, terminalId?: string): ProtocolError {
  const fields = `${reply.stateError} / ${reply.serviceError}`;
  const fail = (reason: DlmsSecurityReason, detail: string): DlmsSecurityError =>
    cipher?.fail(reason, detail) ?? new DlmsSecurityError(reason, detail, terminalId === undefined ? {} : { terminalId });
  switch (reply.serviceError) {
    case 'deciphering-error':
      return fail('tag-mismatch', `the meter could not decipher our request (${fields}): wrong keys, system title or security policy`);
    case 'invocation-counter-error': {
      const expected = reply.invocationCounter === undefined ? '' : `; it expects at least ${reply.invocationCounter}`;
      return fail('replay', `the meter refused our invocation counter as one it has seen (${fields}${expected})`);
    }
    default:
      if (cipher === undefined) return new ServiceRejected(reply, 'associate', terminalId);
      return fail('policy-violation', `the meter refused our AARQ (${fields}): it may require another security policy or authentication`);
  }
}

/** HLS pass 3: f(StoC) as the octet-string parameter of reply_to_HLS_authentication. */
export function hlsReplyParameter(cipher: ClientCipher, aare: Aare): { readonly stoc: Uint8Array; readonly parameter: DlmsData } {
  const stoc = aare.respondingAuthenticationValue;
  if (stoc === undefined) throw cipher.fail('hls-failed', 'the AARE carries no responding-authentication-value (StoC)');
  const s = cipher.security;
  const response = cipher.guard(() => computeHlsResponse({
    systemTitle: s.systemTitle, invocationCounter: s.counters.nextOutgoing(), ek: s.keys.ek, ak: s.keys.ak, challenge: stoc,
  }));
  return { stoc, parameter: { type: 'octet-string', value: response } };
}

/**
 * HLS pass 4: the server's f(CtoS) in the method's return parameters must verify under the
 * server's system title. Any failure is DlmsSecurityError 'hls-failed' (the original error as
 * `cause`). Its IC is not put through the replay guard: CtoS is fresh for every association,
 * so an old f(CtoS) cannot verify anyway, and the server may well have used that counter
 * before the one of the APDU carrying it (already accepted by then).
 */
export function checkHlsReply(cipher: ClientCipher, ctos: Uint8Array, returned: DlmsData | undefined, refused?: string): void {
  if (refused !== undefined) throw cipher.fail('hls-failed', `the meter refused our f(StoC): ${refused}`);
  if (returned?.type !== 'octet-string') throw cipher.fail('hls-failed', `reply_to_HLS_authentication returned ${returned?.type ?? 'nothing'}, expected f(CtoS) as an octet-string`);
  const server = cipher.serverSystemTitle;
  if (server === undefined) throw cipher.fail('hls-failed', 'no server system title to verify f(CtoS) with');
  const s = cipher.security;
  try {
    verifyHlsResponse({ peerSystemTitle: server, ek: s.keys.ek, ak: s.keys.ak, challenge: ctos, response: returned.value });
  } catch (e) {
    if (!(e instanceof DlmsSecurityError)) throw e;
    throw cipher.fail('hls-failed', `the meter's f(CtoS) does not verify (${e.reason})`, undefined, { cause: e });
  }
}
