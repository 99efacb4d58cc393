/**
 * compact-array and its TypeDescription (IEC 62056-6-2 §4.1.5, Blue Book "Data" CHOICE):
 *
 *   compact-array [19] SEQUENCE { contents-description TypeDescription, array-contents OCTET STRING }
 *   TypeDescription ::= CHOICE { null-data [0], array [1] SEQUENCE { number-of-elements long-unsigned,
 *                       type-description TypeDescription }, structure [2] SEQUENCE OF TypeDescription,
 *                       boolean [3], …, dont-care [255] }   -- no compact-array alternative
 *
 * array-contents is an A-XDR octet string (length in octets, then the octets) holding the
 * elements one after another with no tags: a structure's members follow each other with no
 * count, an array's elements likewise (the description fixes the count), while variable-
 * length types keep their own length (octet-string, strings, bit-string). The number of
 * elements is therefore whatever fits in array-contents. Cross-checked against Gurux's reader
 * (GXCommon getCompactArray / getDataTypes): u16 count for array, A-XDR count for structure.
 */
import { ByteWriter, hexNumber, type ByteReader } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import { DATA_TAG, type DlmsData, type TypeDescription } from './data.js';
import { DEFAULT_DECODE_LIMITS, DecodeBudget, type DecodeLimits } from './limits.js';
import { dataTypeOfTag, isSimple, readSimple, writeSimple } from './primitives.js';

type CompactArray = Extract<DlmsData, { readonly type: 'compact-array' }>;

/** Writes a TypeDescription (the contents-description of a compact-array). */
export function writeTypeDescription(w: ByteWriter, desc: TypeDescription, depth = 0): void {
  if ((desc.type === 'array' || desc.type === 'structure') && depth >= DEFAULT_DECODE_LIMITS.maxDepth) {
    encodeFail(`type description nests deeper than ${DEFAULT_DECODE_LIMITS.maxDepth} levels`);
  }
  switch (desc.type) {
    case 'array':
      if (!Number.isInteger(desc.count) || desc.count < 0 || desc.count > 0xffff) encodeFail(`array description count ${desc.count} is not a long-unsigned`);
      if (desc.count > 0 && isZeroSize(desc.element)) encodeFail('array description of zero-size elements (a reader refuses it)');
      w.u8(DATA_TAG.array).u16(desc.count);
      writeTypeDescription(w, desc.element, depth + 1);
      return;
    case 'structure':
      w.u8(DATA_TAG.structure).length(desc.elements.length);
      for (const e of desc.elements) writeTypeDescription(w, e, depth + 1);
      return;
    default: {
      const tag = (DATA_TAG as Record<string, number | undefined>)[desc.type];
      if (tag === undefined || tag === DATA_TAG['compact-array']) encodeFail(`${desc.type} cannot be described in a compact-array`);
      w.u8(tag);
    }
  }
}

/** Reads a TypeDescription; `depth` is the nesting level of the description's outer node. */
export function readTypeDescription(r: ByteReader, limits: Partial<DecodeLimits> = {}, depth = 0): TypeDescription {
  return readDescription(r, new DecodeBudget(limits), depth);
}

/** Reads a compact-array after its tag; `at` is the tag's offset, `depth` its nesting level. */
export function readCompactArray(r: ByteReader, budget: DecodeBudget, depth: number, at: number): CompactArray {
  budget.enter(r, depth, at);
  budget.spend(r);
  const description = readDescription(r, budget, depth + 1);
  const lengthAt = r.offset;
  const size = r.length(r.remaining, 'compact-array contents length');
  const end = r.offset + size;
  const value: DlmsData[] = [];
  while (r.offset < end) {
    const start = r.offset;
    if (value.length >= budget.limits.maxElements) r.fail(`compact-array has more than ${budget.limits.maxElements} elements`, start);
    value.push(readUntagged(r, description, budget));
    // A zero-size element (null-data, empty structure) gives no way to count elements.
    if (r.offset === start) r.fail('compact-array element of zero size cannot be counted', lengthAt);
    if (r.offset > end) r.fail(`compact-array element overruns the ${size}-octet contents`, start);
  }
  return { type: 'compact-array', description, value };
}

/** Writes a compact-array after its tag: description, then the contents as one octet string. */
export function writeCompactArray(w: ByteWriter, d: CompactArray, depth: number): void {
  writeTypeDescription(w, d.description, depth + 1);
  const body = new ByteWriter();
  d.value.forEach((el, i) => { writeUntagged(body, d.description, el, `compact-array[${i}]`); });
  if (d.value.length > 0 && body.size === 0) encodeFail('compact-array elements of zero size cannot be counted by a reader');
  w.length(body.size).bytes(body.toBytes());
}

function readDescription(r: ByteReader, budget: DecodeBudget, depth: number): TypeDescription {
  const at = r.offset;
  const tag = r.u8('type description');
  const type = dataTypeOfTag(tag);
  if (type === undefined || type === 'compact-array') return r.fail(`tag 0x${hexNumber(tag)} is not a TypeDescription`, at);
  if (type === 'array') {
    budget.enter(r, depth, at);
    const count = r.u16('array description count');
    if (count > budget.limits.maxElements) r.fail(`array description of ${count} elements exceeds the limit of ${budget.limits.maxElements}`, at);
    const element = readDescription(r, budget, depth + 1);
    // An array of zero-size elements would build values without reading octets (array 65535
    // of array 65535 of null-data is 4 billion values from 10 octets): refused.
    if (count > 0 && isZeroSize(element)) r.fail('array description of zero-size elements', at);
    return { type, count, element };
  }
  if (type === 'structure') {
    budget.enter(r, depth, at);
    const n = r.length(budget.limits.maxElements, 'structure description count');
    // Each member description takes at least one octet.
    if (n > r.remaining) r.fail(`structure description of ${n} members cannot fit in ${r.remaining} octets`, at);
    const elements: TypeDescription[] = [];
    for (let i = 0; i < n; i++) elements.push(readDescription(r, budget, depth + 1));
    return { type, elements };
  }
  return { type };
}

/** Whether an element of this description encodes to no octets at all. */
function isZeroSize(desc: TypeDescription): boolean {
  switch (desc.type) {
    case 'null-data':
    case 'dont-care':
      return true;
    case 'array':
      return desc.count === 0 || isZeroSize(desc.element);
    case 'structure':
      return desc.elements.every(isZeroSize);
    default:
      return false;
  }
}

// Nesting here mirrors the description's, which readDescription has already bounded.
function readUntagged(r: ByteReader, desc: TypeDescription, budget: DecodeBudget): DlmsData {
  budget.spend(r);
  if (desc.type === 'array') {
    const value: DlmsData[] = [];
    for (let i = 0; i < desc.count; i++) value.push(readUntagged(r, desc.element, budget));
    return { type: 'array', value };
  }
  if (desc.type === 'structure') {
    const value = desc.elements.map((e) => readUntagged(r, e, budget));
    return { type: 'structure', value };
  }
  return readSimple(r, desc.type, budget.limits);
}

function writeUntagged(w: ByteWriter, desc: TypeDescription, el: DlmsData, path: string): void {
  if (el.type !== desc.type) encodeFail(`${path} is ${el.type}, the description says ${desc.type}`);
  if (desc.type === 'array' && el.type === 'array') {
    if (el.value.length !== desc.count) encodeFail(`${path} has ${el.value.length} elements, the description says ${desc.count}`);
    el.value.forEach((x, i) => { writeUntagged(w, desc.element, x, `${path}[${i}]`); });
  } else if (desc.type === 'structure' && el.type === 'structure') {
    if (el.value.length !== desc.elements.length) encodeFail(`${path} has ${el.value.length} members, the description says ${desc.elements.length}`);
    el.value.forEach((x, i) => {
      const e = desc.elements[i];
      if (e !== undefined) writeUntagged(w, e, x, `${path}.${i}`);
    });
  } else if (isSimple(el)) {
    writeSimple(w, el);
  } else {
    encodeFail(`${path}: ${el.type} cannot be an element of a compact-array`);
  }
}

function encodeFail(message: string): never {
  throw new DlmsEncodeError('axdr', message);
}
