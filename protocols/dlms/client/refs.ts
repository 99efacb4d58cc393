/**
 * How callers name COSEM attributes and methods: class id, logical name (OBIS text or its six
 * octets) and index, turned into the xDLMS descriptors (Green Book §9.5
 * Cosem-Attribute-Descriptor / Cosem-Method-Descriptor).
 */
import type { AttributeWithSelection, CosemAttributeDescriptor, CosemMethodDescriptor } from '../apdu/descriptors.js';
import { formatObis, parseObis } from '../cosem/obis.js';

export interface AttributeRef {
  readonly classId: number;
  /** "1.0.1.8.0.255", "1-0:1.8.0", or the six octets. */
  readonly obis: string | Uint8Array;
  readonly attribute: number;
}

export interface MethodRef {
  readonly classId: number;
  readonly obis: string | Uint8Array;
  readonly method: number;
}

/** The six octets of a logical name; ObisError for text that is not OBIS or octets that are not six. */
export function logicalName(obis: string | Uint8Array): Uint8Array {
  if (typeof obis === 'string') return parseObis(obis);
  formatObis(obis);
  return obis;
}

export function attributeDescriptor(ref: AttributeRef): CosemAttributeDescriptor {
  return { classId: ref.classId, instanceId: logicalName(ref.obis), attributeId: ref.attribute };
}

export function methodDescriptor(ref: MethodRef): CosemMethodDescriptor {
  return { classId: ref.classId, instanceId: logicalName(ref.obis), methodId: ref.method };
}

/** "3/1.0.1.8.0.255/2", for messages. */
export function describeAttribute(ref: AttributeRef): string {
  return `${ref.classId}/${obisText(ref.obis)}/${ref.attribute}`;
}

export function describeSelection(a: AttributeWithSelection): string {
  return describeAttribute({ classId: a.attribute.classId, obis: a.attribute.instanceId, attribute: a.attribute.attributeId });
}

export function describeMethod(ref: MethodRef): string {
  return `${ref.classId}/${obisText(ref.obis)}/m${ref.method}`;
}

function obisText(obis: string | Uint8Array): string {
  return typeof obis === 'string' ? obis : Array.from(obis).join('.');
}
