import { readFile } from 'node:fs/promises';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CollectProfile, GridheadConfig, TerminalSeed, MeterSeed } from '../../../src/config/schema.js';
import type { RegisterMapSpec, RegisterPointSpec, RegisterType } from '../../../protocols/modbus/config.js';
import {
  decodePoint,
  encodePoint,
  planBlocks,
  RegisterMapError,
  RegisterValueError,
  validateRegisterMap,
} from '../../../protocols/modbus/registerMap.js';
import { THREE_PHASE_METER_MAP, INSTANTANEOUS_QUANTITIES } from '../../../simulators/modbus/threePhaseMeterMap.js';

const point = (quantity: string, address: number, over: Partial<RegisterPointSpec> = {}): RegisterPointSpec => ({
  quantity, address, type: 'float32', wordOrder: 'big', byteOrder: 'big', scale: 1, offset: 0, ...over,
});
const map = (points: RegisterPointSpec[], over: Partial<RegisterMapSpec> = {}): RegisterMapSpec => ({
  function: 4, maxGap: 0, points, ...over,
});

/** The station's register maps: the protocol's schema bound to the quantity catalogue. */
type RegisterMapConfig = GridheadConfig['modbus']['registerMaps'][string];
type RegisterPointConfig = RegisterMapConfig['points'][number];
const ModbusConfig = GridheadConfig.properties.modbus;

describe('register map option types', () => {
  it('accepts the config schema types and is accepted by them', () => {
    // Compile-time check: the station binds the protocol's schema to its catalogue; the result must stay the adapter's type.
    const fromConfig = (m: RegisterMapConfig): RegisterMapSpec => m;
    const toConfigPoint = (p: RegisterPointSpec): Omit<RegisterPointConfig, 'quantity'> => p;
    expect(typeof fromConfig).toBe('function');
    expect(typeof toConfigPoint).toBe('function');
  });
});

describe('protocols/modbus/sample.yaml', () => {
  it('passes the config schema and holds exactly the simulated meter map', async () => {
    const doc = parse(await readFile(new URL('../../../protocols/modbus/sample.yaml', import.meta.url), 'utf8')) as {
      modbus: unknown;
      collect: { profiles: Record<string, unknown> };
      registry: { terminals: unknown[]; meters: unknown[] };
    };
    expect([...Value.Errors(ModbusConfig, doc.modbus)]).toEqual([]);
    for (const p of Object.values(doc.collect.profiles)) expect(Value.Check(CollectProfile, Value.Default(CollectProfile, p))).toBe(true);
    for (const t of doc.registry.terminals) expect(Value.Check(TerminalSeed, Value.Default(TerminalSeed, t))).toBe(true);
    for (const m of doc.registry.meters) expect(Value.Check(MeterSeed, Value.Default(MeterSeed, m))).toBe(true);
    expect((doc.modbus as { registerMaps: Record<string, unknown> }).registerMaps['three-phase-meter']).toEqual(THREE_PHASE_METER_MAP);
  });
});

describe('planBlocks', () => {
  it('merges adjacent points into one block', () => {
    const m = map([point('a', 0), point('b', 2), point('c', 4)]);
    expect(planBlocks(m, ['a', 'b', 'c']).map((b) => [b.start, b.count, b.points.length])).toEqual([[0, 6, 3]]);
  });

  it('reads through a gap of at most maxGap unused registers and splits on a wider one', () => {
    const m = map([point('a', 0), point('b', 10), point('c', 21)], { maxGap: 8 });
    // a ends at 2, b starts at 10: gap 8 → merged; b ends at 12, c starts at 21: gap 9 → split
    expect(planBlocks(m, ['a', 'b', 'c']).map((b) => [b.start, b.count])).toEqual([[0, 12], [21, 2]]);
  });

  it('plans only the quantities asked for, skipping unmapped names', () => {
    const m = map([point('a', 0), point('b', 2), point('c', 4)]);
    const blocks = planBlocks(m, ['c', 'a', 'nope']);
    expect(blocks.map((b) => [b.start, b.count, b.points.map((p) => p.quantity)])).toEqual([[0, 2, ['a']], [4, 2, ['c']]]);
  });

  it('never makes a block longer than 125 registers', () => {
    const points = Array.from({ length: 100 }, (_, i) => point(`q${i}`, i * 2));
    const blocks = planBlocks(map(points, { maxGap: 8 }), points.map((p) => p.quantity));
    expect(blocks.map((b) => [b.start, b.count])).toEqual([[0, 124], [124, 76]]);
    expect(blocks.flatMap((b) => b.points)).toHaveLength(100);
  });

  it('honours a smaller per-read limit and rejects one outside 1..125', () => {
    const m = map([point('a', 0), point('b', 2), point('c', 4)]);
    expect(planBlocks(m, ['a', 'b', 'c'], 4).map((b) => b.count)).toEqual([4, 2]);
    expect(() => planBlocks(m, ['a'], 126)).toThrow(RegisterMapError);
    expect(() => planBlocks(m, ['a'], 0)).toThrow(RegisterMapError);
  });

  it('carries the map function into every block', () => {
    const m = map([point('a', 0), point('b', 100)], { function: 3 });
    expect(planBlocks(m, ['a', 'b']).map((b) => b.function)).toEqual([3, 3]);
  });

  it('reads every instantaneous value of the three-phase meter in one 40-register block', () => {
    const blocks = planBlocks(THREE_PHASE_METER_MAP, INSTANTANEOUS_QUANTITIES);
    expect(blocks.map((b) => [b.function, b.start, b.count])).toEqual([[4, 0, 40]]);
    expect(planBlocks(THREE_PHASE_METER_MAP, THREE_PHASE_METER_MAP.points.map((p) => p.quantity)).map((b) => [b.start, b.count]))
      .toEqual([[0, 40], [256, 16]]);
  });
});

describe('decodePoint', () => {
  const cases: [RegisterType, number[], number][] = [
    ['int16', [0xfffe], -2],
    ['uint16', [0xfffe], 65534],
    ['int32', [0xffff, 0xfffe], -2],
    ['uint32', [0x0001, 0x0002], 65538],
    ['float32', [0x4366, 0x8000], 230.5],
    ['float64', [0x4059, 0x0000, 0x0000, 0x0000], 100],
  ];
  it.each(cases)('decodes %s in big word and byte order', (type, words, expected) => {
    expect(decodePoint(point('x', 0, { type }), words, 0)).toBe(expected);
  });

  it('takes the low word first when wordOrder is little', () => {
    expect(decodePoint(point('x', 0, { type: 'uint32', wordOrder: 'little' }), [0x0002, 0x0001], 0)).toBe(65538);
    expect(decodePoint(point('x', 0, { type: 'float32', wordOrder: 'little' }), [0x8000, 0x4366], 0)).toBe(230.5);
    expect(decodePoint(point('x', 0, { type: 'float64', wordOrder: 'little' }), [0, 0, 0, 0x4059], 0)).toBe(100);
  });

  it('swaps the bytes of each register when byteOrder is little', () => {
    expect(decodePoint(point('x', 0, { type: 'uint16', byteOrder: 'little' }), [0x3412], 0)).toBe(0x1234);
    expect(decodePoint(point('x', 0, { type: 'float32', byteOrder: 'little' }), [0x6643, 0x0080], 0)).toBe(230.5);
    // both swapped: the fully little-endian layout some meters use
    expect(decodePoint(point('x', 0, { type: 'int32', byteOrder: 'little', wordOrder: 'little' }), [0xfeff, 0xffff], 0)).toBe(-2);
  });

  it('applies scale and offset to the raw value', () => {
    expect(decodePoint(point('x', 0, { type: 'int16', scale: 0.1, offset: 0 }), [2305], 0)).toBeCloseTo(230.5, 10);
    expect(decodePoint(point('x', 0, { type: 'int16', scale: 0.01, offset: -40 }), [0xfc18], 0)).toBeCloseTo(-50, 10);
    expect(decodePoint(point('x', 0, { type: 'uint32', scale: 0.001, offset: 0 }), [0x0001, 0x0000], 0)).toBeCloseTo(65.536, 10);
  });

  it('reads the point at its offset in the block', () => {
    expect(decodePoint(point('x', 10, { type: 'int16' }), [1, 2, 3, -7 & 0xffff], 3)).toBe(-7);
  });

  it('refuses a point that runs past the end of the reply', () => {
    expect(() => decodePoint(point('x', 0, { type: 'float64' }), [1, 2, 3], 0)).toThrow(RegisterMapError);
  });

  it('round-trips every type and order through encodePoint', () => {
    const types: RegisterType[] = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'];
    const orders = ['big', 'little'] as const;
    for (const type of types) {
      for (const wordOrder of orders) {
        for (const byteOrder of orders) {
          const p = point('x', 0, { type, wordOrder, byteOrder, scale: 0.5, offset: 10 });
          const words = [0, 0, 0, 0, 0];
          const value = type.startsWith('uint') ? 1010 : -1010;
          encodePoint(p, value, words, 1);
          expect(decodePoint(p, words, 1)).toBe(value);
          expect(words[0]).toBe(0);
        }
      }
    }
  });

  it('refuses to encode a value the type cannot hold', () => {
    expect(() => { encodePoint(point('x', 0, { type: 'int16' }), 40000, [0], 0); }).toThrow(RegisterValueError);
    expect(() => { encodePoint(point('x', 0, { type: 'uint32' }), -1, [0, 0], 0); }).toThrow(RegisterValueError);
  });
});

describe('validateRegisterMap', () => {
  const errorOf = (m: RegisterMapSpec): RegisterMapError => {
    try {
      validateRegisterMap(m);
    } catch (e) {
      if (e instanceof RegisterMapError) return e;
      throw e;
    }
    throw new Error('expected a RegisterMapError');
  };

  it('accepts the simulated three-phase meter map', () => {
    expect(() => { validateRegisterMap(THREE_PHASE_METER_MAP); }).not.toThrow();
  });

  it('names the point that overlaps another', () => {
    const e = errorOf(map([point('a', 0), point('b', 1, { type: 'int16' })]));
    expect(e.code).toBe('MODBUS_REGISTER_MAP');
    expect(e.point).toBe('b@1');
    expect(e.message).toContain('a@0');
  });

  it('names a point that runs past register 65535', () => {
    expect(errorOf(map([point('a', 65535)])).point).toBe('a@65535');
    expect(() => { validateRegisterMap(map([point('a', 65535, { type: 'uint16' })])); }).not.toThrow();
  });

  it('rejects an address out of range, a zero scale and a quantity mapped twice', () => {
    expect(errorOf(map([point('a', 70000)])).point).toBe('a@70000');
    expect(errorOf(map([point('a', 0, { scale: 0 })])).point).toBe('a@0');
    expect(errorOf(map([point('a', 0), point('a', 10)])).point).toBe('a@10');
  });

  it('rejects a bad function, a maxGap over 125 and an empty map', () => {
    expect(errorOf({ function: 6 as unknown as 4, maxGap: 0, points: [point('a', 0)] }).message).toContain('function');
    expect(errorOf(map([point('a', 0)], { maxGap: 126 })).message).toContain('maxGap');
    expect(errorOf(map([])).message).toContain('at least one');
  });
});
