/**
 * SET service APDUs (IEC 62056-5-3 §8 / Green Book §9.5 xDLMS ASN.1):
 *   Set-Request  [193] CHOICE { normal [1], with-first-datablock [2], with-datablock [3],
 *                               with-list [4], with-list-and-first-datablock [5] }
 *   Set-Response [197] CHOICE { normal [1], datablock [2], last-datablock [3],
 *                               last-datablock-with-list [4], with-list [5] }
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import type { DlmsData } from '../axdr/data.js';
import { readData, writeData } from '../axdr/codec.js';
import {
  readAttributeDescriptor, readAttributeWithSelection, readDataBlockSA, readList, readOptionalAccess, u32,
  writeAttributeDescriptor, writeAttributeWithSelection, writeDataBlockSA, writeList, writeOptionalAccess,
  type ApduLimits, type AttributeWithSelection, type CosemAttributeDescriptor, type DataBlockSA, type SelectiveAccess,
} from './descriptors.js';
import { readDataAccessResult, writeDataAccessResult } from './get.js';
import { decodeInvokeIdAndPriority, encodeInvokeIdAndPriority, type InvokeIdAndPriority } from './invokeId.js';
import type { DataAccessResult } from './results.js';

export interface SetRequestNormal {
  readonly type: 'set-request-normal';
  readonly invoke: InvokeIdAndPriority;
  readonly attribute: CosemAttributeDescriptor;
  readonly access?: SelectiveAccess;
  readonly value: DlmsData;
}

/** The first block of a long SET: the value's A-XDR encoding cut into blocks. */
export interface SetRequestWithFirstDatablock {
  readonly type: 'set-request-with-first-datablock';
  readonly invoke: InvokeIdAndPriority;
  readonly attribute: CosemAttributeDescriptor;
  readonly access?: SelectiveAccess;
  readonly block: DataBlockSA;
}

export interface SetRequestWithDatablock {
  readonly type: 'set-request-with-datablock';
  readonly invoke: InvokeIdAndPriority;
  readonly block: DataBlockSA;
}

export interface SetRequestWithList {
  readonly type: 'set-request-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly attributes: readonly AttributeWithSelection[];
  readonly values: readonly DlmsData[];
}

export interface SetRequestWithListAndFirstDatablock {
  readonly type: 'set-request-with-list-and-first-datablock';
  readonly invoke: InvokeIdAndPriority;
  readonly attributes: readonly AttributeWithSelection[];
  readonly block: DataBlockSA;
}

export type SetRequest =
  | SetRequestNormal | SetRequestWithFirstDatablock | SetRequestWithDatablock
  | SetRequestWithList | SetRequestWithListAndFirstDatablock;

export interface SetResponseNormal {
  readonly type: 'set-response-normal';
  readonly invoke: InvokeIdAndPriority;
  readonly result: DataAccessResult;
}

/** Acknowledges block `blockNumber` of a long SET. */
export interface SetResponseDatablock {
  readonly type: 'set-response-datablock';
  readonly invoke: InvokeIdAndPriority;
  readonly blockNumber: number;
}

export interface SetResponseLastDatablock {
  readonly type: 'set-response-last-datablock';
  readonly invoke: InvokeIdAndPriority;
  readonly result: DataAccessResult;
  readonly blockNumber: number;
}

export interface SetResponseLastDatablockWithList {
  readonly type: 'set-response-last-datablock-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly results: readonly DataAccessResult[];
  readonly blockNumber: number;
}

export interface SetResponseWithList {
  readonly type: 'set-response-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly results: readonly DataAccessResult[];
}

export type SetResponse =
  | SetResponseNormal | SetResponseDatablock | SetResponseLastDatablock
  | SetResponseLastDatablockWithList | SetResponseWithList;

export const SET_REQUEST_TAG = 0xc1;
export const SET_RESPONSE_TAG = 0xc5;

export function readSetRequest(r: ByteReader, limits: ApduLimits): SetRequest {
  const at = r.offset;
  const choice = r.u8('set-request choice');
  const invoke = decodeInvokeIdAndPriority(r.u8('invoke-id-and-priority'));
  const attributes = (): AttributeWithSelection[] =>
    readList(r, limits, 'attribute-descriptor-list', (x) => readAttributeWithSelection(x, limits));
  switch (choice) {
    case 1:
    case 2: {
      const attribute = readAttributeDescriptor(r);
      const access = readOptionalAccess(r, limits);
      const acc = access === undefined ? {} : { access };
      if (choice === 1) return { type: 'set-request-normal', invoke, attribute, ...acc, value: readData(r, limits.data) };
      return { type: 'set-request-with-first-datablock', invoke, attribute, ...acc, block: readDataBlockSA(r) };
    }
    case 3:
      return { type: 'set-request-with-datablock', invoke, block: readDataBlockSA(r) };
    case 4: {
      const list = attributes();
      const values = readList(r, limits, 'value-list', (x) => readData(x, limits.data));
      if (values.length !== list.length) r.fail(`set-request-with-list: ${list.length} attributes but ${values.length} values`);
      return { type: 'set-request-with-list', invoke, attributes: list, values };
    }
    case 5:
      return { type: 'set-request-with-list-and-first-datablock', invoke, attributes: attributes(), block: readDataBlockSA(r) };
    default:
      return r.fail(`unknown set-request choice ${choice}`, at);
  }
}

export function writeSetRequest(w: ByteWriter, a: SetRequest): void {
  switch (a.type) {
    case 'set-request-normal':
      w.u8(1).u8(encodeInvokeIdAndPriority(a.invoke));
      writeAttributeDescriptor(w, a.attribute);
      writeOptionalAccess(w, a.access);
      writeData(w, a.value);
      return;
    case 'set-request-with-first-datablock':
      w.u8(2).u8(encodeInvokeIdAndPriority(a.invoke));
      writeAttributeDescriptor(w, a.attribute);
      writeOptionalAccess(w, a.access);
      writeDataBlockSA(w, a.block);
      return;
    case 'set-request-with-datablock':
      w.u8(3).u8(encodeInvokeIdAndPriority(a.invoke));
      writeDataBlockSA(w, a.block);
      return;
    case 'set-request-with-list':
      if (a.attributes.length !== a.values.length) {
        throw new DlmsEncodeError('apdu', `set-request-with-list: ${a.attributes.length} attributes but ${a.values.length} values`);
      }
      w.u8(4).u8(encodeInvokeIdAndPriority(a.invoke));
      writeList(w, a.attributes, writeAttributeWithSelection);
      writeList(w, a.values, writeData);
      return;
    case 'set-request-with-list-and-first-datablock':
      w.u8(5).u8(encodeInvokeIdAndPriority(a.invoke));
      writeList(w, a.attributes, writeAttributeWithSelection);
      writeDataBlockSA(w, a.block);
      return;
  }
}

export function readSetResponse(r: ByteReader, limits: ApduLimits): SetResponse {
  const at = r.offset;
  const choice = r.u8('set-response choice');
  const invoke = decodeInvokeIdAndPriority(r.u8('invoke-id-and-priority'));
  switch (choice) {
    case 1:
      return { type: 'set-response-normal', invoke, result: readDataAccessResult(r) };
    case 2:
      return { type: 'set-response-datablock', invoke, blockNumber: r.u32('block-number') };
    case 3: {
      const result = readDataAccessResult(r);
      return { type: 'set-response-last-datablock', invoke, result, blockNumber: r.u32('block-number') };
    }
    case 4: {
      const results = readList(r, limits, 'result list', readDataAccessResult);
      return { type: 'set-response-last-datablock-with-list', invoke, results, blockNumber: r.u32('block-number') };
    }
    case 5:
      return { type: 'set-response-with-list', invoke, results: readList(r, limits, 'result list', readDataAccessResult) };
    default:
      return r.fail(`unknown set-response choice ${choice}`, at);
  }
}

export function writeSetResponse(w: ByteWriter, a: SetResponse): void {
  const iip = encodeInvokeIdAndPriority(a.invoke);
  switch (a.type) {
    case 'set-response-normal':
      w.u8(1).u8(iip);
      writeDataAccessResult(w, a.result);
      return;
    case 'set-response-datablock':
      w.u8(2).u8(iip).u32(u32(a.blockNumber, 'block-number'));
      return;
    case 'set-response-last-datablock':
      w.u8(3).u8(iip);
      writeDataAccessResult(w, a.result);
      w.u32(u32(a.blockNumber, 'block-number'));
      return;
    case 'set-response-last-datablock-with-list':
      w.u8(4).u8(iip);
      writeList(w, a.results, writeDataAccessResult);
      w.u32(u32(a.blockNumber, 'block-number'));
      return;
    case 'set-response-with-list':
      w.u8(5).u8(iip);
      writeList(w, a.results, writeDataAccessResult);
      return;
  }
}
