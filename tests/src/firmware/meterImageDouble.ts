/**
 * TEST DOUBLE: an in-memory meter's IC 18 image transfer (FirmwareTransfer), keeping blocks as a
 * meter does (Blue Book §4.4.6): initiate with another identifier or size starts over, the same
 * one keeps what is held; send continues from the first block not held; verify checks every
 * block; activate makes the image's identifier the active firmware. It records every block it
 * was sent and every initiate, so tests assert that a resumed transfer never went back to block 0.
 * Faults: `dropAtBlock` (the connection drops once on that block), `refuse`, `failVerification`,
 * `timeoutsFirst` (the first n calls time out). Not the simulator: the real one is simulators/dlms.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  ConnectionError, TimeoutError,
  type FirmwareImage, type FirmwareTransfer, type ImageActivation, type ImageSendProgress, type ImageSendRequest, type ImageTransferState, type TerminalSession,
} from '../../../protocols/adapter.js';

export class ImageRefusedDouble extends Error { readonly code = 'IMAGE_REFUSED'; }
export class ImageVerificationFailedDouble extends Error { readonly code = 'IMAGE_VERIFICATION_FAILED'; }

export interface MeterDoubleOptions {
  readonly blockSize?: number;
  readonly version?: string;
  readonly dropAtBlock?: number;
  readonly refuse?: boolean;
  readonly failVerification?: boolean;
  readonly timeoutsFirst?: number;
  /** The active firmware signature the meter reports once it runs the new image. */
  readonly signature?: string;
}

export class MeterImageDouble implements FirmwareTransfer {
  readonly blockSize: number;
  active: string;
  /** Every block number the meter received, in order. */
  readonly received: number[] = [];
  /** Every image_transfer_initiate. */
  initiations = 0;
  /** `resume` of every send request. */
  readonly resumes: boolean[] = [];
  #held = new Set<number>();
  #identifier: string | undefined;
  #size = 0;
  #status: ImageTransferState['status'] = 'image-transfer-not-initiated';
  #dropAt: number | undefined;
  #timeouts: number;
  #signature: string | undefined;
  /** Called after each slice, with the blocks held (tests pause or stop the campaign here). */
  onSlice: ((held: number) => void | Promise<void>) | undefined;

  constructor(readonly meterId: string, private readonly o: MeterDoubleOptions = {}) {
    this.blockSize = o.blockSize ?? 64;
    this.active = o.version ?? 'FW-1.0';
    this.#dropAt = o.dropAtBlock;
    this.#timeouts = o.timeoutsFirst ?? 0;
  }

  get held(): number { return this.#held.size; }

  async readState(): Promise<ImageTransferState> {
    this.#maybeTimeout();
    await yieldToLoop();
    return { enabled: true, blockSize: this.blockSize, status: this.#status, firstNotTransferred: this.#firstMissing() };
  }

  async send(request: ImageSendRequest, signal: AbortSignal): Promise<ImageSendProgress> {
    this.#maybeTimeout();
    this.resumes.push(request.resume);
    const identifier = Buffer.from(request.image.identifier).toString();
    const total = Math.ceil(request.image.bytes.length / this.blockSize);
    let initiated = false;
    if (!request.resume) {
      if (this.o.refuse === true) throw new ImageRefusedDouble('image_transfer_initiate refused: other-reason');
      this.initiations++;
      initiated = true;
      if (identifier !== this.#identifier || request.image.bytes.length !== this.#size) this.#held = new Set();
      this.#identifier = identifier;
      this.#size = request.image.bytes.length;
      this.#status = 'image-transfer-initiated';
    } else if (this.#identifier !== identifier) {
      throw new Error('TEST DOUBLE: resume of an image the meter was never given');
    }
    let sent = 0;
    for (let block = this.#firstMissing(); block < total && sent < (request.maxBlocks ?? Infinity); block = this.#firstMissing()) {
      signal.throwIfAborted();
      await yieldToLoop();
      if (this.#dropAt === block) {
        this.#dropAt = undefined;
        throw new ConnectionError(`TEST DOUBLE: connection dropped at block ${block}`, this.meterId);
      }
      this.received.push(block);
      this.#held.add(block);
      sent++;
      request.onBlock?.(this.#held.size, total);
    }
    await this.onSlice?.(this.#held.size);
    return { blockSize: this.blockSize, blocksTotal: total, blocksHeld: this.#held.size, blocksSent: sent, complete: this.#held.size === total, initiated };
  }

  async verify(_address: string, image: FirmwareImage): Promise<void> {
    this.#maybeTimeout();
    await yieldToLoop();
    const total = Math.ceil(image.bytes.length / this.blockSize);
    const ok = this.o.failVerification !== true && this.#held.size === total;
    this.#status = ok ? 'image-verification-successful' : 'image-verification-failed';
    if (!ok) throw new ImageVerificationFailedDouble('image verification failed');
  }

  async activate(_address: string, _activation: ImageActivation): Promise<void> {
    await yieldToLoop();
    if (this.#status !== 'image-verification-successful') throw new Error(`TEST DOUBLE: activate from ${String(this.#status)}`);
    this.#status = 'image-activation-successful';
    this.active = this.#identifier ?? this.active;
    this.#signature = this.o.signature;
  }

  async readFirmware(): Promise<{ identifier: string; signature?: string }> {
    this.#maybeTimeout();
    await yieldToLoop();
    return { identifier: this.active, ...(this.#signature === undefined ? {} : { signature: this.#signature }) };
  }

  #firstMissing(): number {
    let n = 0;
    while (this.#held.has(n)) n++;
    return n;
  }

  #maybeTimeout(): void {
    if (this.#timeouts > 0) {
      this.#timeouts--;
      throw new TimeoutError(this.meterId, 1000, 'TEST DOUBLE request');
    }
  }
}

/**
 * TEST DOUBLE of the collection lanes' background slices: runs each slice at once on a session
 * whose `firmware` hands each call to the meter double at its address, and records how many
 * slices ran at once per terminal and in all. It does not queue slices per terminal as a real
 * lane does, so what it records is how many devices the runner drives at once.
 */
export class LanesDouble {
  readonly maxPerTerminal = new Map<string, number>();
  maxTotal = 0;
  readonly #perTerminal = new Map<string, number>();
  #total = 0;
  readonly #session: TerminalSession;

  constructor(meterAt: (address: string) => MeterImageDouble) {
    this.#session = {
      read: () => Promise.resolve([]),
      close: () => Promise.resolve(),
      firmware: {
        readState: (address) => meterAt(address).readState(),
        send: (request, signal) => meterAt(request.address).send(request, signal),
        verify: (address, image) => meterAt(address).verify(address, image),
        activate: (address, activation) => meterAt(address).activate(address, activation),
        readFirmware: (address) => meterAt(address).readFirmware(),
      },
    };
  }

  async sessionInBackground<T>(terminalId: string, _what: string, work: (session: TerminalSession, signal: AbortSignal) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const now = (this.#perTerminal.get(terminalId) ?? 0) + 1;
    this.#perTerminal.set(terminalId, now);
    this.maxPerTerminal.set(terminalId, Math.max(now, this.maxPerTerminal.get(terminalId) ?? 0));
    this.maxTotal = Math.max(this.maxTotal, ++this.#total);
    try {
      return await work(this.#session, options.signal ?? new AbortController().signal);
    } finally {
      this.#perTerminal.set(terminalId, (this.#perTerminal.get(terminalId) ?? 1) - 1);
      this.#total--;
    }
  }
}
