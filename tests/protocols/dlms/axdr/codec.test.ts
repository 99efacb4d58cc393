import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../../../protocols/dlms/bytes.js';
import { decodeData, encodeData, readData, writeData } from '../../../../protocols/dlms/axdr/codec.js';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { decodeCosemDate } from '../../../../protocols/dlms/axdr/dateTime.js';
import { decodeErrorOf, encodeErrorOf, hex, toHex } from './helpers.js';

const roundTrip = (d: DlmsData) => decodeData(encodeData(d));
const octets = (n: number, fill = 0xab) => new Uint8Array(n).fill(fill);

describe('A-XDR Data: hand-worked vectors', () => {
  it('encodes a structure of long-unsigned, octet-string and integer byte for byte', () => {
    const d: DlmsData = {
      type: 'structure',
      value: [
        { type: 'long-unsigned', value: 8 },
        { type: 'octet-string', value: hex('00 00 01 00 00 ff') },
        { type: 'integer', value: 2 },
      ],
    };
    const expected = hex(
      '02 03' + //                   structure [2], 3 elements
        '12 00 08' + //              long-unsigned [18], 0x0008 (class id 8, Clock)
        '09 06 00 00 01 00 00 ff' + // octet-string [9], length 6, logical name 0.0.1.0.0.255
        '0f 02', //                  integer [15], 2 (attribute 2)
    );
    expect(toHex(encodeData(d))).toBe(toHex(expected));
    expect(decodeData(expected)).toEqual(d);
  });

  it.each<[string, DlmsData, string]>([
    // tag then contents; fixed-size integers are big-endian two's complement with no length
    ['null-data', { type: 'null-data' }, '00'],
    ['dont-care', { type: 'dont-care' }, 'ff'],
    ['boolean true', { type: 'boolean', value: true }, '03 01'],
    ['boolean false', { type: 'boolean', value: false }, '03 00'],
    ['integer −128', { type: 'integer', value: -128 }, '0f 80'],
    ['integer 127', { type: 'integer', value: 127 }, '0f 7f'],
    ['long −32768', { type: 'long', value: -32768 }, '10 80 00'],
    ['long −2', { type: 'long', value: -2 }, '10 ff fe'],
    ['unsigned 255', { type: 'unsigned', value: 255 }, '11 ff'],
    ['long-unsigned 65535', { type: 'long-unsigned', value: 65535 }, '12 ff ff'],
    ['double-long −2147483648', { type: 'double-long', value: -2147483648 }, '05 80 00 00 00'],
    ['double-long 2147483647', { type: 'double-long', value: 2147483647 }, '05 7f ff ff ff'],
    ['double-long −1', { type: 'double-long', value: -1 }, '05 ff ff ff ff'],
    ['double-long-unsigned 4294967295', { type: 'double-long-unsigned', value: 4294967295 }, '06 ff ff ff ff'],
    ['double-long-unsigned 1000', { type: 'double-long-unsigned', value: 1000 }, '06 00 00 03 e8'],
    ['long64 min', { type: 'long64', value: -(2n ** 63n) }, '14 80 00 00 00 00 00 00 00'],
    ['long64 max', { type: 'long64', value: 2n ** 63n - 1n }, '14 7f ff ff ff ff ff ff ff'],
    ['long64 −1', { type: 'long64', value: -1n }, '14 ff ff ff ff ff ff ff ff'],
    ['long64-unsigned max', { type: 'long64-unsigned', value: 2n ** 64n - 1n }, '15 ff ff ff ff ff ff ff ff'],
    ['enum 3', { type: 'enum', value: 3 }, '16 03'],
    ['bcd 59', { type: 'bcd', value: 0x59 }, '0d 59'],
    // IEEE 754: 1.5 = sign 0, exponent 127 (0x7f), mantissa .1 → 0x3fc00000
    ['float32 1.5', { type: 'float32', value: 1.5 }, '17 3f c0 00 00'],
    // −2 = sign 1, exponent 1024 (0x400) → 0xc000000000000000
    ['float64 −2', { type: 'float64', value: -2 }, '18 c0 00 00 00 00 00 00 00'],
    ['float32 +Infinity', { type: 'float32', value: Infinity }, '17 7f 80 00 00'],
    // octet-string: A-XDR length then the octets; visible-string likewise, one octet per char
    ['empty octet-string', { type: 'octet-string', value: new Uint8Array(0) }, '09 00'],
    ['visible-string ABC', { type: 'visible-string', value: 'ABC' }, '0a 03 41 42 43'],
    ['empty visible-string', { type: 'visible-string', value: '' }, '0a 00'],
    // utf8-string: length counts octets, not characters: é = c3 a9
    ['utf8-string é', { type: 'utf8-string', value: 'é' }, '0c 02 c3 a9'],
    // bit-string: the length counts bits (10), then ⌈10/8⌉ = 2 octets, MSB first, zero padded
    ['bit-string 1010101011', { type: 'bit-string', value: { bits: 10, bytes: hex('aa c0') } }, '04 0a aa c0'],
    ['empty bit-string', { type: 'bit-string', value: { bits: 0, bytes: new Uint8Array(0) } }, '04 00'],
    ['empty array', { type: 'array', value: [] }, '01 00'],
    ['empty structure', { type: 'structure', value: [] }, '02 00'],
    // date [26]: year 0x07ea, month 11, day 26, Thursday (4); no length octet (fixed size 5)
    ['date 2026-11-26', { type: 'date', value: { year: 2026, month: 11, dayOfMonth: 26, dayOfWeek: 4 } }, '1a 07 ea 0b 1a 04'],
    // year not specified, DST-begin month, last day, any weekday
    ['date pattern', { type: 'date', value: { year: undefined, month: 'dst-begin', dayOfMonth: 'last', dayOfWeek: undefined } }, '1a ff ff fe fe ff'],
    ['time 01:02:03.04', { type: 'time', value: { hour: 1, minute: 2, second: 3, hundredths: 4 } }, '1b 01 02 03 04'],
  ])('encodes %s as %s', (_name, d, bytes) => {
    expect(toHex(encodeData(d))).toBe(toHex(hex(bytes)));
    expect(decodeData(hex(bytes))).toEqual(d);
  });

  it('encodes a date-time with deviation −60 and DST status byte for byte', () => {
    const d: DlmsData = {
      type: 'date-time',
      value: {
        date: { year: 2026, month: 11, dayOfMonth: 26, dayOfWeek: 4 },
        time: { hour: 1, minute: 2, second: 3, hundredths: 0 },
        deviation: -60,
        clockStatus: 0x80,
      },
    };
    const expected = hex(
      '19' + //          date-time [25], fixed 12 octets, no length
        '07 ea 0b 1a' + // year 2026, month 11, day 26
        '04' + //          day of week: Thursday (2026-01-01 is a Thursday, day 330 = 47 weeks later)
        '01 02 03 00' + // 01:02:03.00
        'ff c4' + //       deviation −60 as int16 (0x10000 − 60 = 0xffc4)
        '80', //           clock status: daylight saving active
    );
    expect(toHex(encodeData(d))).toBe(toHex(expected));
    expect(decodeData(expected)).toEqual(d);
  });

  it('uses the A-XDR short and long length forms at 127/128/255/256/65536', () => {
    const cases: [number, string][] = [
      [127, '7f'], // short form: the length itself, below 0x80
      [128, '81 80'], // long form: 0x81 = one length octet follows
      [255, '81 ff'],
      [256, '82 01 00'], // 0x82 = two length octets
      [65535, '82 ff ff'],
      [65536, '84 00 01 00 00'], // 0x84 = four length octets
    ];
    for (const [n, lengthBytes] of cases) {
      const bytes = encodeData({ type: 'octet-string', value: octets(n) });
      expect(toHex(bytes.subarray(0, 1 + hex(lengthBytes).length))).toBe(toHex(hex(`09 ${lengthBytes}`)));
      expect(bytes.length).toBe(1 + hex(lengthBytes).length + n);
      expect(decodeData(bytes, { maxStringLength: 70_000 })).toEqual({ type: 'octet-string', value: octets(n) });
    }
    const array = encodeData({ type: 'array', value: Array.from({ length: 128 }, () => ({ type: 'null-data' as const })) });
    expect(toHex(array.subarray(0, 3))).toBe('01 81 80');
    expect(array.length).toBe(3 + 128);
  });
});

describe('A-XDR Data: published meter replies', () => {
  it('decodes a special days table (IC 11 attribute 2) captured from a meter', () => {
    // From a public write-up of a real meter's reply: array of 11 spec_day_entry structures
    // { index long-unsigned, specialday_date octet-string (a 5-octet COSEM date), day_id unsigned }.
    const reply = hex(`
      01 0B 02 03 12 00 01 09 05 07 E2 01 01 FF 11 02 02 03 12 00
      02 09 05 07 E2 01 02 FF 11 02 02 03 12 00 03 09 05 07 E2 01
      03 FF 11 02 02 03 12 00 04 09 05 07 E2 01 14 FF 11 01 02 03
      12 00 05 09 05 07 E2 02 0A FF 11 01 02 03 12 00 06 09 05 07
      E2 02 17 FF 11 02 02 03 12 00 07 09 05 07 E2 03 08 FF 11 02
      02 03 12 00 08 09 05 07 E2 03 09 FF 11 02 02 03 12 00 09 09
      05 07 E2 05 01 FF 11 02 02 03 12 00 0A 09 05 07 E2 05 02 FF
      11 02 02 03 12 00 0B 09 05 07 E2 05 09 FF 11 02`);
    const d = decodeData(reply);
    if (d.type !== 'array') throw new Error('expected an array');
    const days = d.value.map((entry) => {
      if (entry.type !== 'structure') throw new Error('expected a structure');
      const [index, date, dayId] = entry.value;
      if (index?.type !== 'long-unsigned' || date?.type !== 'octet-string' || dayId?.type !== 'unsigned') throw new Error('unexpected member types');
      const c = decodeCosemDate(date.value);
      return `${index.value} ${String(c.year)}-${String(c.month)}-${String(c.dayOfMonth)} ${String(c.dayOfWeek)} ${dayId.value}`;
    });
    expect(days).toEqual([
      '1 2018-1-1 undefined 2', '2 2018-1-2 undefined 2', '3 2018-1-3 undefined 2', '4 2018-1-20 undefined 1',
      '5 2018-2-10 undefined 1', '6 2018-2-23 undefined 2', '7 2018-3-8 undefined 2', '8 2018-3-9 undefined 2',
      '9 2018-5-1 undefined 2', '10 2018-5-2 undefined 2', '11 2018-5-9 undefined 2',
    ]);
    expect(toHex(encodeData(d))).toBe(toHex(reply));
  });

  it('refuses the first 25 octets of an object list reply as truncated', () => {
    // array of 0x0171 = 369 entries (0x82 = two length octets), cut after the first entry's start
    const e = decodeErrorOf(() => decodeData(hex('01 82 01 71 02 04 12 00 08 11 00 09 06 00 00 01 00 00 ff 02 02 01 09 02 03')));
    expect(e.message).toMatch(/truncated|cannot fit/);
  });
});

describe('A-XDR Data: round trips', () => {
  it('round-trips boundary values of every numeric type', () => {
    const values: DlmsData[] = [
      { type: 'integer', value: -128 }, { type: 'integer', value: 0 }, { type: 'integer', value: 127 },
      { type: 'long', value: -32768 }, { type: 'long', value: 32767 },
      { type: 'unsigned', value: 0 }, { type: 'unsigned', value: 255 },
      { type: 'long-unsigned', value: 0 }, { type: 'long-unsigned', value: 65535 },
      { type: 'double-long', value: -2147483648 }, { type: 'double-long', value: 2147483647 },
      { type: 'double-long-unsigned', value: 0 }, { type: 'double-long-unsigned', value: 4294967295 },
      { type: 'long64', value: -(2n ** 63n) }, { type: 'long64', value: 2n ** 63n - 1n }, { type: 'long64', value: 0n },
      { type: 'long64-unsigned', value: 0n }, { type: 'long64-unsigned', value: 2n ** 64n - 1n },
      { type: 'enum', value: 0 }, { type: 'enum', value: 255 }, { type: 'bcd', value: 0x99 },
      { type: 'float64', value: Math.PI }, { type: 'float64', value: -0 }, { type: 'float64', value: Number.MAX_VALUE },
      { type: 'float64', value: NaN }, { type: 'float64', value: -Infinity }, { type: 'float64', value: Number.MIN_VALUE },
      { type: 'float32', value: NaN }, { type: 'float32', value: -Infinity }, { type: 'float32', value: Math.fround(3.4e38) },
    ];
    for (const d of values) expect(roundTrip(d)).toEqual(d);
  });

  it('rounds float32 to the nearest single-precision value', () => {
    expect(roundTrip({ type: 'float32', value: 0.1 })).toEqual({ type: 'float32', value: Math.fround(0.1) });
    expect(roundTrip({ type: 'float32', value: 230.123456789 })).toEqual({ type: 'float32', value: Math.fround(230.123456789) });
  });

  it('round-trips nested arrays and structures, strings and dates', () => {
    const d: DlmsData = {
      type: 'array',
      value: [
        {
          type: 'structure',
          value: [
            { type: 'long-unsigned', value: 3 },
            { type: 'octet-string', value: hex('01 00 01 08 00 ff') },
            { type: 'integer', value: 2 },
            { type: 'long-unsigned', value: 0 },
            { type: 'array', value: [{ type: 'structure', value: [{ type: 'visible-string', value: 'kWh' }, { type: 'utf8-string', value: '電力 ⚡' }] }] },
          ],
        },
        { type: 'bit-string', value: { bits: 13, bytes: hex('ff f8') } },
        { type: 'time', value: { hour: undefined, minute: 30, second: undefined, hundredths: undefined } },
        { type: 'date-time', value: { date: { year: 2024, month: 'dst-end', dayOfMonth: 'second-last', dayOfWeek: 7 }, time: { hour: 3, minute: 0, second: 0, hundredths: undefined }, deviation: undefined, clockStatus: undefined } },
        { type: 'visible-string', value: '\u00ff\u0000latin1' },
        { type: 'array', value: [] },
      ],
    };
    expect(roundTrip(d)).toEqual(d);
  });

  it('reads one value from a reader and leaves the rest, and writes into a shared writer', () => {
    const w = new ByteWriter(4);
    writeData(w, { type: 'unsigned', value: 7 });
    w.u8(0xee);
    const r = new ByteReader(w.toBytes(), 'apdu');
    expect(readData(r)).toEqual({ type: 'unsigned', value: 7 });
    expect(r.remaining).toBe(1);
  });
});

describe('A-XDR Data: values that do not fit are refused on encode', () => {
  it.each<[string, DlmsData]>([
    ['unsigned 300', { type: 'unsigned', value: 300 }],
    ['unsigned −1', { type: 'unsigned', value: -1 }],
    ['integer 128', { type: 'integer', value: 128 }],
    ['long 32768', { type: 'long', value: 32768 }],
    ['long-unsigned 65536', { type: 'long-unsigned', value: 65536 }],
    ['double-long 2^31', { type: 'double-long', value: 2 ** 31 }],
    ['double-long-unsigned 2^32', { type: 'double-long-unsigned', value: 2 ** 32 }],
    ['double-long-unsigned 1.5', { type: 'double-long-unsigned', value: 1.5 }],
    ['enum NaN', { type: 'enum', value: NaN }],
    ['bcd 256', { type: 'bcd', value: 256 }],
    ['long64 2^63', { type: 'long64', value: 2n ** 63n }],
    ['long64-unsigned −1', { type: 'long64-unsigned', value: -1n }],
    ['float32 1e39', { type: 'float32', value: 1e39 }],
    ['visible-string beyond latin1', { type: 'visible-string', value: 'kW·h ⚡' }],
    ['utf8-string with a lone surrogate', { type: 'utf8-string', value: 'a\ud800b' }],
    ['bit-string with too few octets', { type: 'bit-string', value: { bits: 9, bytes: hex('ff') } }],
    ['date month 0xfd as a number', { type: 'date', value: { year: 2024, month: 0xfd, dayOfMonth: 1, dayOfWeek: 1 } }],
    ['time hour 0xff as a number', { type: 'time', value: { hour: 0xff, minute: 0, second: 0, hundredths: 0 } }],
    ['date-time deviation 0x8000', { type: 'date-time', value: { date: { year: 2024, month: 1, dayOfMonth: 1, dayOfWeek: 1 }, time: { hour: 0, minute: 0, second: 0, hundredths: 0 }, deviation: -32768, clockStatus: 0 } }],
  ])('refuses %s', (_name, d) => {
    const e = encodeErrorOf(() => encodeData(d));
    expect(e.code).toBe('DLMS_ENCODE');
    expect(e.layer).toBe('axdr');
  });

  it('refuses nesting deeper than 16 containers, which the decoder would refuse too', () => {
    let d: DlmsData = { type: 'null-data' };
    for (let i = 0; i < 16; i++) d = { type: 'array', value: [d] };
    expect(roundTrip(d)).toEqual(d);
    encodeErrorOf(() => encodeData({ type: 'structure', value: [d] }));
  });
});

describe('A-XDR Data: bad input gives DlmsDecodeError with an offset', () => {
  const valid = encodeData({
    type: 'structure',
    value: [
      { type: 'long-unsigned', value: 8 },
      { type: 'octet-string', value: hex('00 00 01 00 00 ff') },
      { type: 'array', value: [{ type: 'double-long-unsigned', value: 1 }, { type: 'long64', value: 5n }] },
      { type: 'date-time', value: { date: { year: 2026, month: 1, dayOfMonth: 2, dayOfWeek: 5 }, time: { hour: 0, minute: 0, second: 0, hundredths: 0 }, deviation: 0, clockStatus: 0 } },
      { type: 'utf8-string', value: 'ok' },
      { type: 'bit-string', value: { bits: 3, bytes: hex('e0') } },
      { type: 'compact-array', description: { type: 'long-unsigned' }, value: [{ type: 'long-unsigned', value: 1 }] },
    ],
  });

  it('refuses the valid encoding truncated at every position', () => {
    for (let cut = 0; cut < valid.length; cut++) {
      const e = decodeErrorOf(() => decodeData(valid.subarray(0, cut)));
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(cut);
      expect(e.layer).toBe('axdr');
    }
    expect(decodeData(valid).type).toBe('structure');
  });

  it('refuses trailing octets after the value', () => {
    const e = decodeErrorOf(() => decodeData(hex('11 05 00')));
    expect(e.offset).toBe(2);
    expect(e.message).toMatch(/after the value/);
  });

  it('refuses unknown tags: 7 (floating-point, not in the Data CHOICE we speak), 8, 11, 14, 28, 0xfe', () => {
    for (const tag of [0x07, 0x08, 0x0b, 0x0e, 0x1c, 0xfe]) {
      const e = decodeErrorOf(() => decodeData(hex(`02 02 11 01 ${tag.toString(16).padStart(2, '0')} 00`)));
      expect(e.offset).toBe(4);
      expect(e.message).toMatch(/unknown data tag/);
    }
  });

  it('refuses lengths and counts beyond the buffer without allocating them', () => {
    // octet-string claiming 0xffffffff octets, with 2 present
    expect(decodeErrorOf(() => decodeData(hex('09 84 ff ff ff ff 00 00'))).offset).toBe(1);
    // octet-string claiming 10 octets, within the limit, with 2 present
    expect(decodeErrorOf(() => decodeData(hex('09 0a 00 00'))).message).toMatch(/truncated/);
    // array claiming 50,000 elements in 3 octets: refused at the array's tag, before any element
    const e = decodeErrorOf(() => decodeData(hex('01 82 c3 50 00 00 00')));
    expect(e.offset).toBe(0);
    expect(e.message).toMatch(/cannot fit/);
    // a 5-octet length form is not A-XDR
    expect(decodeErrorOf(() => decodeData(hex('09 85 00 00 00 00 01'))).offset).toBe(1);
  });

  it('applies the configured limits', () => {
    expect(decodeErrorOf(() => decodeData(encodeData({ type: 'octet-string', value: octets(65_536) }))).message).toMatch(/exceeds the limit of 65535/);
    const three = encodeData({ type: 'array', value: [{ type: 'null-data' }, { type: 'null-data' }, { type: 'null-data' }] });
    expect(decodeErrorOf(() => decodeData(three, { maxElements: 2 })).message).toMatch(/exceeds the limit of 2/);
    expect(decodeErrorOf(() => decodeData(three, { maxValues: 3 })).message).toMatch(/more than 3 values/);
    expect(decodeData(three, { maxValues: 4 }).type).toBe('array');
    const bits = encodeData({ type: 'bit-string', value: { bits: 17, bytes: octets(3) } });
    expect(decodeErrorOf(() => decodeData(bits, { maxStringLength: 2 })).offset).toBe(1);
  });

  it('stops a depth bomb of 10,000 nested arrays at level 17', () => {
    const bomb = new Uint8Array(20_000);
    for (let i = 0; i < bomb.length; i += 2) { bomb[i] = 0x01; bomb[i + 1] = 0x01; }
    const e = decodeErrorOf(() => decodeData(bomb));
    expect(e.message).toMatch(/nesting deeper than 16/);
    expect(e.offset).toBe(32); // the 17th array's tag
  });

  it('refuses invalid UTF-8 in a utf8-string', () => {
    const e = decodeErrorOf(() => decodeData(hex('0c 02 c3 28')));
    expect(e.message).toMatch(/not valid UTF-8/);
    expect(e.offset).toBe(1);
  });
});
