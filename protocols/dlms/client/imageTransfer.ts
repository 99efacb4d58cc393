/**
 * Sending a firmware image to a meter (DLMS UA Blue Book §4.4.6, IC 18 Image transfer, the
 * image transfer process steps 1 to 4): read the block size and whether transfer is enabled,
 * initiate, send the blocks from the meter's first not transferred one, then read the
 * transferred-blocks bit-string and refill the gaps. Verification and activation are in
 * imageActivation.ts.
 *
 * Everything is read from the meter: which blocks it holds, its block size (which must not
 * change under us), its status. A meter that answers `temporary-failure` to a block is asked
 * again a bounded number of times.
 */
import {
  FirmwareTransferUnsupported, TimeoutError, type ImageSendProgress, type ImageSendRequest, type ImageTransferState, type ImageTransferStatus,
} from '../../adapter.js';
import { encodeApdu } from '../apduCodec.js';
import type { DataAccessResult } from '../apdu/results.js';
import { asBoolean, asNumber } from '../axdr/describe.js';
import type { DlmsData } from '../axdr/data.js';
import { INTERFACE_CLASSES } from '../cosem/classes.js';
import {
  blockCount, encodeImageBlockTransfer, encodeImageTransferInitiate, heldBlocks, IMAGE_OBIS, imageBlock, imageTransferStatusOf, missingBlocks,
} from '../cosem/imageTransfer.js';
import { hex } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';
import type { DlmsClient, GetResult } from './client.js';
import { valueOf, type CallOptions, type CosemClient } from './cosemAccess.js';
import { DataAccessError, RequestAborted } from './errors.js';
import { ImageBlockExceedsPdu, ImageBlocksMissing, ImageBlockSizeChanged, ImageRefused, ImageTooLarge, ImageTransferDisabled } from './imageErrors.js';
import { methodDescriptor, type AttributeRef } from './refs.js';

/** What the image transfer steps need of the client: the COSEM services and the request size the meter takes. */
export type ImageTransferClient = CosemClient & Pick<DlmsClient, 'maxRequestBytes'>;

export interface ImageTransferOptions extends CallOptions {
  /** The IC 18 instance; default 0.0.44.0.0.255. */
  readonly obis?: string;
  readonly terminalId?: string;
  /** Waits between asking again after `temporary-failure` (and between status polls); injectable for tests. */
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

export interface ImageSendOptions extends ImageTransferOptions {
  /** Bound on one image_block_transfer round trip; past it the association is given up (TimeoutError). Default: the client's request timeout. */
  readonly blockTimeoutMs?: number;
}

const IMAGE = INTERFACE_CLASSES.imageTransfer;
/** Times a block (or the initiate) is asked again after `temporary-failure`. */
export const TEMPORARY_FAILURE_RETRIES = 5;
const TEMPORARY_FAILURE_PAUSE_MS = 100;
/** Bit-string reads and refills after the first pass over the missing blocks. */
export const REFILL_ROUNDS = 3;
/** Statuses under which a transfer begun earlier continues without a new initiate. */
const CONTINUABLE = new Set<ImageTransferStatus | number>([
  'image-transfer-initiated', 'image-verification-initiated', 'image-verification-successful', 'image-verification-failed',
]);

/** Attributes 2 image_block_size, 4 first_not_transferred, 5 enabled and 6 status, in one GET-with-list. */
export async function readImageTransferState(client: CosemClient, options: ImageTransferOptions = {}): Promise<ImageTransferState> {
  const a = IMAGE.attributes;
  const [blockSize, first, enabled, status] = await readImageAttributes(client, [
    a.image_block_size, a.image_first_not_transferred_block_number, a.image_transfer_enabled, a.image_transfer_status,
  ], options);
  return {
    blockSize: asNumber(blockSize, 'image_block_size'),
    firstNotTransferred: asNumber(first, 'image_first_not_transferred_block_number'),
    enabled: asBoolean(enabled, 'image_transfer_enabled'),
    status: imageTransferStatusOf(status),
  };
}

/**
 * One slice of the transfer (see ImageSendRequest): checks the meter's state, initiates unless
 * a transfer of this image continues, then sends the blocks the meter does not hold, at most
 * `maxBlocks` of them.
 */
export async function sendImage(client: ImageTransferClient, request: ImageSendRequest, options: ImageSendOptions = {}): Promise<ImageSendProgress> {
  const { image } = request;
  const obis = options.obis ?? IMAGE_OBIS.imageTransfer;
  const size = image.bytes.length;
  if (size === 0) throw new DlmsEncodeError('cosem', 'the image is empty');
  if (request.maxImageBytes !== undefined && size > request.maxImageBytes) throw new ImageTooLarge(size, request.maxImageBytes, options.terminalId);
  const before = await readImageTransferState(client, options);
  const blockSize = checkedBlockSize(before, request.expectedBlockSize, obis, options.terminalId);
  checkBlockFits(client, obis, blockSize, options.terminalId);

  let state = before;
  const initiated = !request.resume || !CONTINUABLE.has(before.status);
  if (initiated) {
    await initiateImageTransfer(client, image.identifier, size, options);
    // Step 2 of the process: a meter may keep the blocks of an interrupted transfer of the same image.
    state = await readImageTransferState(client, options);
    checkedBlockSize(state, blockSize, obis, options.terminalId);
  }
  const total = blockCount(size, blockSize);
  const fromFirst = (n: number): boolean => n < state.firstNotTransferred;
  let held = state.firstNotTransferred === 0 && initiated
    ? new Array<boolean>(total).fill(false)
    : (await readHeldBlocks(client, total, options)).map((h, n) => h || fromFirst(n));

  const budget = request.maxBlocks ?? Number.POSITIVE_INFINITY;
  let sent = 0;
  let heldCount = count(held);
  const progress = (complete: boolean): ImageSendProgress => ({
    blockSize, blocksTotal: total, blocksHeld: heldCount, blocksSent: sent, complete, initiated,
  });
  for (let round = 0; ; round++) {
    const missing = missingBlocks(held);
    if (missing.length === 0) return progress(true);
    if (round > REFILL_ROUNDS) throw new ImageBlocksMissing(missing, REFILL_ROUNDS, options.terminalId);
    for (const n of missing) {
      if (sent >= budget) return progress(false);
      await transferImageBlock(client, n, imageBlock(image.bytes, n, blockSize), options);
      sent++;
      held[n] = true;
      heldCount++;
      request.onBlock?.(heldCount, total);
    }
    // Step 4: the bit-string says which blocks arrived; the meter may have dropped some.
    held = await readHeldBlocks(client, total, options);
    heldCount = count(held);
  }
}

/** Method 1 image_transfer_initiate; a refusal is ImageRefused with the meter's action result. */
export async function initiateImageTransfer(client: CosemClient, identifier: Uint8Array, size: number, options: ImageTransferOptions = {}): Promise<void> {
  const ref = { classId: IMAGE.classId, obis: options.obis ?? IMAGE_OBIS.imageTransfer, method: IMAGE.methods.image_transfer_initiate };
  const reply = await withTemporaryRetries(() => client.action(ref, encodeImageTransferInitiate(identifier, size), options.signal), options);
  if (!reply.ok) {
    if (reply.error === 'object-undefined' || reply.error === 'object-class-inconsistent') {
      throw new FirmwareTransferUnsupported(`IC 18 Image transfer ${ref.obis} is not in the meter (${reply.error})`, options.terminalId);
    }
    throw new ImageRefused(reply.error, identifierText(identifier), options.terminalId);
  }
}

/** Method 2 image_block_transfer of block `n`; a refusal is DataAccessError with the meter's action result. */
export async function transferImageBlock(client: CosemClient, n: number, value: Uint8Array, options: ImageSendOptions = {}): Promise<void> {
  const ref = { classId: IMAGE.classId, obis: options.obis ?? IMAGE_OBIS.imageTransfer, method: IMAGE.methods.image_block_transfer };
  const reply = await withTemporaryRetries(() => withDeadline(options, `image_block_transfer of block ${n}`,
    (signal) => client.action(ref, encodeImageBlockTransfer(n, value), signal)), options);
  if (!reply.ok) throw new DataAccessError(reply.error, `image_block_transfer of block ${n}`, options.terminalId);
}

/** Attribute 3 image_transferred_blocks_status, as one flag per block of the image. */
export async function readHeldBlocks(client: CosemClient, total: number, options: ImageTransferOptions = {}): Promise<boolean[]> {
  const [bits] = await readImageAttributes(client, [IMAGE.attributes.image_transferred_blocks_status], options);
  return heldBlocks(bits, total);
}

/** Attributes of the IC 18 object in one GET-with-list; an object the meter does not have is FirmwareTransferUnsupported. */
export async function readImageAttributes<const T extends readonly number[]>(
  client: CosemClient, attributes: T, options: ImageTransferOptions,
): Promise<{ -readonly [K in keyof T]: DlmsData }> {
  const obis = options.obis ?? IMAGE_OBIS.imageTransfer;
  const refs: AttributeRef[] = attributes.map((attribute) => ({ classId: IMAGE.classId, obis, attribute }));
  const results = await client.getList(refs, options.signal);
  // The client returns exactly one result per ref; the fallback only satisfies the index type.
  return refs.map((ref, i) => {
    const r: GetResult = results[i] ?? { ok: false, error: 'other-reason' };
    if (!r.ok && ABSENT.has(r.error)) throw new FirmwareTransferUnsupported(`IC 18 Image transfer ${obis} is not in the meter (${r.error})`, options.terminalId);
    return valueOf(r, ref);
  }) as { -readonly [K in keyof T]: DlmsData };
}

/** The action's reply, asked again (bounded) while the meter answers `temporary-failure`. */
export async function withTemporaryRetries<R extends { readonly ok: boolean; readonly error?: string }>(
  act: () => Promise<R>, options: ImageTransferOptions,
): Promise<R> {
  let reply = await act();
  for (let retry = 0; retry < TEMPORARY_FAILURE_RETRIES && !reply.ok && reply.error === 'temporary-failure'; retry++) {
    await pause(options, TEMPORARY_FAILURE_PAUSE_MS);
    reply = await act();
  }
  return reply;
}

/** Waits `ms` through the injected sleep, else a timer the caller's signal cancels. */
export function pause(options: ImageTransferOptions, ms: number): Promise<void> {
  if (options.sleep !== undefined) return options.sleep(ms, options.signal);
  return new Promise((resolve, reject) => {
    const signal = options.signal;
    if (signal?.aborted === true) {
      reject(new RequestAborted('image transfer wait', options.terminalId, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new RequestAborted('image transfer wait', options.terminalId, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function count(held: readonly boolean[]): number {
  return held.reduce((n, h) => (h ? n + 1 : n), 0);
}

const ABSENT: ReadonlySet<DataAccessResult> = new Set(['object-undefined', 'object-class-inconsistent']);

function checkedBlockSize(state: ImageTransferState, expected: number | undefined, obis: string, terminalId: string | undefined): number {
  if (!state.enabled) throw new ImageTransferDisabled(obis, terminalId);
  if (expected !== undefined && state.blockSize !== expected) throw new ImageBlockSizeChanged(expected, state.blockSize, terminalId);
  if (!Number.isSafeInteger(state.blockSize) || state.blockSize < 1) {
    throw new FirmwareTransferUnsupported(`the meter reports an image_block_size of ${state.blockSize}`, terminalId);
  }
  return state.blockSize;
}

/** A full block's image_block_transfer request must fit the meter's PDU: we never send long ACTION. */
function checkBlockFits(client: ImageTransferClient, obis: string, blockSize: number, terminalId: string | undefined): void {
  const request = encodeApdu({
    type: 'action-request-normal',
    invoke: { invokeId: 1, confirmed: true, highPriority: false },
    method: methodDescriptor({ classId: IMAGE.classId, obis, method: IMAGE.methods.image_block_transfer }),
    parameters: encodeImageBlockTransfer(0xffffffff, new Uint8Array(blockSize)),
  });
  if (request.length > client.maxRequestBytes) throw new ImageBlockExceedsPdu(blockSize, request.length, client.maxRequestBytes, terminalId);
}

/** `work` with the caller's signal, or one that also aborts after `blockTimeoutMs` (then TimeoutError). */
async function withDeadline<T>(options: ImageSendOptions, what: string, work: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const ms = options.blockTimeoutMs;
  if (ms === undefined) return work(options.signal);
  const deadline = AbortSignal.timeout(ms);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  try {
    return await work(signal);
  } catch (err) {
    if (err instanceof RequestAborted && deadline.aborted && options.signal?.aborted !== true) throw new TimeoutError(options.terminalId, ms, what);
    throw err;
  }
}

/** An identifier as text for messages: itself when printable ASCII, else hex. */
export function identifierText(identifier: Uint8Array): string {
  return identifier.every((b) => b >= 0x20 && b < 0x7f) ? Buffer.from(identifier).toString('latin1') : hex(identifier);
}
