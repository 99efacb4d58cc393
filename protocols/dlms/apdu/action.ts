/**
 * ACTION service APDUs (IEC 62056-5-3 §8 / Green Book §9.5 xDLMS ASN.1):
 *   Action-Request  [195] CHOICE { normal [1], next-pblock [2], with-list [3],
 *                                  with-first-pblock [4], with-list-and-first-pblock [5], with-pblock [6] }
 *   Action-Response [199] CHOICE { normal [1], with-pblock [2], with-list [3], next-pblock [4] }
 * All variants are simple compositions of the shared blocks, so all are supported.
 */
import type { ByteReader, ByteWriter } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import type { DlmsData } from '../axdr/data.js';
import { readData, writeData } from '../axdr/codec.js';
import {
  readDataBlockSA, readList, readMethodDescriptor, readPresence, u32, writeDataBlockSA, writeList,
  writeMethodDescriptor, type ApduLimits, type CosemMethodDescriptor, type DataBlockSA,
} from './descriptors.js';
import { readGetDataResult, writeGetDataResult, type GetDataResult } from './get.js';
import { decodeInvokeIdAndPriority, encodeInvokeIdAndPriority, type InvokeIdAndPriority } from './invokeId.js';
import { ACTION_RESULT, keyOf, type ActionResult } from './results.js';

export interface ActionRequestNormal {
  readonly type: 'action-request-normal';
  readonly invoke: InvokeIdAndPriority;
  readonly method: CosemMethodDescriptor;
  /** method-invocation-parameters: OPTIONAL Data. */
  readonly parameters?: DlmsData;
}

export interface ActionRequestNextPblock {
  readonly type: 'action-request-next-pblock';
  readonly invoke: InvokeIdAndPriority;
  readonly blockNumber: number;
}

export interface ActionRequestWithList {
  readonly type: 'action-request-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly methods: readonly CosemMethodDescriptor[];
  readonly parameters: readonly DlmsData[];
}

export interface ActionRequestWithFirstPblock {
  readonly type: 'action-request-with-first-pblock';
  readonly invoke: InvokeIdAndPriority;
  readonly method: CosemMethodDescriptor;
  readonly block: DataBlockSA;
}

export interface ActionRequestWithListAndFirstPblock {
  readonly type: 'action-request-with-list-and-first-pblock';
  readonly invoke: InvokeIdAndPriority;
  readonly methods: readonly CosemMethodDescriptor[];
  readonly block: DataBlockSA;
}

export interface ActionRequestWithPblock {
  readonly type: 'action-request-with-pblock';
  readonly invoke: InvokeIdAndPriority;
  readonly block: DataBlockSA;
}

export type ActionRequest =
  | ActionRequestNormal | ActionRequestNextPblock | ActionRequestWithList
  | ActionRequestWithFirstPblock | ActionRequestWithListAndFirstPblock | ActionRequestWithPblock;

/** Action-Response-With-Optional-Data: the result and, optionally, return parameters. */
export interface ActionOutcome {
  readonly result: ActionResult;
  readonly returnParameters?: GetDataResult;
}

export interface ActionResponseNormal {
  readonly type: 'action-response-normal';
  readonly invoke: InvokeIdAndPriority;
  readonly response: ActionOutcome;
}

export interface ActionResponseWithPblock {
  readonly type: 'action-response-with-pblock';
  readonly invoke: InvokeIdAndPriority;
  readonly block: DataBlockSA;
}

export interface ActionResponseWithList {
  readonly type: 'action-response-with-list';
  readonly invoke: InvokeIdAndPriority;
  readonly responses: readonly ActionOutcome[];
}

export interface ActionResponseNextPblock {
  readonly type: 'action-response-next-pblock';
  readonly invoke: InvokeIdAndPriority;
  readonly blockNumber: number;
}

export type ActionResponse = ActionResponseNormal | ActionResponseWithPblock | ActionResponseWithList | ActionResponseNextPblock;

export const ACTION_REQUEST_TAG = 0xc3;
export const ACTION_RESPONSE_TAG = 0xc7;

export function readActionRequest(r: ByteReader, limits: ApduLimits): ActionRequest {
  const at = r.offset;
  const choice = r.u8('action-request choice');
  const invoke = decodeInvokeIdAndPriority(r.u8('invoke-id-and-priority'));
  const methods = (): CosemMethodDescriptor[] => readList(r, limits, 'method-descriptor-list', readMethodDescriptor);
  switch (choice) {
    case 1: {
      const method = readMethodDescriptor(r);
      if (!readPresence(r, 'method-invocation-parameters')) return { type: 'action-request-normal', invoke, method };
      return { type: 'action-request-normal', invoke, method, parameters: readData(r, limits.data) };
    }
    case 2:
      return { type: 'action-request-next-pblock', invoke, blockNumber: r.u32('block-number') };
    case 3: {
      const list = methods();
      const parameters = readList(r, limits, 'method-invocation-parameters', (x) => readData(x, limits.data));
      if (parameters.length !== list.length) r.fail(`action-request-with-list: ${list.length} methods but ${parameters.length} parameters`);
      return { type: 'action-request-with-list', invoke, methods: list, parameters };
    }
    case 4:
      return { type: 'action-request-with-first-pblock', invoke, method: readMethodDescriptor(r), block: readDataBlockSA(r) };
    case 5:
      return { type: 'action-request-with-list-and-first-pblock', invoke, methods: methods(), block: readDataBlockSA(r) };
    case 6:
      return { type: 'action-request-with-pblock', invoke, block: readDataBlockSA(r) };
    default:
      return r.fail(`unknown action-request choice ${choice}`, at);
  }
}

export function writeActionRequest(w: ByteWriter, a: ActionRequest): void {
  const iip = encodeInvokeIdAndPriority(a.invoke);
  switch (a.type) {
    case 'action-request-normal':
      w.u8(1).u8(iip);
      writeMethodDescriptor(w, a.method);
      if (a.parameters === undefined) w.u8(0);
      else writeData(w.u8(1), a.parameters);
      return;
    case 'action-request-next-pblock':
      w.u8(2).u8(iip).u32(u32(a.blockNumber, 'block-number'));
      return;
    case 'action-request-with-list':
      if (a.methods.length !== a.parameters.length) {
        throw new DlmsEncodeError('apdu', `action-request-with-list: ${a.methods.length} methods but ${a.parameters.length} parameters`);
      }
      w.u8(3).u8(iip);
      writeList(w, a.methods, writeMethodDescriptor);
      writeList(w, a.parameters, writeData);
      return;
    case 'action-request-with-first-pblock':
      w.u8(4).u8(iip);
      writeMethodDescriptor(w, a.method);
      writeDataBlockSA(w, a.block);
      return;
    case 'action-request-with-list-and-first-pblock':
      w.u8(5).u8(iip);
      writeList(w, a.methods, writeMethodDescriptor);
      writeDataBlockSA(w, a.block);
      return;
    case 'action-request-with-pblock':
      w.u8(6).u8(iip);
      writeDataBlockSA(w, a.block);
      return;
  }
}

export function readActionResponse(r: ByteReader, limits: ApduLimits): ActionResponse {
  const at = r.offset;
  const choice = r.u8('action-response choice');
  const invoke = decodeInvokeIdAndPriority(r.u8('invoke-id-and-priority'));
  switch (choice) {
    case 1:
      return { type: 'action-response-normal', invoke, response: readActionOutcome(r, limits) };
    case 2:
      return { type: 'action-response-with-pblock', invoke, block: readDataBlockSA(r) };
    case 3:
      return { type: 'action-response-with-list', invoke, responses: readList(r, limits, 'action responses', (x) => readActionOutcome(x, limits)) };
    case 4:
      return { type: 'action-response-next-pblock', invoke, blockNumber: r.u32('block-number') };
    default:
      return r.fail(`unknown action-response choice ${choice}`, at);
  }
}

export function writeActionResponse(w: ByteWriter, a: ActionResponse): void {
  const iip = encodeInvokeIdAndPriority(a.invoke);
  switch (a.type) {
    case 'action-response-normal':
      w.u8(1).u8(iip);
      writeActionOutcome(w, a.response);
      return;
    case 'action-response-with-pblock':
      w.u8(2).u8(iip);
      writeDataBlockSA(w, a.block);
      return;
    case 'action-response-with-list':
      w.u8(3).u8(iip);
      writeList(w, a.responses, writeActionOutcome);
      return;
    case 'action-response-next-pblock':
      w.u8(4).u8(iip).u32(u32(a.blockNumber, 'block-number'));
      return;
  }
}

function readActionOutcome(r: ByteReader, limits: ApduLimits): ActionOutcome {
  const at = r.offset;
  const v = r.u8('action-result');
  const result = keyOf(ACTION_RESULT, v);
  if (result === undefined) return r.fail(`unknown action-result ${v}`, at);
  if (!readPresence(r, 'return-parameters')) return { result };
  return { result, returnParameters: readGetDataResult(r, limits) };
}

function writeActionOutcome(w: ByteWriter, o: ActionOutcome): void {
  w.u8(ACTION_RESULT[o.result]);
  if (o.returnParameters === undefined) w.u8(0);
  else writeGetDataResult(w.u8(1), o.returnParameters);
}
