/**
 * Modbus register maps: which registers hold which catalogue quantity, how to read them
 * in as few requests as possible, and how to turn register words into numbers.
 *
 * Pure: no sockets, no clock. The map types are those of the configuration schema (config.ts).
 */
import type { RegisterMapSpec, RegisterPointSpec, RegisterType, WordEndianness } from './config.js';

/** One read request: `count` registers from `start`, carrying the points it serves. */
export interface RegisterBlock {
  readonly function: 3 | 4;
  readonly start: number;
  readonly count: number;
  readonly points: readonly RegisterPointSpec[];
}

/** Modbus Application Protocol v1.1b3 §6.3/§6.4: a read asks for 1..125 registers. */
export const MAX_REGISTERS_PER_READ = 125;

/** A register map that cannot be used as written; `point` names the offending point. */
export class RegisterMapError extends Error {
  readonly code = 'MODBUS_REGISTER_MAP';
  constructor(message: string, readonly point?: string) {
    super(point === undefined ? message : `${point}: ${message}`);
    this.name = 'RegisterMapError';
  }
}

/** A value that the point's type cannot hold (only raised when encoding). */
export class RegisterValueError extends Error {
  readonly code = 'MODBUS_REGISTER_VALUE';
  constructor(message: string, readonly point: string) {
    super(`${point}: ${message}`);
    this.name = 'RegisterValueError';
  }
}

const WORDS: Readonly<Record<RegisterType, number>> = {
  int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4,
};

/** Registers a value of `type` occupies. */
export function registerCount(type: RegisterType): number {
  return WORDS[type];
}

/** Checks a map; throws RegisterMapError naming the first offending point. */
export function validateRegisterMap(map: RegisterMapSpec): void {
  const fn: unknown = map.function; // maps come from YAML: check what the types promise
  if (fn !== 3 && fn !== 4) throw new RegisterMapError(`function must be 3 or 4, got ${String(fn)}`);
  if (!Number.isInteger(map.maxGap) || map.maxGap < 0 || map.maxGap > MAX_REGISTERS_PER_READ) {
    throw new RegisterMapError(`maxGap must be an integer in 0..${MAX_REGISTERS_PER_READ}, got ${map.maxGap}`);
  }
  if (map.points.length === 0) throw new RegisterMapError('a register map needs at least one point');
  const seen = new Set<string>();
  for (const p of map.points) {
    const name = pointName(p);
    if (!Object.hasOwn(WORDS, p.type)) throw new RegisterMapError(`unknown type "${p.type}"`, name);
    if (!Number.isInteger(p.address) || p.address < 0 || p.address > 0xffff) {
      throw new RegisterMapError('address must be an integer in 0..65535', name);
    }
    if (p.address + WORDS[p.type] - 1 > 0xffff) {
      throw new RegisterMapError(`a ${p.type} at ${p.address} runs past register 65535`, name);
    }
    if (!isOrder(p.wordOrder) || !isOrder(p.byteOrder)) {
      throw new RegisterMapError('wordOrder and byteOrder must be "big" or "little"', name);
    }
    if (!Number.isFinite(p.scale) || p.scale === 0 || !Number.isFinite(p.offset)) {
      throw new RegisterMapError('scale must be finite and non-zero, offset finite', name);
    }
    if (seen.has(p.quantity)) throw new RegisterMapError('quantity mapped twice', name);
    seen.add(p.quantity);
  }
  const sorted = [...map.points].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev !== undefined && cur !== undefined && prev.address + WORDS[prev.type] > cur.address) {
      throw new RegisterMapError(`overlaps ${pointName(prev)}`, pointName(cur));
    }
  }
}

/**
 * Plans the reads that fetch `quantities` (unmapped names are skipped; the caller reports
 * them). Points are merged into one block when adjacent or separated by at most
 * `map.maxGap` unused registers, as long as the block stays within `maxPerRead` registers.
 */
export function planBlocks(
  map: RegisterMapSpec,
  quantities: Iterable<string>,
  maxPerRead: number = MAX_REGISTERS_PER_READ,
): RegisterBlock[] {
  if (!Number.isInteger(maxPerRead) || maxPerRead < 1 || maxPerRead > MAX_REGISTERS_PER_READ) {
    throw new RegisterMapError(`a block holds 1..${MAX_REGISTERS_PER_READ} registers, asked for ${maxPerRead}`);
  }
  const wanted = new Set(quantities);
  const points = map.points.filter((p) => wanted.has(p.quantity)).sort((a, b) => a.address - b.address);
  const blocks: RegisterBlock[] = [];
  let start = -1;
  let end = -1; // exclusive
  let members: RegisterPointSpec[] = [];
  for (const p of points) {
    const pEnd = p.address + WORDS[p.type];
    if (pEnd - p.address > maxPerRead) {
      throw new RegisterMapError(`needs ${WORDS[p.type]} registers, more than a ${maxPerRead}-register read`, pointName(p));
    }
    if (members.length > 0 && p.address - end <= map.maxGap && pEnd - start <= maxPerRead) {
      end = Math.max(end, pEnd);
      members.push(p);
      continue;
    }
    if (members.length > 0) blocks.push({ function: map.function, start, count: end - start, points: members });
    start = p.address;
    end = pEnd;
    members = [p];
  }
  if (members.length > 0) blocks.push({ function: map.function, start, count: end - start, points: members });
  return blocks;
}

// One scratch buffer for assembling bytes; JS is single-threaded and nothing here awaits.
const scratch = new DataView(new ArrayBuffer(8));

/**
 * Decodes the point whose first register is `words[offsetInBlock]`: byte order within each
 * register, then word order across registers, then value = raw × scale + offset.
 */
export function decodePoint(point: RegisterPointSpec, words: ArrayLike<number>, offsetInBlock: number): number {
  const n = WORDS[point.type];
  if (offsetInBlock < 0 || offsetInBlock + n > words.length) {
    throw new RegisterMapError(`needs registers ${offsetInBlock}..${offsetInBlock + n - 1} of a ${words.length}-register reply`, pointName(point));
  }
  for (let i = 0; i < n; i++) {
    const src = point.wordOrder === 'big' ? i : n - 1 - i;
    const w = (words[offsetInBlock + src] ?? 0) & 0xffff;
    scratch.setUint16(i * 2, point.byteOrder === 'big' ? w : swapBytes(w));
  }
  return readRaw(point.type) * point.scale + point.offset;
}

/** Inverse of decodePoint (used by the simulator and tests): raw = (value − offset) / scale. */
export function encodePoint(point: RegisterPointSpec, value: number, words: number[] | Uint16Array, offsetInBlock: number): void {
  const n = WORDS[point.type];
  writeRaw(point, (value - point.offset) / point.scale);
  for (let i = 0; i < n; i++) {
    const dst = point.wordOrder === 'big' ? i : n - 1 - i;
    const w = scratch.getUint16(i * 2);
    words[offsetInBlock + dst] = point.byteOrder === 'big' ? w : swapBytes(w);
  }
}

function readRaw(type: RegisterType): number {
  switch (type) {
    case 'int16': return scratch.getInt16(0);
    case 'uint16': return scratch.getUint16(0);
    case 'int32': return scratch.getInt32(0);
    case 'uint32': return scratch.getUint32(0);
    case 'float32': return scratch.getFloat32(0);
    case 'float64': return scratch.getFloat64(0);
  }
}

const INT_RANGE: Readonly<Partial<Record<RegisterType, readonly [number, number]>>> = {
  int16: [-0x8000, 0x7fff], uint16: [0, 0xffff], int32: [-0x80000000, 0x7fffffff], uint32: [0, 0xffffffff],
};

function writeRaw(point: RegisterPointSpec, raw: number): void {
  const range = INT_RANGE[point.type];
  const v = range === undefined ? raw : Math.round(raw);
  if (range !== undefined && !(v >= range[0] && v <= range[1])) {
    throw new RegisterValueError(`${raw} does not fit a ${point.type}`, pointName(point));
  }
  switch (point.type) {
    case 'int16': scratch.setInt16(0, v); break;
    case 'uint16': scratch.setUint16(0, v); break;
    case 'int32': scratch.setInt32(0, v); break;
    case 'uint32': scratch.setUint32(0, v); break;
    case 'float32': scratch.setFloat32(0, v); break;
    case 'float64': scratch.setFloat64(0, v); break;
  }
}

function swapBytes(w: number): number {
  return ((w & 0xff) << 8) | (w >>> 8);
}

function isOrder(o: unknown): o is WordEndianness {
  return o === 'big' || o === 'little';
}

function pointName(p: RegisterPointSpec): string {
  return `${p.quantity}@${p.address}`;
}
