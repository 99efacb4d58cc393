/**
 * The security header of ciphered xDLMS APDUs (IEC 62056-5-3 §5.3.4 / Green Book §9.2.7.2.3):
 * security control byte SC ‖ invocation counter IC (4 octets, big-endian). SC bits:
 *   0-3 security suite id, 4 authentication (A), 5 encryption (E), 6 key set (0 unicast,
 *   1 broadcast), 7 compression.
 */
import { DlmsSecurityError } from './securityError.js';

export interface SecurityControl {
  /** Security suite id, 0-15; only suite 0 (AES-GCM-128) is implemented. */
  readonly suite: number;
  readonly authenticated: boolean;
  readonly encrypted: boolean;
  /** Key set: the global broadcast key instead of the unicast one. */
  readonly broadcastKey: boolean;
  readonly compressed: boolean;
}

export interface SecurityHeader {
  readonly sc: SecurityControl;
  /** 0 .. 2^32 - 1 */
  readonly invocationCounter: number;
}

/** SC (1) + IC (4). */
export const SECURITY_HEADER_LENGTH = 5;
export const MAX_INVOCATION_COUNTER = 0xffffffff;

/** The three protection levels a security policy can ask for (Green Book §9.2.7.2.3 table). */
export type Protection = 'auth' | 'enc' | 'auth-enc';

/** A suite-0 unicast SC for a protection level, e.g. 'auth-enc' → 0x30. */
export function securityControlFor(protection: Protection, options: { broadcastKey?: boolean } = {}): SecurityControl {
  return {
    suite: 0,
    authenticated: protection !== 'enc',
    encrypted: protection !== 'auth',
    broadcastKey: options.broadcastKey ?? false,
    compressed: false,
  };
}

export function encodeSecurityControl(sc: SecurityControl): number {
  if (!Number.isInteger(sc.suite) || sc.suite < 0 || sc.suite > 0x0f) {
    throw new DlmsSecurityError('bad-parameter', `security suite ${sc.suite} is outside 0..15`);
  }
  return sc.suite
    | (sc.authenticated ? 0x10 : 0)
    | (sc.encrypted ? 0x20 : 0)
    | (sc.broadcastKey ? 0x40 : 0)
    | (sc.compressed ? 0x80 : 0);
}

export function decodeSecurityControl(byte: number): SecurityControl {
  return {
    suite: byte & 0x0f,
    authenticated: (byte & 0x10) !== 0,
    encrypted: (byte & 0x20) !== 0,
    broadcastKey: (byte & 0x40) !== 0,
    compressed: (byte & 0x80) !== 0,
  };
}

export function encodeSecurityHeader(h: SecurityHeader): Uint8Array {
  checkCounter(h.invocationCounter);
  const out = new Uint8Array(SECURITY_HEADER_LENGTH);
  out[0] = encodeSecurityControl(h.sc);
  new DataView(out.buffer).setUint32(1, h.invocationCounter);
  return out;
}

/** Reads SC ‖ IC from the start of `bytes`; fewer than 5 octets is a 'bad-header'. */
export function decodeSecurityHeader(bytes: Uint8Array): SecurityHeader {
  if (bytes.length < SECURITY_HEADER_LENGTH) {
    throw new DlmsSecurityError('bad-header', `security header needs ${SECURITY_HEADER_LENGTH} octets, got ${bytes.length}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SECURITY_HEADER_LENGTH);
  return { sc: decodeSecurityControl(dv.getUint8(0)), invocationCounter: dv.getUint32(1) };
}

export function checkCounter(ic: number): void {
  if (!Number.isInteger(ic) || ic < 0 || ic > MAX_INVOCATION_COUNTER) {
    throw new DlmsSecurityError('bad-parameter', `invocation counter ${ic} is outside 0..2^32-1`);
  }
}
