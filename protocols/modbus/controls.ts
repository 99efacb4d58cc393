/**
 * The control block of a Modbus register map: where a terminal keeps a meter's relay and
 * its active power limit, and how a command becomes register words and back.
 *
 * Pure, like registerMap.ts. The relay is a coil (written with function 5, read with 1) or a
 * holding register (written with 6, read with 3) holding one value for "connected" and one
 * for "disconnected". The limit is a holding register (written with 6 or 16, read with 3) of
 * `type`, kW = raw × scale; the raw `noLimit` value (default: the type's largest value) means
 * "no limit", which is what clear-limit writes.
 */
import type { LimitControlSpec, ModbusControlsSpec, RegisterPointSpec, RegisterType } from './config.js';
import { decodePoint, encodePoint, registerCount, RegisterMapError } from './registerMap.js';

const TYPE_MAX: Readonly<Record<RegisterType, number>> = {
  int16: 0x7fff, uint16: 0xffff, int32: 0x7fffffff, uint32: 0xffffffff,
  // IEEE 754 largest finite values: a float register has no "maximum integer".
  float32: 3.4028234663852886e38, float64: Number.MAX_VALUE,
};

/** Checks a control block; throws RegisterMapError naming the offending part. */
export function validateControls(c: ModbusControlsSpec): void {
  const relay = c.relay;
  if (relay !== undefined) {
    // A map built in code rather than loaded may carry both keys or neither: check what the union promises.
    const isCoil = 'coil' in relay;
    if (isCoil === ('register' in relay)) throw new RegisterMapError('give exactly one of coil or register', 'controls.relay');
    const where = 'coil' in relay ? relay.coil : relay.register;
    if (!Number.isInteger(where) || where < 0 || where > 0xffff) throw new RegisterMapError('address must be an integer in 0..65535', 'controls.relay');
    if (relay.connected === relay.disconnected) throw new RegisterMapError('connected and disconnected must differ', 'controls.relay');
    const range = isCoil ? 1 : 0xffff;
    for (const v of [relay.connected, relay.disconnected]) {
      if (!Number.isInteger(v) || v < 0 || v > range) throw new RegisterMapError(`values must be integers in 0..${range}`, 'controls.relay');
    }
  }
  const limit = c.limit;
  if (limit !== undefined) {
    if (!Object.hasOwn(TYPE_MAX, limit.type)) throw new RegisterMapError(`unknown type "${limit.type}"`, 'controls.limit');
    if (!Number.isInteger(limit.register) || limit.register < 0 || limit.register + registerCount(limit.type) - 1 > 0xffff) {
      throw new RegisterMapError('register must be an integer in 0..65535 and the value must end by 65535', 'controls.limit');
    }
    if (!Number.isFinite(limit.scale) || limit.scale <= 0) throw new RegisterMapError('scale must be finite and positive', 'controls.limit');
  }
}

/** The raw value that means "no limit" for this limit register. */
export function noLimitRaw(limit: LimitControlSpec): number {
  return limit.noLimit ?? TYPE_MAX[limit.type];
}

/** Register words that set the limit to `kw` (null: no limit). Throws RegisterValueError when it does not fit. */
export function encodeLimit(limit: LimitControlSpec, kw: number | null): number[] {
  const words = new Array<number>(registerCount(limit.type)).fill(0);
  const raw = kw === null ? noLimitRaw(limit) : kw / limit.scale;
  encodePoint(rawPoint(limit), raw, words, 0);
  return words;
}

/** The limit in kW the words hold, null for the no-limit value. */
export function decodeLimit(limit: LimitControlSpec, words: readonly number[]): number | null {
  const raw = decodePoint(rawPoint(limit), words, 0);
  if (raw === noLimitRaw(limit) || (limit.noLimit === undefined && raw >= TYPE_MAX[limit.type])) return null;
  return raw * limit.scale;
}

/** Registers the limit occupies. */
export function limitWords(limit: LimitControlSpec): number {
  return registerCount(limit.type);
}

function rawPoint(limit: LimitControlSpec): RegisterPointSpec {
  return {
    quantity: 'controls.limit', address: limit.register, type: limit.type,
    wordOrder: limit.wordOrder ?? 'big', byteOrder: limit.byteOrder ?? 'big', scale: 1, offset: 0,
  };
}
