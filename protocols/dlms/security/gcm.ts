/**
 * Security suite 0 (AES-GCM-128) protection of an xDLMS APDU, IEC 62056-5-3 §5.3.4 /
 * Green Book §9.2.7.2.4 (table "Use of the authenticated decryption function"):
 *   IV  = system title of the sender (8) ‖ invocation counter (4)
 *   authentication only:       AAD = SC ‖ AK ‖ plaintext, output SC ‖ IC ‖ plaintext ‖ T
 *   encryption only:           no AAD, no tag,           output SC ‖ IC ‖ ciphertext
 *   authenticated encryption:  AAD = SC ‖ AK,            output SC ‖ IC ‖ ciphertext ‖ T
 * T is the GCM tag truncated to its leftmost 12 octets (§9.2.7.2.4.3, suite 0).
 * Every failure is a DlmsSecurityError; exceptions from node:crypto are wrapped as `cause`.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { DlmsSecurityError } from './securityError.js';
import {
  SECURITY_HEADER_LENGTH, checkCounter, decodeSecurityHeader, encodeSecurityControl, encodeSecurityHeader,
  type Protection, type SecurityControl, type SecurityHeader,
} from './securityHeader.js';

export const GCM_TAG_LENGTH = 12;
export const SYSTEM_TITLE_LENGTH = 8;
export const KEY_LENGTH = 16;

export interface ProtectInput {
  readonly sc: SecurityControl;
  /** The sender's system title (8 octets). */
  readonly systemTitle: Uint8Array;
  readonly invocationCounter: number;
  /** Block cipher key (global unicast or broadcast, as SC says), 16 octets. */
  readonly ek: Uint8Array;
  /** Authentication key, 16 octets. */
  readonly ak: Uint8Array;
  readonly plaintext: Uint8Array;
}

export interface UnprotectInput {
  /** SC ‖ IC ‖ payload, as carried in a ciphered APDU's octet string. */
  readonly protectedBytes: Uint8Array;
  /** The sender's system title (8 octets). */
  readonly systemTitle: Uint8Array;
  readonly ek: Uint8Array;
  readonly ak: Uint8Array;
  /** The least protection the receiver accepts; default: anything with A or E set. */
  readonly required?: Protection;
}

export interface Unprotected {
  readonly header: SecurityHeader;
  readonly plaintext: Uint8Array;
}

/** SC ‖ IC ‖ (ciphertext or plaintext) ‖ tag, per the SC's A and E bits. */
export function protect(input: ProtectInput): Uint8Array {
  const { sc, plaintext } = input;
  checkSuite(sc);
  checkKeys(input.systemTitle, input.ek, input.ak);
  checkCounter(input.invocationCounter);
  const header = encodeSecurityHeader({ sc, invocationCounter: input.invocationCounter });
  const iv = buildIv(input.systemTitle, input.invocationCounter);
  const scByte = encodeSecurityControl(sc);
  if (sc.authenticated && !sc.encrypted) {
    const tag = gcmTag(input.ek, iv, concat(Uint8Array.of(scByte), input.ak, plaintext));
    return concat(header, plaintext, tag);
  }
  const cipher = createCipheriv('aes-128-gcm', input.ek, iv);
  if (sc.authenticated) cipher.setAAD(concat(Uint8Array.of(scByte), input.ak));
  const ciphertext = concat(cipher.update(plaintext), cipher.final());
  if (!sc.authenticated) return concat(header, ciphertext);
  return concat(header, ciphertext, cipher.getAuthTag().subarray(0, GCM_TAG_LENGTH));
}

/** Verifies and decrypts SC ‖ IC ‖ payload; the plaintext APDU, or a DlmsSecurityError. */
export function unprotect(input: UnprotectInput): Unprotected {
  const bytes = input.protectedBytes;
  const header = decodeSecurityHeader(bytes);
  const { sc } = header;
  checkSuite(sc);
  checkPolicy(sc, input.required);
  checkKeys(input.systemTitle, input.ek, input.ak);
  const iv = buildIv(input.systemTitle, header.invocationCounter);
  const payload = bytes.subarray(SECURITY_HEADER_LENGTH);
  const scByte = Uint8Array.of(bytes[0] ?? 0);
  if (!sc.authenticated) {
    // Encryption only: GCM without a tag is AES-CTR from J0+1, its own inverse, so the
    // encrypting direction recovers the plaintext (a decipher would demand a tag).
    const cipher = createCipheriv('aes-128-gcm', input.ek, iv);
    return { header, plaintext: concat(cipher.update(payload), cipher.final()) };
  }
  if (payload.length < GCM_TAG_LENGTH) {
    throw new DlmsSecurityError('bad-header', `${payload.length} octet(s) after the security header cannot hold a ${GCM_TAG_LENGTH}-octet tag`);
  }
  const body = payload.subarray(0, payload.length - GCM_TAG_LENGTH);
  const tag = payload.subarray(payload.length - GCM_TAG_LENGTH);
  if (!sc.encrypted) {
    const expected = gcmTag(input.ek, iv, concat(scByte, input.ak, body));
    if (!timingSafeEqual(expected, tag)) throw tagMismatch();
    return { header, plaintext: body.slice() };
  }
  const decipher = createDecipheriv('aes-128-gcm', input.ek, iv, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAAD(concat(scByte, input.ak));
  decipher.setAuthTag(tag);
  try {
    const plaintext = decipher.update(body);
    return { header, plaintext: concat(plaintext, decipher.final()) };
  } catch (cause) {
    throw tagMismatch(cause);
  }
}

/**
 * GMAC: the GCM tag over `aad` with no plaintext, truncated to 12 octets (suite 0). Used by
 * authentication-only protection and by HLS mechanism 5 (Green Book §9.2.7.4).
 */
export function gcmTag(ek: Uint8Array, iv: Uint8Array, aad: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-128-gcm', ek, iv);
  cipher.setAAD(aad);
  cipher.final();
  return new Uint8Array(cipher.getAuthTag().subarray(0, GCM_TAG_LENGTH));
}

/** IEC 62056-5-3 §5.3.4.4: fixed field = system title (64 bits), invocation field = IC (32 bits). */
export function buildIv(systemTitle: Uint8Array, invocationCounter: number): Uint8Array {
  const iv = new Uint8Array(SYSTEM_TITLE_LENGTH + 4);
  iv.set(systemTitle, 0);
  new DataView(iv.buffer).setUint32(SYSTEM_TITLE_LENGTH, invocationCounter);
  return iv;
}

export function checkKeys(systemTitle: Uint8Array, ek: Uint8Array, ak: Uint8Array): void {
  if (systemTitle.length !== SYSTEM_TITLE_LENGTH) {
    throw new DlmsSecurityError('bad-parameter', `system title of ${systemTitle.length} octets, expected ${SYSTEM_TITLE_LENGTH}`);
  }
  if (ek.length !== KEY_LENGTH) throw new DlmsSecurityError('bad-parameter', `encryption key of ${ek.length} octets, expected ${KEY_LENGTH}`);
  if (ak.length !== KEY_LENGTH) throw new DlmsSecurityError('bad-parameter', `authentication key of ${ak.length} octets, expected ${KEY_LENGTH}`);
}

function checkSuite(sc: SecurityControl): void {
  if (sc.suite !== 0) throw new DlmsSecurityError('unsupported-suite', `security suite ${sc.suite}; only suite 0 (AES-GCM-128) is implemented`);
  if (sc.compressed) throw new DlmsSecurityError('unsupported-compression', 'the compression bit is set');
  if (!sc.authenticated && !sc.encrypted) {
    throw new DlmsSecurityError('policy-violation', 'security control asks for neither authentication nor encryption');
  }
}

function checkPolicy(sc: SecurityControl, required: Protection | undefined): void {
  if (required === undefined) return;
  const needA = required !== 'enc';
  const needE = required !== 'auth';
  if ((needA && !sc.authenticated) || (needE && !sc.encrypted)) {
    throw new DlmsSecurityError('policy-violation', `received ${describe(sc)}, the association requires ${required}`);
  }
}

function describe(sc: SecurityControl): string {
  return sc.authenticated ? (sc.encrypted ? 'auth-enc' : 'auth') : 'enc';
}

function tagMismatch(cause?: unknown): DlmsSecurityError {
  return new DlmsSecurityError('tag-mismatch', 'authentication tag does not verify (wrong key, system title or tampered APDU)',
    cause === undefined ? undefined : { cause });
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
