import { describe, expect, it } from 'vitest';
import { formatObis, obisEquals, ObisError, parseObis } from '../../../../protocols/dlms/cosem/obis.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('parseObis', () => {
  it.each([
    ['1.0.1.8.0.255', [1, 0, 1, 8, 0, 255]],
    ['0.0.1.0.0.255', [0, 0, 1, 0, 0, 255]],
    ['1-0:1.8.0.255', [1, 0, 1, 8, 0, 255]],
    ['1-0:1.8.0*255', [1, 0, 1, 8, 0, 255]],
    ['1-0:1.8.1*101', [1, 0, 1, 8, 1, 101]],
    ['0-0:98.1.0&12', [0, 0, 98, 1, 0, 12]],
    ['1.0.99.1.0', [1, 0, 99, 1, 0, 255]], // five groups: F = 255
    ['1-0:32.7.0', [1, 0, 32, 7, 0, 255]],
    ['  0.0.96.3.10.255 ', [0, 0, 96, 3, 10, 255]],
    ['000.000.001.000.000.255', [0, 0, 1, 0, 0, 255]],
  ])('reads %s', (text, groups) => {
    expect(parseObis(text)).toEqual(Uint8Array.from(groups));
  });

  it.each(['', '1.0.1.8', '1.0.1.8.0.255.1', '1.0.1.8.0.256', '1-0:1.8.0.999', '1.0.1.8.-1.255', '1.0.1.8.x.255', '1-0-1.8.0.255', '1-0:1.8', '1..1.8.0.255', '0x01.0.1.8.0.255', '1-0:1.8.0*', '1.0.1.8.0.2555'])(
    'refuses %j with an ObisError',
    (text) => {
      let caught: unknown;
      try {
        parseObis(text);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ObisError);
      expect((caught as ObisError).code).toBe('DLMS_OBIS');
      expect((caught as ObisError).input).toBe(text);
    },
  );
});

describe('formatObis', () => {
  it('writes A.B.C.D.E.F and round-trips with parseObis', () => {
    expect(formatObis(bytes(1, 0, 1, 8, 0, 255))).toBe('1.0.1.8.0.255');
    expect(formatObis([0, 0, 96, 3, 10, 255])).toBe('0.0.96.3.10.255');
    for (let i = 0; i < 256; i++) {
      const code = bytes(i, 255 - i, (i * 7) & 255, (i * 13) & 255, i >> 1, 255);
      expect(parseObis(formatObis(code))).toEqual(code);
    }
  });

  it('refuses anything but six octets', () => {
    expect(() => formatObis(bytes(1, 0, 1, 8, 0))).toThrow(ObisError);
    expect(() => formatObis([1, 0, 1, 8, 0, 256])).toThrow(ObisError);
  });

  it('compares logical names', () => {
    expect(obisEquals(parseObis('1-0:1.8.0'), bytes(1, 0, 1, 8, 0, 255))).toBe(true);
    expect(obisEquals(parseObis('1.0.1.8.1.255'), bytes(1, 0, 1, 8, 0, 255))).toBe(false);
  });
});
