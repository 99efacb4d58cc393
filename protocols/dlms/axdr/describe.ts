/**
 * Reading decoded Data: a JSON rendering for the CLI and logs, and typed accessors the COSEM
 * layer uses to pull attribute values out of a reply. An accessor given the wrong type
 * throws DlmsDecodeError ("expected …, got …"): a meter that answers with another type than
 * the interface class defines sent us bytes we cannot use.
 */
import { hex, hexNumber } from '../bytes.js';
import { DlmsDecodeError, type DlmsLayer } from '../errors.js';
import type { CosemDate, CosemDateTime, CosemTime, DlmsData } from './data.js';
import { calendarFields, decodeCosemDateTime } from './dateTime.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A JSON-friendly rendering: containers become arrays, octet-strings lowercase hex, bit-strings
 * a '0'/'1' string, bcd its two hex digits, 64-bit integers decimal strings, non-finite floats
 * "NaN"/"Infinity"/"-Infinity", null-data and dont-care null. A date-time whose fields name one
 * moment becomes ISO 8601 local time with its UTC offset (clock status omitted), a complete
 * date "YYYY-MM-DD", a complete time "hh:mm:ss.cc" (".cc" only when hundredths are given); anything with wildcards becomes an object
 * of its fields, null where not specified.
 */
export function dataToJson(d: DlmsData): JsonValue {
  switch (d.type) {
    case 'null-data':
    case 'dont-care':
      return null;
    case 'array':
    case 'structure':
    case 'compact-array':
      return d.value.map(dataToJson);
    case 'boolean':
      return d.value;
    case 'bit-string':
      return bitsToString(d.value.bits, d.value.bytes);
    case 'octet-string':
      return hex(d.value);
    case 'visible-string':
    case 'utf8-string':
      return d.value;
    case 'bcd':
      return hexNumber(d.value);
    case 'long64':
    case 'long64-unsigned':
      return d.value.toString();
    case 'float32':
    case 'float64':
      return Number.isFinite(d.value) ? d.value : String(d.value);
    case 'date-time':
      return dateTimeToJson(d.value);
    case 'date':
      return dateToJson(d.value);
    case 'time':
      return timeToJson(d.value);
    default:
      return d.value;
  }
}

/** A number from any integer, enum or float type (64-bit only when it is a safe integer). */
export function asNumber(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): number {
  switch (d.type) {
    case 'integer':
    case 'long':
    case 'double-long':
    case 'unsigned':
    case 'long-unsigned':
    case 'double-long-unsigned':
    case 'enum':
    case 'float32':
    case 'float64':
      return d.value;
    case 'long64':
    case 'long64-unsigned': {
      const n = Number(d.value);
      if (!Number.isSafeInteger(n)) throw new DlmsDecodeError(layer, `${what}: ${d.type} ${d.value} is beyond a safe JavaScript number`);
      return n;
    }
    default:
      return mismatch(layer, what, 'a number', d);
  }
}

/** A bigint from any integer or enum type. */
export function asBigInt(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): bigint {
  switch (d.type) {
    case 'integer':
    case 'long':
    case 'double-long':
    case 'unsigned':
    case 'long-unsigned':
    case 'double-long-unsigned':
    case 'enum':
      return BigInt(d.value);
    case 'long64':
    case 'long64-unsigned':
      return d.value;
    default:
      return mismatch(layer, what, 'an integer', d);
  }
}

export function asBoolean(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): boolean {
  return d.type === 'boolean' ? d.value : mismatch(layer, what, 'a boolean', d);
}

/** The octets of an octet-string. */
export function asBytes(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): Uint8Array {
  return d.type === 'octet-string' ? d.value : mismatch(layer, what, 'an octet-string', d);
}

/** The text of a visible-string or utf8-string. */
export function asString(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): string {
  return d.type === 'visible-string' || d.type === 'utf8-string' ? d.value : mismatch(layer, what, 'a string', d);
}

/** The elements of an array or compact-array. */
export function asArray(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): readonly DlmsData[] {
  return d.type === 'array' || d.type === 'compact-array' ? d.value : mismatch(layer, what, 'an array', d);
}

/** The members of a structure, optionally checking how many there are. */
export function asStructure(d: DlmsData, length?: number, what = 'value', layer: DlmsLayer = 'cosem'): readonly DlmsData[] {
  if (d.type !== 'structure') return mismatch(layer, what, 'a structure', d);
  if (length !== undefined && d.value.length !== length) {
    throw new DlmsDecodeError(layer, `${what}: expected a structure of ${length} members, got ${d.value.length}`);
  }
  return d.value;
}

/**
 * A date-time from either carrier COSEM uses: the date-time type, or (as Clock attribute 2
 * and profile buffers usually send it) an octet-string of 12 octets (IEC 62056-6-2 §4.1.6.1).
 */
export function asDateTime(d: DlmsData, what = 'value', layer: DlmsLayer = 'cosem'): CosemDateTime {
  if (d.type === 'date-time') return d.value;
  if (d.type === 'octet-string' && d.value.length === 12) return decodeCosemDateTime(d.value);
  return mismatch(layer, what, 'a date-time or an octet-string of 12 octets', d);
}

function mismatch(layer: DlmsLayer, what: string, expected: string, d: DlmsData): never {
  const got = d.type === 'octet-string' ? `octet-string of ${d.value.length} octets` : d.type;
  throw new DlmsDecodeError(layer, `${what}: expected ${expected}, got ${got}`);
}

function bitsToString(bits: number, bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bits; i++) s += ((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1 ? '1' : '0';
  return s;
}

function dateTimeToJson(dt: CosemDateTime): JsonValue {
  const f = calendarFields(dt.date, dt.time);
  if (typeof f === 'string') {
    return { ...dateFieldsToJson(dt.date), ...timeFieldsToJson(dt.time), deviation: dt.deviation ?? null, clockStatus: dt.clockStatus ?? null };
  }
  const local = `${isoDate(f.year, f.month, f.day)}T${isoTime(f.hour, f.minute, f.second, dt.time.hundredths)}`;
  if (dt.deviation === undefined) return local;
  // COSEM deviation is UTC − local; ISO's offset is local − UTC.
  const offset = -dt.deviation;
  const abs = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function dateToJson(d: CosemDate): JsonValue {
  const { year, month, dayOfMonth } = d;
  const f = calendarFields(d, { hour: 0, minute: 0, second: 0, hundredths: 0 });
  if (typeof f === 'string' || year === undefined || typeof month !== 'number' || typeof dayOfMonth !== 'number') return dateFieldsToJson(d);
  return isoDate(year, month, dayOfMonth);
}

function timeToJson(t: CosemTime): JsonValue {
  const f = calendarFields({ year: 2000, month: 1, dayOfMonth: 1, dayOfWeek: undefined }, t);
  if (typeof f === 'string') return timeFieldsToJson(t);
  return isoTime(f.hour, f.minute, f.second, t.hundredths);
}

function dateFieldsToJson(d: CosemDate): Record<string, JsonValue> {
  return { year: d.year ?? null, month: d.month ?? null, dayOfMonth: d.dayOfMonth ?? null, dayOfWeek: d.dayOfWeek ?? null };
}

function timeFieldsToJson(t: CosemTime): Record<string, JsonValue> {
  return { hour: t.hour ?? null, minute: t.minute ?? null, second: t.second ?? null, hundredths: t.hundredths ?? null };
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${pad(month)}-${pad(day)}`;
}

/** hh:mm:ss, with .cc when the hundredths are specified. */
function isoTime(hour: number, minute: number, second: number, hundredths: number | undefined): string {
  return `${pad(hour)}:${pad(minute)}:${pad(second)}${hundredths === undefined ? '' : `.${pad(hundredths)}`}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Lower-case hex without separators; no Buffer, so the dashboard's bundle can use this module too. */
