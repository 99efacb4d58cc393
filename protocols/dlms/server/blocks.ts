/**
 * Block transfer state of one association (Green Book §9.3 service specification / IEC 62056-5-3,
 * "transferring long application data" with GET and SET): a long GET response cut into Get-Response-With-Datablock blocks that
 * the client pulls with Get-Request-Next, and a long SET value reassembled from DataBlock-SA
 * blocks. Block numbers start at 1 and rise by one; both sides are bounded by ServerLimits.
 */
import type { InvokeIdAndPriority } from '../apdu/invokeId.js';
import type { GetResponseWithDatablock } from '../apdu/get.js';
import type { AttributeWithSelection, CosemAttributeDescriptor, DataBlockSA, SelectiveAccess } from '../apdu/descriptors.js';
import type { ServerLimits } from './options.js';

/**
 * Octets of a Get-Response-With-Datablock before the raw-data length: APDU tag, choice,
 * invoke-id-and-priority, last-block, block-number (Unsigned32), DataBlock-G result choice.
 */
const DATABLOCK_G_HEADER = 9;

/**
 * The most raw-data octets per block so the whole APDU fits in `pduSize`: header, the A-XDR
 * length of the chunk (1 octet below 128, 0x81 nn up to 255, 0x82 nnnn above) and the chunk.
 */
export function rawDataChunkSize(pduSize: number): number {
  const oneOctet = pduSize - DATABLOCK_G_HEADER - 1;
  if (oneOctet <= 0x7f) return oneOctet;
  const twoOctets = pduSize - DATABLOCK_G_HEADER - 2;
  if (twoOctets <= 0xff) return twoOctets;
  return pduSize - DATABLOCK_G_HEADER - 3;
}

/** A long GET in progress: the encoded response and how far the client has pulled it. */
export class LongGet {
  private sent = 0;

  private constructor(
    private readonly payload: Uint8Array,
    private readonly chunk: number,
  ) {}

  /**
   * Starts a transfer of `payload` in blocks that fit `pduSize`, or returns undefined when it
   * would exceed the association's limits (the caller refuses the GET instead).
   */
  static start(payload: Uint8Array, pduSize: number, limits: ServerLimits): LongGet | undefined {
    const chunk = rawDataChunkSize(pduSize);
    if (chunk < 1 || payload.length > limits.maxBlockTransferBytes) return undefined;
    if (Math.ceil(payload.length / chunk) > limits.maxBlocks) return undefined;
    return new LongGet(payload, chunk);
  }

  /** Number of the block sent last; Get-Request-Next must name it to get the following one. */
  get lastSent(): number {
    return this.sent;
  }

  /** The next block; `lastBlock` is set on the one that carries the final octet. */
  next(invoke: InvokeIdAndPriority): GetResponseWithDatablock {
    const from = this.sent * this.chunk;
    const to = Math.min(from + this.chunk, this.payload.length);
    this.sent++;
    return {
      type: 'get-response-with-datablock',
      invoke,
      lastBlock: to >= this.payload.length,
      blockNumber: this.sent,
      block: { ok: true, rawData: this.payload.subarray(from, to) },
    };
  }
}

/** What a long SET writes: one attribute (with-first-datablock) or a list (with-list-and-first-datablock). */
export type LongSetTarget =
  | { readonly kind: 'single'; readonly attribute: CosemAttributeDescriptor; readonly access?: SelectiveAccess }
  | { readonly kind: 'list'; readonly attributes: readonly AttributeWithSelection[] };

export type BlockAcceptance = 'accepted' | 'data-block-number-invalid' | 'long-set-aborted';

/** A long SET in progress: the blocks received so far, bounded in count and octets. */
export class LongSet {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  private last = 0;

  constructor(
    readonly target: LongSetTarget,
    private readonly limits: ServerLimits,
  ) {}

  /** Number of the block accepted last. */
  get lastBlock(): number {
    return this.last;
  }

  /** Takes the next block: it must be number last + 1 and keep the transfer within the limits. */
  accept(block: DataBlockSA): BlockAcceptance {
    if (block.blockNumber !== this.last + 1) return 'data-block-number-invalid';
    if (block.blockNumber > this.limits.maxBlocks || this.size + block.rawData.length > this.limits.maxBlockTransferBytes) {
      return 'long-set-aborted';
    }
    this.parts.push(block.rawData);
    this.size += block.rawData.length;
    this.last = block.blockNumber;
    return 'accepted';
  }

  /** The reassembled octets (the A-XDR of the value, or of the SEQUENCE OF values). */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
