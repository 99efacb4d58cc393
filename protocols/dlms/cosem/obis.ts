/**
 * OBIS codes (IEC 62056-6-1): six value groups A..F, each 0..255, carried on the wire as the
 * 6-octet logical_name. Accepted text forms:
 *
 *   1.0.1.8.0.255        dotted, six groups
 *   1.0.1.8.0            dotted, five groups: F = 255 ("not used"), as meters usually mean it
 *   1-0:1.8.0.255        IEC 62056-6-1 display form (A-B:C.D.E.F), also with F after '*' or '&'
 *   1-0:1.8.0            display form without F: F = 255
 */
import { ProtocolError } from '../../adapter.js';

/** A parsed or malformed OBIS code; `input` is what was given. */
export class ObisError extends ProtocolError {
  readonly code = 'DLMS_OBIS';
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`OBIS ${JSON.stringify(input)}: ${message}`, undefined);
  }
}

/** The six value groups of an OBIS code as the 6 octets of a logical_name. */
export function parseObis(text: string): Uint8Array {
  const s = text.trim();
  const m = DOTTED.exec(s) ?? DISPLAY.exec(s);
  if (!m) throw new ObisError(text, 'expected A.B.C.D.E.F, A.B.C.D.E, A-B:C.D.E.F or A-B:C.D.E*F with decimal groups');
  const out = new Uint8Array(6).fill(255);
  for (let i = 0; i < 6; i++) {
    const g = m[i + 1];
    if (g === undefined) continue;
    const v = Number(g);
    if (v > 255) throw new ObisError(text, `value group ${'ABCDEF'[i] ?? '?'} = ${v} is above 255`);
    out[i] = v;
  }
  return out;
}

/** 'A.B.C.D.E.F' for the 6 octets of a logical_name. */
export function formatObis(bytes: Uint8Array | readonly number[]): string {
  if (bytes.length !== 6) throw new ObisError(Array.from(bytes).join(','), `a logical name has 6 octets, got ${bytes.length}`);
  for (const b of bytes) if (!Number.isInteger(b) || b < 0 || b > 255) throw new ObisError(Array.from(bytes).join(','), `${b} is not an octet`);
  return Array.from(bytes).join('.');
}

/** Whether two logical names are the same OBIS code. */
export function obisEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === 6 && b.length === 6 && a.every((v, i) => v === b[i]);
}

const G = '(\\d{1,3})';
const DOTTED = new RegExp(`^${G}\\.${G}\\.${G}\\.${G}\\.${G}(?:\\.${G})?$`);
const DISPLAY = new RegExp(`^${G}-${G}:${G}\\.${G}\\.${G}(?:[.*&]${G})?$`);
