/**
 * HLS authentication mechanism 5, HLS-GMAC (IEC 62056-5-3 §5.3.7.5 / Green Book §9.2.7.4,
 * table "HLS example using authentication-mechanism 5 with GMAC"). After the AARQ/AARE
 * exchanged the challenges CtoS and StoC (8..64 octets), each side proves it holds the keys:
 *   f(challenge) = SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge)
 * with SC = 0x10 (suite 0, authentication only), IV = the responder's system title ‖ IC,
 * and the GMAC truncated to 12 octets. The client sends f(StoC) with reply_to_HLS_authentication
 * and checks the server's f(CtoS) in the reply.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DlmsSecurityError } from './securityError.js';
import { GCM_TAG_LENGTH, buildIv, checkKeys, concat, gcmTag } from './gcm.js';
import {
  SECURITY_HEADER_LENGTH, checkCounter, decodeSecurityControl, decodeSecurityHeader, encodeSecurityHeader,
} from './securityHeader.js';

/** SC of f(): suite 0, authentication only. */
export const HLS_GMAC_SC = 0x10;
/** Green Book §9.2.7.4: a challenge is 8 to 64 octets. */
export const MIN_CHALLENGE_LENGTH = 8;
export const MAX_CHALLENGE_LENGTH = 64;
/** SC (1) + IC (4) + tag (12). */
export const HLS_RESPONSE_LENGTH = SECURITY_HEADER_LENGTH + GCM_TAG_LENGTH;

export interface HlsResponseInput {
  /** The responder's own system title. */
  readonly systemTitle: Uint8Array;
  /** The responder's invocation counter for this message. */
  readonly invocationCounter: number;
  readonly ek: Uint8Array;
  readonly ak: Uint8Array;
  /** The challenge the other side sent. */
  readonly challenge: Uint8Array;
}

export interface HlsVerifyInput {
  /** The responder's (peer's) system title, from the AARQ/AARE. */
  readonly peerSystemTitle: Uint8Array;
  readonly ek: Uint8Array;
  readonly ak: Uint8Array;
  /** The challenge we sent. */
  readonly challenge: Uint8Array;
  /** f(challenge) as received. */
  readonly response: Uint8Array;
}

/** f(challenge) = SC ‖ IC ‖ T, 17 octets. */
export function computeHlsResponse(input: HlsResponseInput): Uint8Array {
  checkChallenge(input.challenge);
  checkKeys(input.systemTitle, input.ek, input.ak);
  checkCounter(input.invocationCounter);
  const header = encodeSecurityHeader({ sc: decodeSecurityControl(HLS_GMAC_SC), invocationCounter: input.invocationCounter });
  const iv = buildIv(input.systemTitle, input.invocationCounter);
  return concat(header, gcmTag(input.ek, iv, concat(Uint8Array.of(HLS_GMAC_SC), input.ak, input.challenge)));
}

/**
 * Checks the peer's f(challenge); returns the peer's invocation counter (for the replay
 * guard) or throws DlmsSecurityError ('bad-header' for a malformed response, 'tag-mismatch'
 * when it does not verify), so the association fails closed.
 */
export function verifyHlsResponse(input: HlsVerifyInput): { readonly invocationCounter: number } {
  checkChallenge(input.challenge);
  checkKeys(input.peerSystemTitle, input.ek, input.ak);
  const r = input.response;
  if (r.length !== HLS_RESPONSE_LENGTH) {
    throw new DlmsSecurityError('bad-header', `HLS-GMAC response of ${r.length} octets, expected ${HLS_RESPONSE_LENGTH}`);
  }
  if (r[0] !== HLS_GMAC_SC) {
    throw new DlmsSecurityError('bad-header', `HLS-GMAC response with SC 0x${(r[0] ?? 0).toString(16)}, expected 0x10`);
  }
  const { invocationCounter } = decodeSecurityHeader(r);
  const iv = buildIv(input.peerSystemTitle, invocationCounter);
  const expected = gcmTag(input.ek, iv, concat(Uint8Array.of(HLS_GMAC_SC), input.ak, input.challenge));
  if (!timingSafeEqual(expected, r.subarray(SECURITY_HEADER_LENGTH))) {
    throw new DlmsSecurityError('tag-mismatch', 'HLS-GMAC response does not verify (wrong keys or system title)');
  }
  return { invocationCounter };
}

/** A fresh random challenge of `length` octets (8..64; default 16). */
export function generateChallenge(length = 16, random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  if (!Number.isInteger(length) || length < MIN_CHALLENGE_LENGTH || length > MAX_CHALLENGE_LENGTH) {
    throw new DlmsSecurityError('bad-parameter', `challenge length ${length} is outside ${MIN_CHALLENGE_LENGTH}..${MAX_CHALLENGE_LENGTH}`);
  }
  return new Uint8Array(random(length));
}

function checkChallenge(c: Uint8Array): void {
  if (c.length < MIN_CHALLENGE_LENGTH || c.length > MAX_CHALLENGE_LENGTH) {
    throw new DlmsSecurityError('bad-parameter', `challenge of ${c.length} octets is outside ${MIN_CHALLENGE_LENGTH}..${MAX_CHALLENGE_LENGTH}`);
  }
}
