/**
 * The SET service on the server (Green Book §9.3 / IEC 62056-5-3, SET service): normal, with-list,
 * and the long SET (with-first-datablock / with-list-and-first-datablock, then with-datablock)
 * whose blocks are acknowledged with Set-Response-Datablock and whose last block is answered
 * with the result of the write (long data transfer).
 *
 * Reactions chosen:
 * - a read-only client (the public client): read-write-denied for every item, at the first
 *   block already, so a refused client cannot make the server buffer a long value;
 * - a block numbered other than last + 1 (the first must be 1): data-block-number-invalid in a
 *   Set-Response-Last-Datablock(-With-List), and the long SET is abandoned;
 * - a block beyond ServerLimits: long-set-aborted, likewise;
 * - with-datablock without a long SET in progress: no-long-set-in-progress;
 * - reassembled octets that do not decode as the value(s): other-reason;
 * - selective access on SET: the model's set() has no access parameter, so other-reason
 *   rather than writing the whole attribute the client did not ask for.
 */
import { ByteReader } from '../bytes.js';
import { DlmsDecodeError } from '../errors.js';
import type { DlmsData } from '../axdr/data.js';
import { readData } from '../axdr/codec.js';
import type { Apdu } from '../apduCodec.js';
import type { DataBlockSA, AttributeWithSelection } from '../apdu/descriptors.js';
import { DEFAULT_APDU_LIMITS } from '../apdu/descriptors.js';
import type { InvokeIdAndPriority } from '../apdu/invokeId.js';
import type { DataAccessResult } from '../apdu/results.js';
import type {
  SetRequestNormal, SetRequestWithDatablock, SetRequestWithFirstDatablock, SetRequestWithList,
  SetRequestWithListAndFirstDatablock,
} from '../apdu/set.js';
import { LongSet, type LongSetTarget } from './blocks.js';
import { writeAttribute, type ServiceEnv } from './serviceEnv.js';

export function setNormal(req: SetRequestNormal, env: ServiceEnv): Apdu {
  return { type: 'set-response-normal', invoke: req.invoke, result: writeOne(env, req, req.value) };
}

export function setWithList(req: SetRequestWithList, env: ServiceEnv): Apdu {
  const results = req.attributes.map((a, i) => {
    const value = req.values[i];
    return value === undefined ? 'other-reason' : writeOne(env, a, value);
  });
  return { type: 'set-response-with-list', invoke: req.invoke, results };
}

export function setFirstBlock(req: SetRequestWithFirstDatablock | SetRequestWithListAndFirstDatablock, env: ServiceEnv): Apdu {
  const target: LongSetTarget = req.type === 'set-request-with-first-datablock'
    ? { kind: 'single', attribute: req.attribute, ...(req.access === undefined ? {} : { access: req.access }) }
    : { kind: 'list', attributes: req.attributes };
  if (env.session.readOnly) return lastBlockResult(target, req.invoke, req.block.blockNumber, 'read-write-denied');
  const transfer = new LongSet(target, env.limits);
  return continueLongSet(transfer, req.block, req.invoke, env);
}

export function setNextBlock(req: SetRequestWithDatablock, env: ServiceEnv): Apdu {
  const transfer = env.pending.set;
  if (transfer === undefined) {
    return { type: 'set-response-last-datablock', invoke: req.invoke, result: 'no-long-set-in-progress', blockNumber: req.block.blockNumber };
  }
  return continueLongSet(transfer, req.block, req.invoke, env);
}

function continueLongSet(transfer: LongSet, block: DataBlockSA, invoke: InvokeIdAndPriority, env: ServiceEnv): Apdu {
  const acceptance = transfer.accept(block);
  if (acceptance !== 'accepted') {
    env.pending.set = undefined;
    return lastBlockResult(transfer.target, invoke, block.blockNumber, acceptance);
  }
  if (!block.lastBlock) {
    env.pending.set = transfer;
    return { type: 'set-response-datablock', invoke, blockNumber: block.blockNumber };
  }
  env.pending.set = undefined;
  return finishLongSet(transfer, invoke, block.blockNumber, env);
}

function finishLongSet(transfer: LongSet, invoke: InvokeIdAndPriority, blockNumber: number, env: ServiceEnv): Apdu {
  const bytes = transfer.bytes();
  const target = transfer.target;
  if (target.kind === 'single') {
    const value = decodeValues(bytes, undefined);
    const result = value?.[0] === undefined ? 'other-reason' : writeOne(env, target, value[0]);
    return { type: 'set-response-last-datablock', invoke, result, blockNumber };
  }
  const values = decodeValues(bytes, target.attributes.length);
  if (values === undefined) return lastBlockResult(target, invoke, blockNumber, 'other-reason');
  const results = target.attributes.map((a, i) => {
    const value = values[i];
    return value === undefined ? 'other-reason' : writeOne(env, a, value);
  });
  return { type: 'set-response-last-datablock-with-list', invoke, results, blockNumber };
}

/**
 * The reassembled value (count undefined) or SEQUENCE OF values (count given, and it must
 * match the attribute list); undefined when the octets are not exactly that.
 */
function decodeValues(bytes: Uint8Array, count: number | undefined): DlmsData[] | undefined {
  try {
    const r = new ByteReader(bytes, 'apdu');
    const n = count === undefined ? 1 : r.length(DEFAULT_APDU_LIMITS.maxListItems, 'value-list count');
    if (count !== undefined && n !== count) return undefined;
    const values: DlmsData[] = [];
    for (let i = 0; i < n; i++) values.push(readData(r));
    return r.remaining === 0 ? values : undefined;
  } catch (e) {
    if (e instanceof DlmsDecodeError) return undefined;
    throw e;
  }
}

function writeOne(env: ServiceEnv, item: AttributeWithSelection, value: DlmsData): DataAccessResult {
  if (env.session.readOnly) return 'read-write-denied';
  if (item.access !== undefined) return 'other-reason';
  return writeAttribute(env, item.attribute, value);
}

function lastBlockResult(target: LongSetTarget, invoke: InvokeIdAndPriority, blockNumber: number, result: DataAccessResult): Apdu {
  if (target.kind === 'single') return { type: 'set-response-last-datablock', invoke, result, blockNumber };
  return { type: 'set-response-last-datablock-with-list', invoke, results: target.attributes.map(() => result), blockNumber };
}
