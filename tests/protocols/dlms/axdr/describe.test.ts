import { describe, expect, it } from 'vitest';
import type { DlmsData } from '../../../../protocols/dlms/axdr/data.js';
import { asArray, asBigInt, asBoolean, asBytes, asDateTime, asNumber, asString, asStructure, dataToJson } from '../../../../protocols/dlms/axdr/describe.js';
import { decodeErrorOf, hex } from './helpers.js';

const dt = (deviation: number | undefined) => ({
  date: { year: 2026, month: 11, dayOfMonth: 26, dayOfWeek: 4 },
  time: { hour: 1, minute: 2, second: 3, hundredths: 0 },
  deviation,
  clockStatus: 0x80,
});

describe('dataToJson', () => {
  it('renders a register reply for the CLI', () => {
    const d: DlmsData = {
      type: 'structure',
      value: [
        { type: 'octet-string', value: hex('01 00 01 08 00 ff') },
        { type: 'long64-unsigned', value: 2n ** 64n - 1n },
        { type: 'array', value: [{ type: 'integer', value: -3 }, { type: 'enum', value: 30 }] },
        { type: 'bit-string', value: { bits: 10, bytes: hex('aa c0') } },
        { type: 'float32', value: NaN },
        { type: 'float64', value: -Infinity },
        { type: 'bcd', value: 0x59 },
        { type: 'null-data' },
        { type: 'visible-string', value: 'kWh' },
        { type: 'boolean', value: true },
        { type: 'compact-array', description: { type: 'unsigned' }, value: [{ type: 'unsigned', value: 1 }] },
      ],
    };
    expect(dataToJson(d)).toEqual(['0100010800ff', '18446744073709551615', [-3, 30], '1010101011', 'NaN', '-Infinity', '59', null, 'kWh', true, [1]]);
    expect(JSON.parse(JSON.stringify(dataToJson(d)))).toEqual(dataToJson(d));
  });

  it('renders complete dates and times as ISO 8601 and wildcards as fields', () => {
    // COSEM deviation −60 (UTC = local − 1 h) is ISO offset +01:00
    expect(dataToJson({ type: 'date-time', value: dt(-60) })).toBe('2026-11-26T01:02:03.00+01:00');
    expect(dataToJson({ type: 'date-time', value: dt(330) })).toBe('2026-11-26T01:02:03.00-05:30');
    expect(dataToJson({ type: 'date-time', value: dt(undefined) })).toBe('2026-11-26T01:02:03.00');
    expect(new Date(dataToJson({ type: 'date-time', value: dt(-60) }) as string).getTime()).toBe(Date.UTC(2026, 10, 26, 0, 2, 3));
    expect(dataToJson({ type: 'date-time', value: { ...dt(-60), time: { ...dt(-60).time, second: undefined } } })).toEqual({
      year: 2026, month: 11, dayOfMonth: 26, dayOfWeek: 4, hour: 1, minute: 2, second: null, hundredths: 0, deviation: -60, clockStatus: 128,
    });
    expect(dataToJson({ type: 'date', value: { year: 2024, month: 2, dayOfMonth: 29, dayOfWeek: 4 } })).toBe('2024-02-29');
    expect(dataToJson({ type: 'date', value: { year: undefined, month: 'dst-begin', dayOfMonth: 'last', dayOfWeek: 7 } })).toEqual({ year: null, month: 'dst-begin', dayOfMonth: 'last', dayOfWeek: 7 });
    expect(dataToJson({ type: 'time', value: { hour: 6, minute: 30, second: 0, hundredths: undefined } })).toBe('06:30:00');
    expect(dataToJson({ type: 'time', value: { hour: undefined, minute: 30, second: 0, hundredths: 0 } })).toEqual({ hour: null, minute: 30, second: 0, hundredths: 0 });
  });
});

describe('typed accessors', () => {
  it('return the value of the expected types', () => {
    expect(asNumber({ type: 'double-long', value: -5 })).toBe(-5);
    expect(asNumber({ type: 'float32', value: 1.5 })).toBe(1.5);
    expect(asNumber({ type: 'long64', value: -(2n ** 53n) + 1n })).toBe(-(2 ** 53) + 1);
    expect(asBigInt({ type: 'long-unsigned', value: 7 })).toBe(7n);
    expect(asBigInt({ type: 'long64-unsigned', value: 2n ** 64n - 1n })).toBe(2n ** 64n - 1n);
    expect(asBoolean({ type: 'boolean', value: false })).toBe(false);
    expect(asBytes({ type: 'octet-string', value: hex('01 02') })).toEqual(hex('01 02'));
    expect(asString({ type: 'utf8-string', value: 'ü' })).toBe('ü');
    expect(asArray({ type: 'compact-array', description: { type: 'unsigned' }, value: [] })).toEqual([]);
    expect(asStructure({ type: 'structure', value: [{ type: 'null-data' }] }, 1)).toHaveLength(1);
    expect(asDateTime({ type: 'octet-string', value: hex('07 ea 0b 1a 04 01 02 03 00 ff c4 80') })).toEqual(dt(-60));
    expect(asDateTime({ type: 'date-time', value: dt(0) })).toEqual(dt(0));
  });

  it('throw DlmsDecodeError naming what was expected and what came', () => {
    const e = decodeErrorOf(() => asNumber({ type: 'octet-string', value: hex('01 02') }, 'scaler'));
    expect(e.layer).toBe('cosem');
    expect(e.message).toBe('cosem: scaler: expected a number, got octet-string of 2 octets');
    expect(decodeErrorOf(() => asNumber({ type: 'long64', value: 2n ** 53n })).message).toMatch(/safe/);
    expect(decodeErrorOf(() => asBigInt({ type: 'float64', value: 1 }, 'x', 'axdr')).layer).toBe('axdr');
    decodeErrorOf(() => asBoolean({ type: 'unsigned', value: 1 }));
    decodeErrorOf(() => asBytes({ type: 'visible-string', value: 'a' }));
    decodeErrorOf(() => asString({ type: 'octet-string', value: hex('61') }));
    decodeErrorOf(() => asArray({ type: 'structure', value: [] }));
    expect(decodeErrorOf(() => asStructure({ type: 'structure', value: [] }, 2)).message).toMatch(/2 members, got 0/);
    decodeErrorOf(() => asStructure({ type: 'array', value: [] }));
    expect(decodeErrorOf(() => asDateTime({ type: 'octet-string', value: hex('07 ea') })).message).toMatch(/got octet-string of 2 octets/);
  });
});
