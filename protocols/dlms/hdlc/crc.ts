/**
 * The HDLC frame check sequence used for both HCS and FCS (IEC 62056-46 §6.4.1.6 and
 * §6.4.1.8, which take it from ISO/IEC 13239 §4.2.5.1; Green Book DLMS UA 1000-2 §8.4.1):
 * CRC-16/X.25 — generator x^16 + x^12 + x^5 + 1 (0x1021, processed LSB first as the
 * reflected 0x8408), initial value 0xFFFF, ones' complement of the result. On the line the
 * 16-bit value goes least significant byte first.
 */

const TABLE = buildTable();

/** CRC-16/X.25 of `bytes[start..end)`. */
export function fcs16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ (TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  }
  return (crc ^ 0xffff) & 0xffff;
}

/** Writes `crc` least significant byte first at `offset` (ISO/IEC 13239 bit order on octets). */
export function putFcs(out: Uint8Array, offset: number, crc: number): void {
  out[offset] = crc & 0xff;
  out[offset + 1] = (crc >>> 8) & 0xff;
}

/** Reads a check sequence stored least significant byte first. */
export function getFcs(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8);
}

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    table[n] = c;
  }
  return table;
}
