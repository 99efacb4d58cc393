/**
 * GET service APDUs (IEC 62056-5-3 §8 / Green Book §9.5 xDLMS ASN.1):
 *   Get-Request  [192] CHOICE { normal [1], next [2], with-list [3] }
 *   Get-Response [196] CHOICE { normal [1], with-datablock [2], with-list [3] }
 * Readers start after the APDU tag; writers emit the choice byte onward.
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import type { DlmsData } from '../axdr/data.js';
import { readData, writeData } from '../axdr/codec.js';
import {
  readAttributeDescriptor, readAttributeWithSelection, readBoolean, readList, readOctetString, readOptionalAccess,
  u32, writeAttributeDescriptor, writeAttributeWithSelection, writeList, writeOptionalAccess,
  type ApduLimits, type AttributeWithSelection, type CosemAttributeDescriptor, type SelectiveAccess,
} from './descriptors.js';
import { decodeInvokeIdAndPriority, encodeInvokeIdAndPriority, type InvokeIdAndPriority } from './invokeId.js';
import { DATA_ACCESS_RESULT, keyOf, type DataAccessResult } from './results.js';

export interface GetRequestNormal {
  readonly type: 'get-request-normal';
  readonly invoke: InvokeIdAndPriority;
  readonly attribute: CosemAttributeDescriptor;
  readonly access?: SelectiveAccess;
}

/** Asks for the next block of a long GET: `blockNumber` is the one last received. */
export interface GetRequestNext {
  readonly type: 'get-request-next';
  readonly invoke: InvokeIdAndPriority;
  readonly blockNumber: number;
}

export interface GetRequestWithList {
  readonly type: 'get-request-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly attributes: readonly AttributeWithSelection[];
}

export type GetRequest = GetRequestNormal | GetRequestNext | GetRequestWithList;

/** Get-Data-Result CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }. */
export type GetDataResult =
  | { readonly ok: true; readonly data: DlmsData }
  | { readonly ok: false; readonly result: DataAccessResult };

export interface GetResponseNormal {
  readonly type: 'get-response-normal';
  readonly invoke: InvokeIdAndPriority;
  readonly result: GetDataResult;
}

/** DataBlock-G: a block of the encoded Data (raw-data [0]) or why the transfer stopped ([1]). */
export interface GetResponseWithDatablock {
  readonly type: 'get-response-with-datablock';
  readonly invoke: InvokeIdAndPriority;
  readonly lastBlock: boolean;
  readonly blockNumber: number;
  readonly block: { readonly ok: true; readonly rawData: Uint8Array } | { readonly ok: false; readonly result: DataAccessResult };
}

export interface GetResponseWithList {
  readonly type: 'get-response-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly results: readonly GetDataResult[];
}

export type GetResponse = GetResponseNormal | GetResponseWithDatablock | GetResponseWithList;

export const GET_REQUEST_TAG = 0xc0;
export const GET_RESPONSE_TAG = 0xc4;

export function readGetRequest(r: ByteReader, limits: ApduLimits): GetRequest {
  const at = r.offset;
  const choice = r.u8('get-request choice');
  const invoke = decodeInvokeIdAndPriority(r.u8('invoke-id-and-priority'));
  switch (choice) {
    case 1: {
      const attribute = readAttributeDescriptor(r);
      const access = readOptionalAccess(r, limits);
      return { type: 'get-request-normal', invoke, attribute, ...(access === undefined ? {} : { access }) };
    }
    case 2:
      return { type: 'get-request-next', invoke, blockNumber: r.u32('block-number') };
    case 3:
      return { type: 'get-request-with-list', invoke, attributes: readList(r, limits, 'attribute-descriptor-list', (x) => readAttributeWithSelection(x, limits)) };
    default:
      return r.fail(`unknown get-request choice ${choice}`, at);
  }
}

export function writeGetRequest(w: ByteWriter, a: GetRequest): void {
  switch (a.type) {
    case 'get-request-normal':
      w.u8(1).u8(encodeInvokeIdAndPriority(a.invoke));
      writeAttributeDescriptor(w, a.attribute);
      writeOptionalAccess(w, a.access);
      return;
    case 'get-request-next':
      w.u8(2).u8(encodeInvokeIdAndPriority(a.invoke)).u32(u32(a.blockNumber, 'block-number'));
      return;
    case 'get-request-with-list':
      w.u8(3).u8(encodeInvokeIdAndPriority(a.invoke));
      writeList(w, a.attributes, writeAttributeWithSelection);
      return;
  }
}

export function readGetResponse(r: ByteReader, limits: ApduLimits): GetResponse {
  const at = r.offset;
  const choice = r.u8('get-response choice');
  const invoke = decodeInvokeIdAndPriority(r.u8('invoke-id-and-priority'));
  switch (choice) {
    case 1:
      return { type: 'get-response-normal', invoke, result: readGetDataResult(r, limits) };
    case 2: {
      const lastBlock = readBoolean(r, 'last-block');
      const blockNumber = r.u32('block-number');
      const kind = r.u8('datablock result choice');
      if (kind === 0) return { type: 'get-response-with-datablock', invoke, lastBlock, blockNumber, block: { ok: true, rawData: readOctetString(r, 'raw-data') } };
      if (kind === 1) return { type: 'get-response-with-datablock', invoke, lastBlock, blockNumber, block: { ok: false, result: readDataAccessResult(r) } };
      return r.fail(`unknown DataBlock-G result choice ${kind}`, r.offset - 1);
    }
    case 3:
      return { type: 'get-response-with-list', invoke, results: readList(r, limits, 'get-data-result list', (x) => readGetDataResult(x, limits)) };
    default:
      return r.fail(`unknown get-response choice ${choice}`, at);
  }
}

export function writeGetResponse(w: ByteWriter, a: GetResponse): void {
  switch (a.type) {
    case 'get-response-normal':
      w.u8(1).u8(encodeInvokeIdAndPriority(a.invoke));
      writeGetDataResult(w, a.result);
      return;
    case 'get-response-with-datablock':
      w.u8(2).u8(encodeInvokeIdAndPriority(a.invoke)).u8(a.lastBlock ? 1 : 0).u32(u32(a.blockNumber, 'block-number'));
      if (a.block.ok) w.u8(0).length(a.block.rawData.length).bytes(a.block.rawData);
      else w.u8(1).u8(DATA_ACCESS_RESULT[a.block.result]);
      return;
    case 'get-response-with-list':
      w.u8(3).u8(encodeInvokeIdAndPriority(a.invoke));
      writeList(w, a.results, writeGetDataResult);
      return;
  }
}

/** Also the optional return-parameters of ACTION (Green Book: Get-Data-Result there too). */
export function readGetDataResult(r: ByteReader, limits: ApduLimits): GetDataResult {
  const at = r.offset;
  const choice = r.u8('get-data-result choice');
  if (choice === 0) return { ok: true, data: readData(r, limits.data) };
  if (choice === 1) return { ok: false, result: readDataAccessResult(r) };
  return r.fail(`unknown Get-Data-Result choice ${choice}`, at);
}

export function writeGetDataResult(w: ByteWriter, g: GetDataResult): void {
  if (g.ok) {
    w.u8(0);
    writeData(w, g.data);
  } else {
    w.u8(1).u8(DATA_ACCESS_RESULT[g.result]);
  }
}

export function readDataAccessResult(r: ByteReader): DataAccessResult {
  const at = r.offset;
  const v = r.u8('data-access-result');
  const name = keyOf(DATA_ACCESS_RESULT, v);
  if (name === undefined) return r.fail(`unknown data-access-result ${v}`, at);
  return name;
}

export function writeDataAccessResult(w: ByteWriter, v: DataAccessResult): void {
  w.u8(DATA_ACCESS_RESULT[v]);
}
