/** Shared by the A-XDR tests: hex vectors and error expectations. */
import { expect } from 'vitest';
import { DlmsDecodeError, DlmsEncodeError } from '../../../../protocols/dlms/errors.js';

/** Bytes from a spaced hex string such as '02 03 12 00 08'. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex vector ${s}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Runs `fn`, expecting a DlmsDecodeError; returns it for further checks. */
export function decodeErrorOf(fn: () => unknown): DlmsDecodeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DlmsDecodeError);
    return e as DlmsDecodeError;
  }
  throw new Error('expected a DlmsDecodeError, nothing was thrown');
}

export function encodeErrorOf(fn: () => unknown): DlmsEncodeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DlmsEncodeError);
    return e as DlmsEncodeError;
  }
  throw new Error('expected a DlmsEncodeError, nothing was thrown');
}
