/**
 * Block transfer with GET and SET (Green Book §9.4.6.4 / IEC 62056-5-3 §7.3.6, "service
 * specific block transfer"): a long value travels as the octets of its A-XDR encoding, cut
 * into numbered blocks starting at 1. Each GET block is acknowledged by a GET-Request-Next
 * naming the block just received; each SET block is acknowledged by the server with its
 * number. The data are decoded only once the last block is in, and the client bounds both
 * the number of blocks and the octets collected, whatever the server announces.
 */
import { ByteReader } from '../bytes.js';
import type { GetDataResult, GetResponseWithDatablock } from '../apdu/get.js';
import { readGetDataResult } from '../apdu/get.js';
import { readList, type ApduLimits } from '../apdu/descriptors.js';
import type { DataAccessResult } from '../apdu/results.js';
import { TransferLimitExceeded, UnexpectedResponse } from './errors.js';

export interface BlockLimits {
  /** Most blocks one long GET may take. */
  readonly maxBlocks: number;
  /** Most raw-data octets one long GET may collect. */
  readonly maxLongGetBytes: number;
}

export type BlockStep =
  | { readonly kind: 'next'; readonly blockNumber: number }
  | { readonly kind: 'complete'; readonly raw: Uint8Array }
  | { readonly kind: 'failed'; readonly result: DataAccessResult };

/** Collects the raw-data of one long GET, checking numbering and bounds block by block. */
export class LongGetAssembler {
  private readonly parts: Uint8Array[] = [];
  private total = 0;
  private received = 0;

  constructor(
    private readonly limits: BlockLimits,
    private readonly terminalId?: string,
  ) {}

  /** The next step after block `b`: acknowledge it, decode the whole, or stop with the server's result. */
  add(b: GetResponseWithDatablock): BlockStep {
    const expected = this.received + 1;
    if (b.blockNumber !== expected) {
      throw new UnexpectedResponse('block-number', `expected GET block ${expected}, got ${b.blockNumber}`, this.terminalId);
    }
    this.received = expected;
    // DataBlock-G result [1]: the server gave up (e.g. long-get-aborted); the transfer ends here.
    if (!b.block.ok) return { kind: 'failed', result: b.block.result };
    if (this.received > this.limits.maxBlocks) {
      throw new TransferLimitExceeded('maxBlocks', this.limits.maxBlocks,
        `long GET exceeds ${this.limits.maxBlocks} blocks`, this.terminalId);
    }
    this.total += b.block.rawData.length;
    if (this.total > this.limits.maxLongGetBytes) {
      throw new TransferLimitExceeded('maxLongGetBytes', this.limits.maxLongGetBytes,
        `long GET exceeds ${this.limits.maxLongGetBytes} octets`, this.terminalId);
    }
    this.parts.push(b.block.rawData);
    if (!b.lastBlock) return { kind: 'next', blockNumber: b.blockNumber };
    return { kind: 'complete', raw: concat(this.parts, this.total) };
  }
}

/**
 * The raw data of a long GET-with-list: SEQUENCE OF Get-Data-Result, one per requested
 * attribute (Green Book §9.4.6.4: the blocks carry the encoding of the list of results).
 */
export function decodeListBlocks(raw: Uint8Array, expected: number, limits: ApduLimits, terminalId?: string): GetDataResult[] {
  const r = new ByteReader(raw, 'apdu');
  const results = readList(r, limits, 'get-data-result list', (x) => readGetDataResult(x, limits));
  if (r.remaining !== 0) r.fail(`${r.remaining} octet(s) after the list of results`);
  if (results.length !== expected) {
    throw new UnexpectedResponse('list-length', `asked for ${expected} attributes, the blocks carry ${results.length} results`, terminalId);
  }
  return results;
}

/** `raw` cut into blocks of at most `size` octets (at least one block, even for empty data). */
export function splitIntoBlocks(raw: Uint8Array, size: number): Uint8Array[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`block size ${size}`);
  const out: Uint8Array[] = [];
  for (let at = 0; at < raw.length; at += size) out.push(raw.subarray(at, at + size));
  return out.length === 0 ? [raw] : out;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
