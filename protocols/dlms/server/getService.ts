/**
 * The GET service on the server (Green Book §9.3 / IEC 62056-5-3, GET service): normal, with-list
 * (each item read separately, one result per item) and the long GET. A response that would
 * exceed the client's max receive PDU size goes out as Get-Response-With-Datablock blocks
 * (long data transfer): raw-data is the A-XDR of the Data for a normal GET, and of the
 * SEQUENCE OF Get-Data-Result for a with-list GET, cut into blocks numbered from 1.
 *
 * Reactions chosen where the request cannot be served as asked:
 * - Get-Request-Next without a long GET in progress: a datablock with last-block set and
 *   data-access-result no-long-get-in-progress, echoing the block number received;
 * - Get-Request-Next naming another block than the one sent last: data-block-number-invalid,
 *   last-block set, and the long GET is abandoned;
 * - a response too long and block transfer not negotiated, or beyond ServerLimits: the normal
 *   GET is answered with other-reason; a with-list GET with an ExceptionResponse pdu-too-long.
 */
import { ByteWriter } from '../bytes.js';
import type { Apdu } from '../apduCodec.js';
import type { GetRequestNext, GetRequestNormal, GetRequestWithList, GetResponseWithDatablock } from '../apdu/get.js';
import type { InvokeIdAndPriority } from '../apdu/invokeId.js';
import type { DataAccessResult } from '../apdu/results.js';
import { hasConformance } from '../acse/conformance.js';
import { LongGet } from './blocks.js';
import { exception, readAttribute, type ServiceEnv } from './serviceEnv.js';

/** Octets of a Get-Response-Normal before its Get-Data-Result: tag, choice, invoke-id-and-priority. */
const NORMAL_HEADER = 3;
/** Octets of a Get-Response-With-List before its result count: tag, choice, invoke-id-and-priority. */
const WITH_LIST_HEADER = 3;

export function getNormal(req: GetRequestNormal, env: ServiceEnv): Apdu {
  const { result, encoded } = readAttribute(env, req.attribute, req.access);
  if (NORMAL_HEADER + encoded.length <= env.session.maxResponseSize) {
    return { type: 'get-response-normal', invoke: req.invoke, result };
  }
  // Only a successful Data can be this long; the blocks carry the Data without its choice octet.
  const first = startLongGet(env, encoded.subarray(1), req.invoke);
  return first ?? { type: 'get-response-normal', invoke: req.invoke, result: { ok: false, result: 'other-reason' } };
}

export function getWithList(req: GetRequestWithList, env: ServiceEnv): Apdu {
  const items = req.attributes.map((a) => readAttribute(env, a.attribute, a.access));
  const w = new ByteWriter(64).length(items.length);
  for (const item of items) w.bytes(item.encoded);
  if (WITH_LIST_HEADER + w.size <= env.session.maxResponseSize) {
    return { type: 'get-response-with-list', invoke: req.invoke, results: items.map((i) => i.result) };
  }
  return startLongGet(env, w.toBytes(), req.invoke) ?? exception('service-not-allowed', 'pdu-too-long');
}

export function getNext(req: GetRequestNext, env: ServiceEnv): Apdu {
  const pending = env.pending.get;
  if (pending === undefined) return datablockRefusal(req.invoke, req.blockNumber, 'no-long-get-in-progress');
  if (req.blockNumber !== pending.lastSent) {
    env.pending.get = undefined;
    return datablockRefusal(req.invoke, req.blockNumber, 'data-block-number-invalid');
  }
  const block = pending.next(req.invoke);
  if (block.lastBlock) env.pending.get = undefined;
  return block;
}

/** The first block of a long GET, or undefined when block transfer is not possible. */
function startLongGet(env: ServiceEnv, payload: Uint8Array, invoke: InvokeIdAndPriority): GetResponseWithDatablock | undefined {
  if (!hasConformance(env.session.conformance, 'block-transfer-with-get-or-read')) return undefined;
  const transfer = LongGet.start(payload, env.session.maxResponseSize, env.limits);
  if (transfer === undefined) return undefined;
  const block = transfer.next(invoke);
  env.pending.get = block.lastBlock ? undefined : transfer;
  return block;
}

function datablockRefusal(invoke: InvokeIdAndPriority, blockNumber: number, result: DataAccessResult): GetResponseWithDatablock {
  return { type: 'get-response-with-datablock', invoke, lastBlock: true, blockNumber, block: { ok: false, result } };
}
