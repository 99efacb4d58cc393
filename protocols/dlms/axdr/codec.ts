/**
 * A-XDR encoding of COSEM Data (IEC 62056-5-3 A-XDR rules; the Data CHOICE of IEC 62056-6-2
 * §4.1.5 / Blue Book): one tag octet, then the contents. array and structure carry an A-XDR
 * element count (short form below 128, else 0x81/0x82/0x84 + big-endian octets) followed by
 * tagged elements; compact-array is in compact.ts; the other types in primitives.ts.
 *
 * Decoding is bounded (limits.ts): nesting depth, elements per container, string length and
 * values per call, and a count that cannot fit in the octets left is refused up front, so a
 * forged header never allocates or loops. Every failure is a DlmsDecodeError with the offset.
 */
import { ByteReader, ByteWriter, hexNumber } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import { DATA_TAG, type DlmsData } from './data.js';
import { readCompactArray, writeCompactArray } from './compact.js';
import { DEFAULT_DECODE_LIMITS, DecodeBudget, type DecodeLimits } from './limits.js';
import { dataTypeOfTag, readSimple, writeSimple } from './primitives.js';

export { readTypeDescription, writeTypeDescription } from './compact.js';
export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './limits.js';

/** The A-XDR encoding of `d`; throws DlmsEncodeError when a value does not fit its type. */
export function encodeData(d: DlmsData): Uint8Array {
  const w = new ByteWriter(64);
  writeData(w, d);
  return w.toBytes();
}

export function writeData(w: ByteWriter, d: DlmsData): void {
  writeTagged(w, d, 0);
}

/** Decodes exactly one Data value filling `bytes`; trailing octets are an error. */
export function decodeData(bytes: Uint8Array, limits: Partial<DecodeLimits> = {}): DlmsData {
  const r = new ByteReader(bytes, 'axdr');
  const d = readData(r, limits);
  if (r.remaining > 0) r.fail(`${r.remaining} octet(s) after the value`);
  return d;
}

/** Reads one Data value at the reader's position (an APDU field), leaving the rest unread. */
export function readData(r: ByteReader, limits: Partial<DecodeLimits> = DEFAULT_DECODE_LIMITS): DlmsData {
  return readTagged(r, new DecodeBudget(limits), 0);
}

function readTagged(r: ByteReader, budget: DecodeBudget, depth: number): DlmsData {
  const at = r.offset;
  const tag = r.u8('data tag');
  const type = dataTypeOfTag(tag);
  if (type === undefined) return r.fail(`unknown data tag 0x${hexNumber(tag)}`, at);
  if (type === 'compact-array') return readCompactArray(r, budget, depth, at);
  budget.spend(r);
  if (type === 'array' || type === 'structure') {
    budget.enter(r, depth, at);
    const n = r.length(budget.limits.maxElements, `${type} element count`);
    // Every tagged element takes at least its tag octet.
    if (n > r.remaining) r.fail(`${type} of ${n} elements cannot fit in the ${r.remaining} octets left`, at);
    const value: DlmsData[] = [];
    for (let i = 0; i < n; i++) value.push(readTagged(r, budget, depth + 1));
    return { type, value };
  }
  return readSimple(r, type, budget.limits);
}

function writeTagged(w: ByteWriter, d: DlmsData, depth: number): void {
  const tag = (DATA_TAG as Record<string, number | undefined>)[d.type];
  if (tag === undefined) throw new DlmsEncodeError('axdr', `unknown data type ${d.type}`);
  const container = d.type === 'array' || d.type === 'structure' || d.type === 'compact-array';
  // The same depth bound as the decoder's default, so whatever we send we can read back.
  if (container && depth >= DEFAULT_DECODE_LIMITS.maxDepth) {
    throw new DlmsEncodeError('axdr', `nesting deeper than ${DEFAULT_DECODE_LIMITS.maxDepth} levels`);
  }
  w.u8(tag);
  switch (d.type) {
    case 'array':
    case 'structure':
      w.length(d.value.length);
      for (const e of d.value) writeTagged(w, e, depth + 1);
      return;
    case 'compact-array':
      writeCompactArray(w, d, depth);
      return;
    default:
      writeSimple(w, d);
  }
}
