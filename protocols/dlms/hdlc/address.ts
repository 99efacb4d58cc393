/**
 * HDLC address fields (IEC 62056-46 §6.4.1.4 and §6.4.2; Green Book §8.4.2).
 *
 * Each address octet carries 7 address bits in bits 8..2; bit 1 (the LSB) is the extension
 * bit: 0 = another octet follows, 1 = last octet. The client address is always one octet.
 * The server address is the upper HDLC address (logical device) optionally followed by the
 * lower HDLC address (physical device), in one of three sizes:
 *
 *   1 octet : upper (0..0x7F), no lower
 *   2 octets: upper (0..0x7F), lower (0..0x7F)
 *   4 octets: upper (0..0x3FFF) on 2 octets, lower (0..0x3FFF) on 2 octets, high bits first
 *
 * Example: upper 1, lower 17 on 2 octets → 1<<1 = 0x02 (ext 0), 17<<1|1 = 0x23 (ext 1);
 * on 4 octets → 0x00 0x02 0x00 0x23.
 */
import { DlmsEncodeError, FrameError } from '../errors.js';

export interface HdlcAddress {
  /** Upper HDLC address (the logical device of a server, or the client SAP). */
  readonly upper: number;
  /** Lower HDLC address (physical device); absent in a 1-octet address. */
  readonly lower?: number;
  /** Octets on the line; when absent the encoder picks the shortest form that fits. */
  readonly length?: 1 | 2 | 4;
}

/** A client address (always one octet). */
export function clientAddress(sap: number): HdlcAddress {
  return { upper: sap, length: 1 };
}

export function encodeAddress(a: HdlcAddress): Uint8Array {
  const length = a.length ?? shortestLength(a);
  const { upper } = a;
  const lower = a.lower ?? 0;
  if (length === 1) {
    if (a.lower !== undefined) fail(a, 'a 1-octet address has no lower part');
    inRange(a, upper, 0x7f);
    return Uint8Array.of((upper << 1) | 1);
  }
  if (a.lower === undefined) fail(a, `a ${length}-octet address needs a lower part`);
  if (length === 2) {
    inRange(a, upper, 0x7f);
    inRange(a, lower, 0x7f);
    return Uint8Array.of(upper << 1, (lower << 1) | 1);
  }
  inRange(a, upper, 0x3fff);
  inRange(a, lower, 0x3fff);
  return Uint8Array.of((upper >> 7) << 1, (upper & 0x7f) << 1, (lower >> 7) << 1, ((lower & 0x7f) << 1) | 1);
}

/**
 * Reads one address field starting at `offset`, not beyond `end`. Throws FrameError when no
 * octet with the extension bit set is found within 4 octets, or the field is 3 octets long.
 */
export function decodeAddress(bytes: Uint8Array, offset: number, end: number): { address: HdlcAddress; next: number } {
  let n = 0;
  for (;;) {
    if (offset + n >= end) throw new FrameError('hdlc', 'truncated address field');
    const b = bytes[offset + n] ?? 0;
    n++;
    if (b & 1) break;
    if (n === 4) throw new FrameError('hdlc', 'address field longer than 4 octets');
  }
  const at = (i: number): number => (bytes[offset + i] ?? 0) >> 1;
  switch (n) {
    case 1:
      return { address: { upper: at(0), length: 1 }, next: offset + 1 };
    case 2:
      return { address: { upper: at(0), lower: at(1), length: 2 }, next: offset + 2 };
    case 4:
      return { address: { upper: (at(0) << 7) | at(1), lower: (at(2) << 7) | at(3), length: 4 }, next: offset + 4 };
    default:
      throw new FrameError('hdlc', 'a 3-octet address field is not allowed (IEC 62056-46 §6.4.2)');
  }
}

/** Same station, whatever the octet count used on the line. */
export function sameAddress(a: HdlcAddress, b: HdlcAddress): boolean {
  return a.upper === b.upper && a.lower === b.lower;
}

function shortestLength(a: HdlcAddress): 1 | 2 | 4 {
  if (a.lower === undefined) return 1;
  return a.upper <= 0x7f && a.lower <= 0x7f ? 2 : 4;
}

function inRange(a: HdlcAddress, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) fail(a, `value ${v} outside 0..${max}`);
}

function fail(a: HdlcAddress, why: string): never {
  throw new DlmsEncodeError('hdlc', `address ${JSON.stringify(a)}: ${why}`);
}
