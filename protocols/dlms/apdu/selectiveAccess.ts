/**
 * Selective access to a Profile Generic buffer (IEC 62056-6-2 §4.3.6, IC 7 attribute 2):
 * access-selector 1 = range_descriptor, 2 = entry_descriptor. Both travel as the Data of
 * a Selective-Access-Descriptor; these helpers build that Data and read it back.
 *
 *   capture_object_definition ::= structure { class_id long-unsigned, logical_name octet-string,
 *                                             attribute_index integer, data_index long-unsigned }
 *   range_descriptor ::= structure { restricting_object capture_object_definition,
 *                                    from_value, to_value, selected_values array capture_object_definition }
 *   entry_descriptor ::= structure { from_entry double-long-unsigned, to_entry double-long-unsigned,
 *                                    from_selected_value long-unsigned, to_selected_value long-unsigned }
 * Entries and selected values count from 1; 0 in to_entry / to_selected_value means "to the last".
 */
import { DlmsDecodeError, DlmsEncodeError } from '../errors.js';
import type { DlmsData } from '../axdr/data.js';
import type { SelectiveAccess } from './descriptors.js';

export const ACCESS_SELECTOR = { range: 1, entry: 2 } as const;

export interface CaptureObjectDefinition {
  readonly classId: number;
  readonly logicalName: Uint8Array;
  readonly attributeIndex: number;
  /** 0 = the whole attribute; n = the n-th element of a structured attribute. */
  readonly dataIndex: number;
}

export interface RangeDescriptor {
  readonly kind: 'range';
  /** Usually the clock: class 8, 0.0.1.0.0.255, attribute 2, data index 0. */
  readonly restrictingObject: CaptureObjectDefinition;
  /** Bounds in the restricting object's type; for the clock a date-time (octet-string of 12). */
  readonly from: DlmsData;
  readonly to: DlmsData;
  /** Columns wanted; empty = all. */
  readonly selectedValues: readonly CaptureObjectDefinition[];
}

export interface EntryDescriptor {
  readonly kind: 'entry';
  readonly fromEntry: number;
  readonly toEntry: number;
  readonly fromSelectedValue: number;
  readonly toSelectedValue: number;
}

export type ProfileSelectiveAccess = RangeDescriptor | EntryDescriptor;

/** The Selective-Access-Descriptor for a range or entry descriptor. */
export function profileSelectiveAccess(d: ProfileSelectiveAccess): SelectiveAccess {
  if (d.kind === 'range') {
    return {
      selector: ACCESS_SELECTOR.range,
      parameters: structure([
        captureObjectData(d.restrictingObject),
        d.from,
        d.to,
        { type: 'array', value: d.selectedValues.map(captureObjectData) },
      ]),
    };
  }
  return {
    selector: ACCESS_SELECTOR.entry,
    parameters: structure([
      { type: 'double-long-unsigned', value: checked(d.fromEntry, 0xffffffff, 'from_entry') },
      { type: 'double-long-unsigned', value: checked(d.toEntry, 0xffffffff, 'to_entry') },
      { type: 'long-unsigned', value: checked(d.fromSelectedValue, 0xffff, 'from_selected_value') },
      { type: 'long-unsigned', value: checked(d.toSelectedValue, 0xffff, 'to_selected_value') },
    ]),
  };
}

/**
 * Reads a Profile Generic selective access back into its typed form (the server side).
 * Parameters of the wrong shape throw DlmsDecodeError; the server answers those with a
 * data-access-result rather than dropping the association.
 */
export function parseProfileSelectiveAccess(a: SelectiveAccess): ProfileSelectiveAccess {
  const p = a.parameters;
  if (a.selector === ACCESS_SELECTOR.range) {
    const [restricting, from, to, selected] = fields(p, 4, 'range_descriptor');
    if (selected.type !== 'array') fail('range_descriptor: selected_values is not an array');
    return {
      kind: 'range',
      restrictingObject: readCaptureObject(restricting),
      from,
      to,
      selectedValues: selected.value.map(readCaptureObject),
    };
  }
  if (a.selector === ACCESS_SELECTOR.entry) {
    const [fromEntry, toEntry, fromValue, toValue] = fields(p, 4, 'entry_descriptor');
    return {
      kind: 'entry',
      fromEntry: unsignedOf(fromEntry, 'double-long-unsigned', 'from_entry'),
      toEntry: unsignedOf(toEntry, 'double-long-unsigned', 'to_entry'),
      fromSelectedValue: unsignedOf(fromValue, 'long-unsigned', 'from_selected_value'),
      toSelectedValue: unsignedOf(toValue, 'long-unsigned', 'to_selected_value'),
    };
  }
  return fail(`access-selector ${a.selector} is not defined for a profile buffer`);
}

export function captureObjectData(c: CaptureObjectDefinition): DlmsData {
  if (c.logicalName.length !== 6) throw new DlmsEncodeError('apdu', `logical_name must be 6 octets, got ${c.logicalName.length}`);
  if (!Number.isInteger(c.attributeIndex) || c.attributeIndex < -128 || c.attributeIndex > 127) {
    throw new DlmsEncodeError('apdu', `attribute_index ${c.attributeIndex} is not an integer (Integer8)`);
  }
  return structure([
    { type: 'long-unsigned', value: checked(c.classId, 0xffff, 'class_id') },
    { type: 'octet-string', value: c.logicalName },
    { type: 'integer', value: c.attributeIndex },
    { type: 'long-unsigned', value: checked(c.dataIndex, 0xffff, 'data_index') },
  ]);
}

export function readCaptureObject(d: DlmsData): CaptureObjectDefinition {
  const [classId, logicalName, attributeIndex, dataIndex] = fields(d, 4, 'capture_object_definition');
  if (logicalName.type !== 'octet-string' || logicalName.value.length !== 6) fail('capture_object_definition: logical_name is not an octet-string of 6');
  if (attributeIndex.type !== 'integer') fail('capture_object_definition: attribute_index is not an integer');
  return {
    classId: unsignedOf(classId, 'long-unsigned', 'class_id'),
    logicalName: logicalName.value,
    attributeIndex: attributeIndex.value,
    dataIndex: unsignedOf(dataIndex, 'long-unsigned', 'data_index'),
  };
}

function structure(value: DlmsData[]): DlmsData {
  return { type: 'structure', value };
}

function fields(d: DlmsData, n: 4, what: string): [DlmsData, DlmsData, DlmsData, DlmsData] {
  if (d.type !== 'structure' || d.value.length !== n) return fail(`${what}: expected a structure of ${n} elements`);
  const [a, b, c, e] = d.value;
  if (a === undefined || b === undefined || c === undefined || e === undefined) return fail(`${what}: missing element`);
  return [a, b, c, e];
}

function unsignedOf(d: DlmsData, type: 'long-unsigned' | 'double-long-unsigned', what: string): number {
  if (d.type !== type) return fail(`${what} is ${d.type}, expected ${type}`);
  return d.value;
}

function checked(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new DlmsEncodeError('apdu', `${what} ${v} out of range 0..${max}`);
  return v;
}

function fail(message: string): never {
  throw new DlmsDecodeError('apdu', `selective access: ${message}`);
}
