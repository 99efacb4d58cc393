/**
 * Test helpers for the APDU and ACSE codecs: hex vectors written in commented byte groups,
 * logical names from OBIS text, and a seeded PRNG with the mutations the fuzz tests use.
 */
import { expect } from 'vitest';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';

/** Bytes from hex groups; spaces inside a group are ignored. */
export function hex(...groups: string[]): Uint8Array {
  const s = groups.join('').replace(/\s+/g, '');
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) throw new Error(`bad hex: ${s}`);
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ').toUpperCase();
}

/** The six octets of a logical name written `a.b.c.d.e.f`. */
export function ln(obis: string): Uint8Array {
  const parts = obis.split('.').map(Number);
  if (parts.length !== 6) throw new Error(`bad OBIS ${obis}`);
  return Uint8Array.from(parts);
}

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export { prng } from '../../../helpers/prng.js';

/**
 * One mutated input: bit flips, truncation, byte overwrite (including length-form bytes
 * 0x80-0x84 and 0xFF that tamper with length fields), insertion, deletion, or pure noise
 * behind a plausible first byte.
 */
export function mutate(seed: Uint8Array, rnd: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rnd() * n);
  const b = Uint8Array.from(seed);
  switch (int(7)) {
    case 0: {
      for (let i = 0, n = 1 + int(3); i < n && b.length > 0; i++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    }
    case 1:
      return b.subarray(0, int(b.length));
    case 2: {
      const special = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff];
      if (b.length > 0) b[int(b.length)] = rnd() < 0.6 ? special[int(special.length)]! : int(256);
      return b;
    }
    case 3: {
      const at = int(b.length + 1);
      const extra = Uint8Array.from({ length: 1 + int(4) }, () => int(256));
      return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
    }
    case 4: {
      const at = int(b.length);
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + int(3))]);
    }
    case 5: {
      const out = Uint8Array.from({ length: 1 + int(48) }, () => int(256));
      out[0] = seed[0] ?? 0;
      return out;
    }
    default:
      return Uint8Array.from({ length: int(24) }, () => int(256));
  }
}

/** Runs `decode`, requiring it to return or throw DlmsDecodeError; returns the value if any. */
export function decodeOrTypedError<T>(decode: () => T, input: Uint8Array): T | undefined {
  try {
    return decode();
  } catch (e) {
    if (!(e instanceof DlmsDecodeError)) {
      expect.fail(`untyped error ${String(e)} for input ${toHex(input)}`);
    }
    return undefined;
  }
}

/** The DlmsDecodeError `decode` throws; fails the test if it returns or throws anything else. */
export function decodeErrorOf(decode: () => unknown, input: Uint8Array): DlmsDecodeError {
  try {
    decode();
  } catch (e) {
    if (e instanceof DlmsDecodeError) return e;
    throw e;
  }
  return expect.fail(`decoded ${toHex(input)} without error`);
}
