import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../../../protocols/dlms/bytes.js';
import { decodeData, encodeData, readTypeDescription, writeTypeDescription } from '../../../../protocols/dlms/axdr/codec.js';
import type { DlmsData, TypeDescription } from '../../../../protocols/dlms/axdr/data.js';
import { decodeErrorOf, encodeErrorOf, hex, toHex } from './helpers.js';

const u16 = (value: number): DlmsData => ({ type: 'long-unsigned', value });
const u32 = (value: number): DlmsData => ({ type: 'double-long-unsigned', value });

describe('compact-array: hand-worked vectors', () => {
  it('encodes rows of a two-member structure with no per-element tags', () => {
    const d: DlmsData = {
      type: 'compact-array',
      description: { type: 'structure', elements: [{ type: 'double-long-unsigned' }, { type: 'long-unsigned' }] },
      value: [
        { type: 'structure', value: [u32(1000), u16(5)] },
        { type: 'structure', value: [u32(2000), u16(6)] },
      ],
    };
    const expected = hex(
      '13' + //              compact-array [19]
        '02 02 06 12' + //   contents-description: structure of 2 { double-long-unsigned [6], long-unsigned [18] }
        '0c' + //            array-contents: an octet string of 12 octets = 2 rows × (4 + 2)
        '00 00 03 e8 00 05' + // row 1: 1000, 5 (no tags, no member count)
        '00 00 07 d0 00 06', //  row 2: 2000, 6
    );
    expect(toHex(encodeData(d))).toBe(toHex(expected));
    expect(decodeData(expected)).toEqual(d);
  });

  it('encodes a nested structure, an octet-string and a fixed-size array inside the rows', () => {
    const description: TypeDescription = {
      type: 'structure',
      elements: [
        { type: 'octet-string' },
        { type: 'structure', elements: [{ type: 'integer' }, { type: 'long' }] },
        { type: 'array', count: 2, element: { type: 'unsigned' } },
      ],
    };
    const row = (os: Uint8Array, i8: number, i16: number, a: number, b: number): DlmsData => ({
      type: 'structure',
      value: [
        { type: 'octet-string', value: os },
        { type: 'structure', value: [{ type: 'integer', value: i8 }, { type: 'long', value: i16 }] },
        { type: 'array', value: [{ type: 'unsigned', value: a }, { type: 'unsigned', value: b }] },
      ],
    });
    const d: DlmsData = { type: 'compact-array', description, value: [row(hex('41 42'), -1, -2, 1, 2), row(new Uint8Array(0), 127, 256, 255, 0)] };
    const expected = hex(
      '13' +
        '02 03' + //      structure of 3 members:
        '09' + //           octet-string
        '02 02 0f 10' + //  structure of 2 { integer, long }
        '01 00 02 11' + //  array, number-of-elements 0x0002 (long-unsigned), of unsigned
        '0e' + //         contents: 14 octets
        '02 41 42' + 'ff' + 'ff fe' + '01 02' + // row 1: "AB" keeps its length; −1; −2; [1, 2] with no count
        '00' + '7f' + '01 00' + 'ff 00', //        row 2: empty octet-string; 127; 256; [255, 0]
    );
    expect(toHex(encodeData(d))).toBe(toHex(expected));
    expect(decodeData(expected)).toEqual(d);
  });

  it('encodes a compact-array of a simple type', () => {
    const d: DlmsData = { type: 'compact-array', description: { type: 'long-unsigned' }, value: [u16(1), u16(65535)] };
    // tag, description long-unsigned, 4 octets of contents, 0x0001, 0xffff
    expect(toHex(encodeData(d))).toBe('13 12 04 00 01 ff ff');
    expect(decodeData(hex('13 12 04 00 01 ff ff'))).toEqual(d);
  });

  it('round-trips an empty compact-array and one of date-times and bit-strings', () => {
    const empty: DlmsData = { type: 'compact-array', description: { type: 'null-data' }, value: [] };
    expect(toHex(encodeData(empty))).toBe('13 00 00');
    expect(decodeData(encodeData(empty))).toEqual(empty);
    const dt = { date: { year: 2025, month: 3, dayOfMonth: 30, dayOfWeek: 7 }, time: { hour: 2, minute: 0, second: 0, hundredths: 0 }, deviation: -60, clockStatus: 0 };
    const d: DlmsData = {
      type: 'compact-array',
      description: { type: 'structure', elements: [{ type: 'date-time' }, { type: 'bit-string' }, { type: 'visible-string' }] },
      value: [
        { type: 'structure', value: [{ type: 'date-time', value: dt }, { type: 'bit-string', value: { bits: 4, bytes: hex('a0') } }, { type: 'visible-string', value: 'x' }] },
        { type: 'structure', value: [{ type: 'date-time', value: { ...dt, deviation: -120 } }, { type: 'bit-string', value: { bits: 0, bytes: new Uint8Array(0) } }, { type: 'visible-string', value: '' }] },
      ],
    };
    expect(decodeData(encodeData(d))).toEqual(d);
  });
});

describe('TypeDescription', () => {
  it('writes and reads nested descriptions', () => {
    const desc: TypeDescription = { type: 'array', count: 300, element: { type: 'structure', elements: [{ type: 'float64' }, { type: 'dont-care' }] } };
    const w = new ByteWriter();
    writeTypeDescription(w, desc);
    // array, count 0x012c, structure of 2 { float64 [24], dont-care [255] }
    expect(toHex(w.toBytes())).toBe('01 01 2c 02 02 18 ff');
    expect(readTypeDescription(new ByteReader(w.toBytes(), 'axdr'))).toEqual(desc);
  });

  it('refuses compact-array and unknown tags as a description', () => {
    expect(decodeErrorOf(() => decodeData(hex('13 13 00'))).offset).toBe(1);
    expect(decodeErrorOf(() => decodeData(hex('13 02 02 11 07 00'))).offset).toBe(4);
    encodeErrorOf(() => { writeTypeDescription(new ByteWriter(), { type: 'compact-array' } as unknown as TypeDescription); });
  });
});

describe('compact-array: refusals', () => {
  it('refuses elements that do not match the description on encode', () => {
    const desc: TypeDescription = { type: 'structure', elements: [{ type: 'unsigned' }, { type: 'long' }] };
    encodeErrorOf(() => encodeData({ type: 'compact-array', description: desc, value: [{ type: 'structure', value: [{ type: 'unsigned', value: 1 }] }] }));
    encodeErrorOf(() => encodeData({ type: 'compact-array', description: desc, value: [{ type: 'structure', value: [{ type: 'unsigned', value: 1 }, { type: 'unsigned', value: 2 }] }] }));
    encodeErrorOf(() => encodeData({ type: 'compact-array', description: { type: 'array', count: 2, element: { type: 'unsigned' } }, value: [{ type: 'array', value: [{ type: 'unsigned', value: 1 }] }] }));
    encodeErrorOf(() => encodeData({ type: 'compact-array', description: { type: 'unsigned' }, value: [{ type: 'unsigned', value: 256 }] }));
  });

  it('refuses zero-size elements, which a reader could not count', () => {
    encodeErrorOf(() => encodeData({ type: 'compact-array', description: { type: 'null-data' }, value: [{ type: 'null-data' }] }));
    encodeErrorOf(() => encodeData({ type: 'compact-array', description: { type: 'array', count: 2, element: { type: 'null-data' } }, value: [] }));
    // description null-data with 2 octets of contents: the first element consumes nothing
    expect(decodeErrorOf(() => decodeData(hex('13 00 02 00 00'))).message).toMatch(/zero size/);
  });

  it('refuses an element overrunning the contents and contents beyond the buffer', () => {
    // long-unsigned elements in 3 octets of contents: the second element ends past them
    expect(decodeErrorOf(() => decodeData(hex('13 12 03 00 01 00 02'))).message).toMatch(/overruns/);
    expect(decodeErrorOf(() => decodeData(hex('13 12 10 00 01'))).offset).toBe(2);
  });

  it('refuses a description that would multiply zero-size values', () => {
    // array 65535 of array 65535 of null-data: one element would be 4 billion values from 10 octets
    const bomb = hex('13 01 ff ff 01 ff ff 00 01 00');
    const e = decodeErrorOf(() => decodeData(bomb));
    expect(e.message).toMatch(/zero-size elements/);
    expect(e.offset).toBe(4);
    expect(decodeErrorOf(() => decodeData(hex('13 01 ff ff 12 00'), { maxElements: 1000 })).message).toMatch(/exceeds the limit of 1000/);
  });

  it('bounds the values built from a large but honest description', () => {
    // array 1000 of unsigned: each element is 1000 octets and 1001 values
    const contents = new Uint8Array(2000);
    const bytes = new Uint8Array([0x13, 0x01, 0x03, 0xe8, 0x11, 0x82, 0x07, 0xd0, ...contents]);
    expect(decodeData(bytes)).toMatchObject({ type: 'compact-array', value: [{ type: 'array' }, { type: 'array' }] });
    expect(decodeErrorOf(() => decodeData(bytes, { maxValues: 1500 })).message).toMatch(/more than 1500 values/);
  });

  it('bounds the nesting of descriptions', () => {
    const deep = new Uint8Array(2 + 2 * 40 + 2);
    deep[0] = 0x13;
    for (let i = 0; i < 40; i++) { deep[1 + 2 * i] = 0x02; deep[2 + 2 * i] = 0x01; }
    expect(decodeErrorOf(() => decodeData(deep)).message).toMatch(/nesting deeper than 16/);
  });
});
