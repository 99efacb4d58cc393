/**
 * Short constructors for the Data the simulated meter serves, so an object definition reads
 * like the Blue Book's attribute table (`dlu(v)` is a double-long-unsigned), plus the shared
 * COSEM structures: date-time as an octet-string of 12 and capture_object_definition.
 */
import type { DlmsData } from '../../protocols/dlms/axdr/data.js';
import { encodeCosemDateTime, epochMsToCosemDateTime } from '../../protocols/dlms/axdr/dateTime.js';

export const nullData: DlmsData = { type: 'null-data' };

export const bool = (value: boolean): DlmsData => ({ type: 'boolean', value });
export const int8 = (value: number): DlmsData => ({ type: 'integer', value: clampInt(value, -128, 127) });
export const int16 = (value: number): DlmsData => ({ type: 'long', value: clampInt(value, -32768, 32767) });
export const int32 = (value: number): DlmsData => ({ type: 'double-long', value: clampInt(value, -0x80000000, 0x7fffffff) });
export const u8 = (value: number): DlmsData => ({ type: 'unsigned', value: clampInt(value, 0, 0xff) });
export const u16 = (value: number): DlmsData => ({ type: 'long-unsigned', value: clampInt(value, 0, 0xffff) });
export const u32 = (value: number): DlmsData => ({ type: 'double-long-unsigned', value: clampInt(value, 0, 0xffffffff) });
export const enumOf = (value: number): DlmsData => ({ type: 'enum', value: clampInt(value, 0, 0xff) });
export const octets = (value: Uint8Array): DlmsData => ({ type: 'octet-string', value });
export const visible = (value: string): DlmsData => ({ type: 'visible-string', value });
export const structure = (...value: DlmsData[]): DlmsData => ({ type: 'structure', value });
export const array = (value: DlmsData[]): DlmsData => ({ type: 'array', value });

/** A date-time as COSEM attributes carry it: an octet-string of 12 (IEC 62056-6-2 §4.1.6.1). */
export function dateTimeOctets(ms: number, deviationMinutes: number, clockStatus = 0): DlmsData {
  return octets(encodeCosemDateTime(epochMsToCosemDateTime(ms, deviationMinutes, clockStatus)));
}

/** capture_object_definition ::= structure { class_id, logical_name, attribute_index, data_index } (IC 7 attribute 3). */
export function captureObjectDefinition(classId: number, logicalName: Uint8Array, attributeIndex: number, dataIndex = 0): DlmsData {
  return structure(u16(classId), octets(logicalName), int8(attributeIndex), u16(dataIndex));
}

/** Integer types saturate rather than wrap: a simulated register that overflowed its type would read as running backwards. */
function clampInt(v: number, min: number, max: number): number {
  const i = Math.round(v);
  return i < min ? min : i > max ? max : i;
}

/** The shape a written value must have: a simple type, an array of one shape, a structure of shapes, an octet-string of a length. */
export type Shape =
  | Exclude<DlmsData['type'], 'array' | 'structure' | 'compact-array'>
  | { readonly array: Shape }
  | { readonly structure: readonly Shape[] }
  | { readonly octets: number };

/** Whether `d` has `shape` (SET answers type-unmatched when it does not). */
export function conforms(d: DlmsData, shape: Shape): boolean {
  if (typeof shape === 'string') return d.type === shape;
  if ('octets' in shape) return d.type === 'octet-string' && d.value.length === shape.octets;
  if ('array' in shape) return d.type === 'array' && d.value.every((e) => conforms(e, shape.array));
  return d.type === 'structure' && d.value.length === shape.structure.length && d.value.every((e, i) => {
    const s = shape.structure[i];
    return s !== undefined && conforms(e, s);
  });
}

/** The number inside an integer-typed Data (callers check the type with `conforms` first). */
export function numberOf(d: DlmsData | undefined): number {
  return d !== undefined && 'value' in d && typeof d.value === 'number' ? d.value : Number.NaN;
}

/** The octets inside an octet-string Data (empty for any other type). */
export function octetsOf(d: DlmsData | undefined): Uint8Array {
  return d?.type === 'octet-string' ? d.value : new Uint8Array(0);
}
