/**
 * The contents of the non-constructed Data types (everything but array, structure and
 * compact-array), without their tag. The tagged codec writes the tag first; a compact-array
 * writes these contents bare (IEC 62056-6-2 §4.1.5), so both share this one definition.
 *
 * A-XDR rules applied (IEC 62056-5-3 / IEC 61334-6): fixed-size integers are big-endian two's
 * complement with no length; variable-length strings carry an A-XDR length; bit-string's
 * length counts bits; floats are IEEE 754 big-endian; date-time/date/time are fixed-size
 * octet strings with no length (§4.1.6.1).
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import { DATA_TAG, type DataType, type DlmsData } from './data.js';
import { readCosemDate, readCosemDateTime, readCosemTime, writeCosemDate, writeCosemDateTime, writeCosemTime } from './dateTime.js';

export type SimpleType = Exclude<DataType, 'array' | 'structure' | 'compact-array'>;
export type SimpleData = Extract<DlmsData, { readonly type: SimpleType }>;

/** Bounds that decoding a string-like value must respect. */
export interface StringLimits {
  /** Longest octet-string/visible-string/utf8-string in bytes; a bit-string may hold 8× as many bits. */
  readonly maxStringLength: number;
}

/** Reads the contents of a `type` value (its tag already consumed or implied by a description). */
export function readSimple(r: ByteReader, type: SimpleType, limits: StringLimits): SimpleData {
  switch (type) {
    case 'null-data':
    case 'dont-care':
      return { type };
    case 'boolean':
      // A-XDR BOOLEAN: one octet, FALSE = 0x00, any other value is TRUE (encoded as 0x01).
      return { type, value: r.u8(type) !== 0 };
    case 'integer':
      return { type, value: (r.u8(type) << 24) >> 24 };
    case 'long':
      return { type, value: (r.u16(type) << 16) >> 16 };
    case 'double-long':
      return { type, value: r.u32(type) | 0 };
    case 'unsigned':
    case 'enum':
    case 'bcd':
      return { type, value: r.u8(type) };
    case 'long-unsigned':
      return { type, value: r.u16(type) };
    case 'double-long-unsigned':
      return { type, value: r.u32(type) };
    case 'long64':
      return { type, value: r.view(8, type).getBigInt64(0) };
    case 'long64-unsigned':
      return { type, value: r.view(8, type).getBigUint64(0) };
    case 'float32':
      return { type, value: r.view(4, type).getFloat32(0) };
    case 'float64':
      return { type, value: r.view(8, type).getFloat64(0) };
    case 'octet-string': {
      const n = r.length(limits.maxStringLength, 'octet-string length');
      // A copy: the value outlives the receive buffer, which the transport may reuse.
      return { type, value: r.bytes(n, type).slice() };
    }
    case 'visible-string': {
      const n = r.length(limits.maxStringLength, 'visible-string length');
      const b = r.bytes(n, type);
      // One char per octet (latin1), so any octet a meter sends survives a round trip.
      return { type, value: Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1') };
    }
    case 'utf8-string': {
      const at = r.offset;
      const n = r.length(limits.maxStringLength, 'utf8-string length');
      const b = r.bytes(n, type);
      try {
        return { type, value: UTF8.decode(b) };
      } catch {
        return r.fail('utf8-string is not valid UTF-8', at);
      }
    }
    case 'bit-string': {
      const bits = r.length(limits.maxStringLength * 8, 'bit-string length');
      return { type, value: { bits, bytes: r.bytes(Math.ceil(bits / 8), type).slice() } };
    }
    case 'date-time':
      return { type, value: readCosemDateTime(r) };
    case 'date':
      return { type, value: readCosemDate(r) };
    case 'time':
      return { type, value: readCosemTime(r) };
  }
}

/** Writes the contents of `d` (no tag); refuses values that do not fit their type. */
export function writeSimple(w: ByteWriter, d: SimpleData): void {
  switch (d.type) {
    case 'null-data':
    case 'dont-care':
      return;
    case 'boolean':
      w.u8(d.value ? 1 : 0);
      return;
    case 'integer':
      w.u8(checkInt(d.type, d.value, -0x80, 0x7f));
      return;
    case 'long':
      w.u16(checkInt(d.type, d.value, -0x8000, 0x7fff));
      return;
    case 'double-long':
      w.u32(checkInt(d.type, d.value, -0x8000_0000, 0x7fff_ffff));
      return;
    case 'unsigned':
    case 'enum':
    case 'bcd':
      w.u8(checkInt(d.type, d.value, 0, 0xff));
      return;
    case 'long-unsigned':
      w.u16(checkInt(d.type, d.value, 0, 0xffff));
      return;
    case 'double-long-unsigned':
      w.u32(checkInt(d.type, d.value, 0, 0xffff_ffff));
      return;
    case 'long64': {
      const v = checkBigInt(d.type, d.value, -(2n ** 63n), 2n ** 63n - 1n);
      w.view(8, (dv) => { dv.setBigInt64(0, v); });
      return;
    }
    case 'long64-unsigned': {
      const v = checkBigInt(d.type, d.value, 0n, 2n ** 64n - 1n);
      w.view(8, (dv) => { dv.setBigUint64(0, v); });
      return;
    }
    case 'float32': {
      const v = checkFloat(d.type, d.value);
      // Rounds to the nearest float32; a finite value beyond float32's range would silently
      // become ±Infinity, so it is refused instead.
      if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) fail(d.type, `${v} is beyond the float32 range`);
      w.view(4, (dv) => { dv.setFloat32(0, v); });
      return;
    }
    case 'float64': {
      const v = checkFloat(d.type, d.value);
      w.view(8, (dv) => { dv.setFloat64(0, v); });
      return;
    }
    case 'octet-string':
      if (!(d.value instanceof Uint8Array)) fail(d.type, 'value is not a Uint8Array');
      w.length(d.value.length).bytes(d.value);
      return;
    case 'visible-string': {
      if (!isString(d.value)) fail(d.type, 'value is not a string');
      // eslint-disable-next-line no-control-regex -- the check is exactly "outside one octet"
      if (/[^\u0000-\u00ff]/.test(d.value)) fail(d.type, 'holds a character outside one octet (use utf8-string)');
      const b = Buffer.from(d.value, 'latin1');
      w.length(b.length).bytes(b);
      return;
    }
    case 'utf8-string': {
      if (!isString(d.value)) fail(d.type, 'value is not a string');
      if (LONE_SURROGATE.test(d.value)) fail(d.type, 'holds a lone surrogate, which UTF-8 cannot carry');
      const b = Buffer.from(d.value, 'utf8');
      w.length(b.length).bytes(b);
      return;
    }
    case 'bit-string': {
      const { bits, bytes } = d.value;
      checkInt('bit-string length', bits, 0, 0xffff_ffff);
      if (bytes.length !== Math.ceil(bits / 8)) fail(d.type, `${bits} bits need ${Math.ceil(bits / 8)} octets, got ${bytes.length}`);
      w.length(bits).bytes(bytes);
      return;
    }
    case 'date-time':
      writeCosemDateTime(w, d.value);
      return;
    case 'date':
      writeCosemDate(w, d.value);
      return;
    case 'time':
      writeCosemTime(w, d.value);
      return;
  }
}

/** The Data CHOICE alternative with tag `tag`, or undefined for a tag the standard does not define. */
export function dataTypeOfTag(tag: number): DataType | undefined {
  return TYPE_BY_TAG[tag];
}

/** Whether `d` is one of the types handled here (not array, structure or compact-array). */
export function isSimple(d: DlmsData): d is SimpleData {
  return d.type !== 'array' && d.type !== 'structure' && d.type !== 'compact-array';
}

const TYPE_BY_TAG: readonly (DataType | undefined)[] = (() => {
  const byTag = new Array<DataType | undefined>(256).fill(undefined);
  for (const [name, tag] of Object.entries(DATA_TAG) as [DataType, number][]) byTag[tag] = name;
  return byTag;
})();

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading BOM is data, kept as sent.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// The values come typed, but the CLI and config build them from JSON; check what we rely on.
function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function fail(what: string, message: string): never {
  throw new DlmsEncodeError('axdr', `${what}: ${message}`);
}

function checkInt(what: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail(what, `${String(v)} is outside ${min}..${max}`);
  return v;
}

function checkBigInt(what: string, v: bigint, min: bigint, max: bigint): bigint {
  if (typeof v !== 'bigint' || v < min || v > max) fail(what, `${String(v)} is outside ${min}..${max}`);
  return v;
}

function checkFloat(what: string, v: number): number {
  if (typeof v !== 'number') fail(what, 'value is not a number');
  return v;
}
