/**
 * Test-side references written independently of the code under test: a bit-by-bit
 * CRC-16/X.25 (ISO/IEC 13239: reflected 0x8408, init 0xFFFF, ones' complement) and helpers.
 */

export function referenceCrc16x25(bytes: Iterable<number>): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return crc ^ 0xffff;
}

/** "7E A0 08" → bytes; spaces and line breaks ignored. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
}

export { prng } from '../../../helpers/prng.js';
