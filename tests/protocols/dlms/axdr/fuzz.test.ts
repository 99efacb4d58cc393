/**
 * Generated input for the A-XDR decoders: random valid values (which must round-trip), then
 * valid encodings mutated (bit flips, truncations, length tampering, splices) and plain random
 * bytes. Every call must return a value or throw DlmsDecodeError, nothing else; whatever
 * decodes must encode again and decode to the same value, and render as JSON.
 */
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../../../protocols/dlms/bytes.js';
import { decodeData, encodeData, readTypeDescription } from '../../../../protocols/dlms/axdr/codec.js';
import type { DlmsData, TypeDescription } from '../../../../protocols/dlms/axdr/data.js';
import { decodeCosemDateTime } from '../../../../protocols/dlms/axdr/dateTime.js';
import { dataToJson } from '../../../../protocols/dlms/axdr/describe.js';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';
import { prng } from '../../../helpers/prng.js';


class Gen {
  constructor(readonly rnd: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(0, 255));
  }
  big(bits: number, signed: boolean): bigint {
    let v = 0n;
    for (let i = 0; i < bits / 16; i++) v = (v << 16n) | BigInt(this.int(0, 0xffff));
    return signed ? BigInt.asIntN(bits, v) : v;
  }
  maybe<T>(v: T): T | undefined {
    return this.rnd() < 0.2 ? undefined : v;
  }

  simple(type: SimpleName): DlmsData {
    switch (type) {
      case 'null-data': case 'dont-care': return { type };
      case 'boolean': return { type, value: this.rnd() < 0.5 };
      case 'integer': return { type, value: this.int(-128, 127) };
      case 'long': return { type, value: this.int(-32768, 32767) };
      case 'double-long': return { type, value: this.int(-(2 ** 31), 2 ** 31 - 1) };
      case 'unsigned': case 'enum': case 'bcd': return { type, value: this.int(0, 255) };
      case 'long-unsigned': return { type, value: this.int(0, 65535) };
      case 'double-long-unsigned': return { type, value: this.int(0, 2 ** 32 - 1) };
      case 'long64': return { type, value: this.big(64, true) };
      case 'long64-unsigned': return { type, value: this.big(64, false) };
      case 'float32': return { type, value: Math.fround(this.pick([0, -0, NaN, Infinity, 1.5, (this.rnd() - 0.5) * 1e6])) };
      case 'float64': return { type, value: this.pick([NaN, -Infinity, Number.MAX_VALUE, (this.rnd() - 0.5) * 1e12]) };
      case 'octet-string': return { type, value: this.bytes(this.pick([0, 1, 6, 12, 127, 128, 300])) };
      case 'visible-string': return { type, value: String.fromCharCode(...this.bytes(this.int(0, 20))) };
      case 'utf8-string': return { type, value: this.pick(['', 'kWh', 'Zähler ⚡ 電力', '\u{1F50C}x']) };
      case 'bit-string': {
        const bits = this.int(0, 40);
        return { type, value: { bits, bytes: this.bytes(Math.ceil(bits / 8)) } };
      }
      case 'date': return { type, value: this.date() };
      case 'time': return { type, value: this.time() };
      case 'date-time': return { type, value: { date: this.date(), time: this.time(), deviation: this.maybe(this.int(-840, 840)), clockStatus: this.maybe(this.int(0, 0xfe)) } };
    }
  }
  date() {
    return {
      year: this.maybe(this.int(1990, 2100)),
      month: this.maybe(this.pick<number | 'dst-begin' | 'dst-end'>([this.int(1, 12), 'dst-begin', 'dst-end'])),
      dayOfMonth: this.maybe(this.pick<number | 'last' | 'second-last'>([this.int(1, 31), 'last', 'second-last'])),
      dayOfWeek: this.maybe(this.int(1, 7)),
    };
  }
  time() {
    return { hour: this.maybe(this.int(0, 23)), minute: this.maybe(this.int(0, 59)), second: this.maybe(this.int(0, 59)), hundredths: this.maybe(this.int(0, 99)) };
  }

  description(depth: number): TypeDescription {
    const r = this.rnd();
    if (depth < 3 && r < 0.15) return { type: 'array', count: this.int(1, 3), element: this.nonZeroDescription(depth + 1) };
    if (depth < 3 && r < 0.35) return { type: 'structure', elements: Array.from({ length: this.int(1, 4) }, () => this.description(depth + 1)) };
    return { type: this.pick(SIMPLE) };
  }
  nonZeroDescription(depth: number): TypeDescription {
    const d = this.description(depth);
    return d.type === 'null-data' || d.type === 'dont-care' || d.type === 'structure' ? { type: 'long-unsigned' } : d;
  }
  conforming(desc: TypeDescription): DlmsData {
    if (desc.type === 'array') return { type: 'array', value: Array.from({ length: desc.count }, () => this.conforming(desc.element)) };
    if (desc.type === 'structure') return { type: 'structure', value: desc.elements.map((e) => this.conforming(e)) };
    return this.simple(desc.type);
  }

  value(depth: number): DlmsData {
    const r = this.rnd();
    if (depth < 5 && r < 0.15) return { type: this.pick(['array', 'structure'] as const), value: Array.from({ length: this.int(0, 5) }, () => this.value(depth + 1)) };
    if (depth < 5 && r < 0.22) {
      const description = this.nonZeroDescription(depth + 1);
      return { type: 'compact-array', description, value: Array.from({ length: this.int(0, 4) }, () => this.conforming(description)) };
    }
    return this.simple(this.pick(SIMPLE));
  }

  mutate(src: Uint8Array): Uint8Array {
    const b = Uint8Array.from(src);
    switch (this.int(0, 5)) {
      case 0: // bit flips
        for (let i = this.int(1, 3); i > 0 && b.length > 0; i--) b[this.int(0, b.length - 1)]! ^= 1 << this.int(0, 7);
        return b;
      case 1: // truncation
        return b.subarray(0, this.int(0, Math.max(0, b.length - 1)));
      case 2: // length/count tampering: a long-form marker or an extreme count where a length may sit
        if (b.length > 1) b[this.int(1, b.length - 1)] = this.pick([0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xff, 0x00]);
        return b;
      case 3: // tag replaced by any octet
        if (b.length > 0) b[this.int(0, b.length - 1)] = this.int(0, 255);
        return b;
      case 4: { // splice random bytes in
        const at = this.int(0, b.length);
        return Uint8Array.from([...b.subarray(0, at), ...this.bytes(this.int(1, 8)), ...b.subarray(at)]);
      }
      default: // extension with trailing bytes
        return Uint8Array.from([...b, ...this.bytes(this.int(1, 4))]);
    }
  }
}

type SimpleName = Exclude<DlmsData['type'], 'array' | 'structure' | 'compact-array'>;
const SIMPLE: readonly SimpleName[] = [
  'null-data', 'dont-care', 'boolean', 'integer', 'long', 'double-long', 'unsigned', 'long-unsigned', 'double-long-unsigned', 'enum', 'bcd',
  'long64', 'long64-unsigned', 'float32', 'float64', 'octet-string', 'visible-string', 'utf8-string', 'bit-string', 'date', 'time', 'date-time',
];

/** Decodes `bytes`: a value (checked to re-encode to the same value) or a DlmsDecodeError. */
function decodeOrTypedError(bytes: Uint8Array): 'value' | 'error' {
  let d: DlmsData;
  try {
    d = decodeData(bytes);
  } catch (e) {
    if (!(e instanceof DlmsDecodeError)) throw new Error(`not a DlmsDecodeError for ${Buffer.from(bytes).toString('hex')}: ${String(e)}`, { cause: e });
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(bytes.length);
    return 'error';
  }
  expect(decodeData(encodeData(d))).toEqual(d);
  dataToJson(d);
  return 'value';
}

describe('A-XDR generated input', () => {
  it('round-trips 5,000 random valid values', () => {
    const g = new Gen(prng(0x5eed));
    for (let i = 0; i < 5_000; i++) {
      const d = g.value(0);
      expect(decodeData(encodeData(d))).toEqual(d);
    }
  });

  it('answers 20,000 mutated encodings and 5,000 random byte strings with a value or DlmsDecodeError', () => {
    const g = new Gen(prng(0xd1a5));
    const seen = { value: 0, error: 0 };
    for (let i = 0; i < 20_000; i++) seen[decodeOrTypedError(g.mutate(encodeData(g.value(0))))]++;
    for (let i = 0; i < 5_000; i++) seen[decodeOrTypedError(g.bytes(g.int(0, 64)))]++;
    // Both outcomes must occur, or the mutations are not reaching the decoder's checks.
    expect(seen.value).toBeGreaterThan(1_000);
    expect(seen.error).toBeGreaterThan(1_000);
  });

  it('answers random type descriptions and date-times with a value or DlmsDecodeError', () => {
    const g = new Gen(prng(0xc0de));
    for (let i = 0; i < 5_000; i++) {
      const bytes = g.bytes(g.int(0, 24));
      for (const read of [() => readTypeDescription(new ByteReader(bytes, 'axdr')), () => decodeCosemDateTime(bytes)]) {
        try {
          read();
        } catch (e) {
          expect(e).toBeInstanceOf(DlmsDecodeError);
        }
      }
    }
  });
});
