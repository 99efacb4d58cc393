/**
 * The building blocks the xDLMS LN services share (IEC 62056-5-3 §8 / Green Book §9.5
 * xDLMS ASN.1): Cosem-Attribute-Descriptor, Cosem-Method-Descriptor, Selective-Access-
 * Descriptor, DataBlock-SA, A-XDR OPTIONAL and SEQUENCE OF, and the decode limits.
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import type { DlmsData } from '../axdr/data.js';
import { readData, writeData } from '../axdr/codec.js';
import type { DecodeLimits } from '../axdr/limits.js';

/** Bounds of one APDU decode. The standard sets none beyond the negotiated PDU size. */
export interface ApduLimits {
  /** Largest APDU accepted: the max-receive-pdu-size field is an Unsigned16. */
  readonly maxApduBytes: number;
  /** Most items in one with-list request or response. */
  readonly maxListItems: number;
  /** Passed to the A-XDR Data decoder (depth, elements, strings). */
  readonly data: Partial<DecodeLimits>;
}

export const DEFAULT_APDU_LIMITS: ApduLimits = { maxApduBytes: 0xffff, maxListItems: 1024, data: {} };

/** A class attribute of one object: class id, logical name (6 octets), attribute index. */
export interface CosemAttributeDescriptor {
  readonly classId: number;
  /** The logical name (OBIS code) as its six octets. */
  readonly instanceId: Uint8Array;
  /** integer (Integer8); negative ids are manufacturer-specific. */
  readonly attributeId: number;
}

export interface CosemMethodDescriptor {
  readonly classId: number;
  readonly instanceId: Uint8Array;
  readonly methodId: number;
}

/** Selective access: access-selector (Unsigned8) + access-parameters (Data), per the object's class. */
export interface SelectiveAccess {
  readonly selector: number;
  readonly parameters: DlmsData;
}

export interface AttributeWithSelection {
  readonly attribute: CosemAttributeDescriptor;
  readonly access?: SelectiveAccess;
}

/** DataBlock-SA: one block of a SET or ACTION transfer. */
export interface DataBlockSA {
  readonly lastBlock: boolean;
  readonly blockNumber: number;
  readonly rawData: Uint8Array;
}

export function readAttributeDescriptor(r: ByteReader): CosemAttributeDescriptor {
  return { classId: r.u16('class-id'), instanceId: r.bytes(6, 'instance-id').slice(), attributeId: int8(r.u8('attribute-id')) };
}

export function writeAttributeDescriptor(w: ByteWriter, d: CosemAttributeDescriptor): void {
  w.u16(u16(d.classId, 'class-id')).bytes(instance(d.instanceId)).u8(i8(d.attributeId, 'attribute-id'));
}

export function readMethodDescriptor(r: ByteReader): CosemMethodDescriptor {
  return { classId: r.u16('class-id'), instanceId: r.bytes(6, 'instance-id').slice(), methodId: int8(r.u8('method-id')) };
}

export function writeMethodDescriptor(w: ByteWriter, d: CosemMethodDescriptor): void {
  w.u16(u16(d.classId, 'class-id')).bytes(instance(d.instanceId)).u8(i8(d.methodId, 'method-id'));
}

/** access-selection: OPTIONAL Selective-Access-Descriptor. */
export function readOptionalAccess(r: ByteReader, limits: ApduLimits): SelectiveAccess | undefined {
  if (!readPresence(r, 'access-selection')) return undefined;
  return { selector: r.u8('access-selector'), parameters: readData(r, limits.data) };
}

export function writeOptionalAccess(w: ByteWriter, a: SelectiveAccess | undefined): void {
  if (a === undefined) {
    w.u8(0);
    return;
  }
  w.u8(1).u8(u8(a.selector, 'access-selector'));
  writeData(w, a.parameters);
}

export function readAttributeWithSelection(r: ByteReader, limits: ApduLimits): AttributeWithSelection {
  const attribute = readAttributeDescriptor(r);
  const access = readOptionalAccess(r, limits);
  return access === undefined ? { attribute } : { attribute, access };
}

export function writeAttributeWithSelection(w: ByteWriter, a: AttributeWithSelection): void {
  writeAttributeDescriptor(w, a.attribute);
  writeOptionalAccess(w, a.access);
}

export function readDataBlockSA(r: ByteReader): DataBlockSA {
  const lastBlock = readBoolean(r, 'last-block');
  const blockNumber = r.u32('block-number');
  return { lastBlock, blockNumber, rawData: readOctetString(r, 'raw-data') };
}

export function writeDataBlockSA(w: ByteWriter, b: DataBlockSA): void {
  w.u8(b.lastBlock ? 1 : 0).u32(u32(b.blockNumber, 'block-number')).length(b.rawData.length).bytes(b.rawData);
}

/** SEQUENCE OF: A-XDR quantity then the items, with the count bounded before any loop. */
export function readList<T>(r: ByteReader, limits: ApduLimits, what: string, item: (r: ByteReader) => T): T[] {
  const n = r.length(limits.maxListItems, `${what} count`);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(item(r));
  return out;
}

export function writeList<T>(w: ByteWriter, items: readonly T[], item: (w: ByteWriter, v: T) => void): void {
  w.length(items.length);
  for (const v of items) item(w, v);
}

/** A-XDR OPTIONAL / DEFAULT marker: 0x00 absent, 0x01 present; anything else is malformed. */
export function readPresence(r: ByteReader, what: string): boolean {
  const at = r.offset;
  const b = r.u8(`${what} presence`);
  if (b > 1) r.fail(`${what}: presence flag 0x${b.toString(16)} is neither 0 nor 1`, at);
  return b === 1;
}

/** BOOLEAN in A-XDR: one octet, zero false, non-zero true (X.690 §8.2 as A-XDR keeps it). */
export function readBoolean(r: ByteReader, what: string): boolean {
  return r.u8(what) !== 0;
}

/** OCTET STRING in A-XDR: length then octets; the input's size bounds the length. */
export function readOctetString(r: ByteReader, what: string): Uint8Array {
  return r.bytes(r.length(r.remaining, `${what} length`), what).slice();
}

export function u8(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new DlmsEncodeError('apdu', `${what} ${v} is not an Unsigned8`);
  return v;
}

export function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DlmsEncodeError('apdu', `${what} ${v} is not an Unsigned32`);
  return v;
}

function u16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new DlmsEncodeError('apdu', `${what} ${v} is not an Unsigned16`);
  return v;
}

function i8(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -128 || v > 127) throw new DlmsEncodeError('apdu', `${what} ${v} is not an Integer8`);
  return v & 0xff;
}

function int8(b: number): number {
  return b >= 0x80 ? b - 0x100 : b;
}

function instance(id: Uint8Array): Uint8Array {
  if (id.length !== 6) throw new DlmsEncodeError('apdu', `instance-id must be 6 octets, got ${id.length}`);
  return id;
}
