/**
 * The simulated meter's firmware image transfer (DLMS UA Blue Book, Image transfer IC 18
 * version 0), with no COSEM encoding: the blocks held, the transfer status and the active
 * firmware. Pure: every step takes the instant it happens at, and verification and activation
 * complete `verifyMs` / `activateMs` after they start, seen by the first step or read at or
 * after that instant (a client polls image_transfer_status meanwhile).
 *
 *   initiate(id, size)  same id, size and block size as the transfer held: resume (blocks kept);
 *                       otherwise start over. Refused identifier, size 0 or > maxImageBytes,
 *                       transfer disabled: other-reason.
 *   block(n, octets)    blocks numbered from 0, each exactly the block size but the last.
 *   verify()            1|4 → 2 (temporary-failure) → 3, or 4 when a block is missing or
 *                       `failVerification`; 3 answers success.
 *   activate()          3 → 5 (temporary-failure) → 6: the image becomes the active firmware.
 *
 * Memory: a fleet simulates thousands of meters, so the image buffer exists only from an
 * initiate to the activation (or the next initiate that starts over); the block bitmap, a
 * 192nd of the image, stays for image_transferred_blocks_status.
 */
import { createHash } from 'node:crypto';
import type { ActionResultName } from '../../protocols/dlms/server/objectModel.js';

export interface FirmwareOptions {
  /** Image transfer (IC 18) and its activation schedule (IC 22) exist (default true); the active firmware objects exist either way. */
  readonly imageTransfer?: boolean;
  /** Active firmware identifier at start (1.0.0.2.0.255), default "GRD-FW-1.0.0". */
  readonly version?: string;
  /** image_block_size, octets (default 192). */
  readonly blockSize?: number;
  /** Largest image initiate accepts, octets (default 1 MiB). */
  readonly maxImageBytes?: number;
  /** Image identifiers initiate refuses (other-reason). */
  readonly refuseIdentifiers?: readonly string[];
  /** Every verification ends in verification-failed (4). */
  readonly failVerification?: boolean;
  /** How long a verification takes, ms (default 300). */
  readonly verifyMs?: number;
  /** How long an activation takes, ms (default 300). */
  readonly activateMs?: number;
  /**
   * Test option, "a meter whose block size changes": image_block_size on successive reads (the
   * last value stays); a transfer takes the value read last before its initiate.
   */
  readonly blockSizes?: readonly number[];
  /** image_transfer_enabled at start (default true). */
  readonly transferEnabled?: boolean;
}

/** image_transfer_status (IC 18 attribute 6). */
export const IMAGE_TRANSFER_STATUS = {
  'not-initiated': 0, initiated: 1, 'verification-initiated': 2, 'verification-successful': 3, 'verification-failed': 4,
  'activation-initiated': 5, 'activation-successful': 6, 'activation-failed': 7,
} as const;
export type ImageTransferStatusName = keyof typeof IMAGE_TRANSFER_STATUS;

export const DEFAULT_FIRMWARE_VERSION = 'GRD-FW-1.0.0';
export const DEFAULT_BLOCK_SIZE = 192;
export const DEFAULT_MAX_IMAGE_BYTES = 1024 * 1024;
/** image_block_size is a double-long-unsigned, but a block must fit an ACTION request: the simulator bounds it. */
const MAX_BLOCK_SIZE = 65_535;

/** One entry of image_to_activate_info (IC 18 attribute 7). */
export interface ImageToActivate {
  readonly size: number;
  readonly identification: Uint8Array;
  readonly signature: Uint8Array;
}

interface Transfer {
  readonly identifier: Uint8Array;
  readonly size: number;
  readonly blockSize: number;
  readonly blockCount: number;
  /** Bit n set: block n held (bit 0 is the most significant bit of octet 0, as the bit-string carries it). */
  readonly bitmap: Uint8Array;
  /** The image; undefined once activated. */
  image: Uint8Array | undefined;
}

export class ImageTransfer {
  transferEnabled: boolean;
  /** The running firmware: identifier (1.0.0.2.0.255) and signature (1.0.0.2.8.255). */
  active: { readonly identifier: Uint8Array; readonly signature: Uint8Array };
  readonly maxImageBytes: number;
  private state: ImageTransferStatusName = 'not-initiated';
  private transfer: Transfer | undefined;
  private toActivate: ImageToActivate | undefined;
  /** A verification or activation under way: the status it reaches at `until`. */
  private pending: { readonly until: number; readonly then: ImageTransferStatusName } | undefined;
  private readonly blockSizes: readonly number[];
  private blockSizeReads = 0;
  private currentBlockSize: number;
  private readonly refused: ReadonlySet<string>;
  private readonly failVerification: boolean;
  private readonly verifyMs: number;
  private readonly activateMs: number;

  constructor(options: FirmwareOptions = {}) {
    const version = new TextEncoder().encode(options.version ?? DEFAULT_FIRMWARE_VERSION);
    // The factory image's signature, stood in for by the SHA-256 of its identifier.
    this.active = { identifier: version, signature: sha256(version) };
    this.blockSizes = options.blockSizes ?? [options.blockSize ?? DEFAULT_BLOCK_SIZE];
    for (const b of this.blockSizes) {
      if (!(Number.isInteger(b) && b >= 1 && b <= MAX_BLOCK_SIZE)) throw new RangeError(`image block size must be 1..${MAX_BLOCK_SIZE}, got ${b}`);
    }
    this.currentBlockSize = this.blockSizes[0] ?? DEFAULT_BLOCK_SIZE;
    this.maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
    this.refused = new Set(options.refuseIdentifiers ?? []);
    this.failVerification = options.failVerification === true;
    this.verifyMs = options.verifyMs ?? 300;
    this.activateMs = options.activateMs ?? 300;
    this.transferEnabled = options.transferEnabled ?? true;
  }

  /** image_block_size as read now: with `blockSizes`, each read moves to the next value. */
  readBlockSize(): number {
    this.currentBlockSize = this.blockSizes[Math.min(this.blockSizeReads, this.blockSizes.length - 1)] ?? this.currentBlockSize;
    this.blockSizeReads++;
    return this.currentBlockSize;
  }

  status(now: number): ImageTransferStatusName {
    this.settle(now);
    return this.state;
  }

  /** Blocks of the transfer and which are held (empty before the first initiate). */
  transferredBlocks(): { readonly bits: number; readonly bytes: Uint8Array } {
    return this.transfer === undefined ? { bits: 0, bytes: new Uint8Array(0) } : { bits: this.transfer.blockCount, bytes: this.transfer.bitmap };
  }

  /** image_first_not_transferred_block_number: the block count when every block is held. */
  firstNotTransferred(): number {
    const t = this.transfer;
    if (t === undefined) return 0;
    for (let n = 0; n < t.blockCount; n++) if (!held(t, n)) return n;
    return t.blockCount;
  }

  /** image_to_activate_info: the verified image, if any. */
  imageToActivate(now: number): ImageToActivate | undefined {
    this.settle(now);
    return this.toActivate;
  }

  /** Whether the image buffer is allocated (a transfer between its initiate and its activation). */
  get holdsImage(): boolean {
    return this.transfer?.image !== undefined;
  }

  /** image_transfer_initiate (method 1). */
  initiate(identifier: Uint8Array, size: number, now: number): ActionResultName {
    this.settle(now);
    if (this.pending !== undefined) return 'temporary-failure';
    if (!this.transferEnabled || identifier.length === 0 || this.refused.has(new TextDecoder().decode(identifier))) return 'other-reason';
    if (!(size >= 1 && size <= this.maxImageBytes)) return 'other-reason';
    const t = this.transfer;
    const resumable = t?.image !== undefined && t.size === size && t.blockSize === this.currentBlockSize && equalBytes(t.identifier, identifier);
    if (!resumable) {
      const blockCount = Math.ceil(size / this.currentBlockSize);
      // Drop the old buffer before taking the new one: at most one image per meter at any time.
      this.transfer = undefined;
      this.transfer = {
        identifier: identifier.slice(), size, blockSize: this.currentBlockSize, blockCount,
        bitmap: new Uint8Array(Math.ceil(blockCount / 8)), image: new Uint8Array(size),
      };
    }
    this.toActivate = undefined;
    this.state = 'initiated';
    return 'success';
  }

  /** image_block_transfer (method 2). */
  block(n: number, value: Uint8Array, now: number): ActionResultName {
    this.settle(now);
    if (this.pending !== undefined) return 'temporary-failure';
    const t = this.transfer;
    if (!this.transferEnabled || t?.image === undefined || this.state === 'activation-successful') return 'other-reason';
    if (!(Number.isInteger(n) && n >= 0 && n < t.blockCount)) return 'other-reason';
    const offset = n * t.blockSize;
    if (value.length !== Math.min(t.blockSize, t.size - offset)) return 'other-reason';
    t.image.set(value, offset);
    t.bitmap[n >> 3] = (t.bitmap[n >> 3] ?? 0) | (0x80 >> (n & 7));
    // A changed image needs verifying again.
    this.toActivate = undefined;
    this.state = 'initiated';
    return 'success';
  }

  /** image_verify (method 3): temporary-failure while the verification runs. */
  verify(now: number): ActionResultName {
    this.settle(now);
    if (this.state === 'verification-initiated') return 'temporary-failure';
    if (this.state === 'verification-successful') return 'success';
    const t = this.transfer;
    if (t?.image === undefined || (this.state !== 'initiated' && this.state !== 'verification-failed')) return 'other-reason';
    const complete = this.firstNotTransferred() === t.blockCount;
    this.state = 'verification-initiated';
    this.pending = { until: now + this.verifyMs, then: complete && !this.failVerification ? 'verification-successful' : 'verification-failed' };
    return this.answer(now, 'verification-successful');
  }

  /** image_activate (method 4): from verification-successful only; temporary-failure while the activation runs. */
  activate(now: number): ActionResultName {
    this.settle(now);
    if (this.state === 'activation-initiated') return 'temporary-failure';
    if (this.state !== 'verification-successful') return 'other-reason';
    this.startActivation(now);
    return this.answer(now, 'activation-successful');
  }

  /**
   * The activation a Single action schedule runs at `at` (IC 22 executed_script): as image_activate,
   * but with nothing to answer, an image not verified by then is activation-failed.
   */
  activateScheduled(at: number): void {
    this.settle(at);
    if (this.state === 'verification-successful') this.startActivation(at);
    else if (this.state !== 'activation-initiated' && this.state !== 'activation-successful') this.state = 'activation-failed';
  }

  private startActivation(now: number): void {
    this.state = 'activation-initiated';
    this.pending = { until: now + this.activateMs, then: 'activation-successful' };
  }

  private answer(now: number, done: ImageTransferStatusName): ActionResultName {
    this.settle(now);
    if (this.pending !== undefined) return 'temporary-failure';
    return this.state === done ? 'success' : 'other-reason';
  }

  /** Completes the step under way once its time has come. */
  private settle(now: number): void {
    const p = this.pending;
    if (p === undefined || now < p.until) return;
    this.pending = undefined;
    this.state = p.then;
    const t = this.transfer;
    if (t?.image === undefined) return;
    if (p.then === 'verification-successful') {
      this.toActivate = { size: t.size, identification: t.identifier, signature: sha256(t.image) };
    } else if (p.then === 'activation-successful' && this.toActivate !== undefined) {
      this.active = { identifier: this.toActivate.identification, signature: this.toActivate.signature };
      t.image = undefined;
    }
  }
}

function held(t: Transfer, n: number): boolean {
  return ((t.bitmap[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
