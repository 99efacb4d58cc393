/**
 * Why an image transfer (Blue Book §4.4.6, IC 18) stopped, each with a stable code. Every one
 * leaves the association in step: the meter answered, and the answer is named as the Blue Book
 * names it (an action result, a data-access-result or an image_transfer_status).
 */
import { ProtocolError, type ImageTransferStatus } from '../../adapter.js';
import type { ActionResult, DataAccessResult } from '../apdu/results.js';

/** The image is larger than the meter takes (configured maximum, or the meter refused its size). */
export class ImageTooLarge extends ProtocolError {
  readonly code = 'IMAGE_TOO_LARGE';
  constructor(readonly size: number, readonly maxImageBytes: number, terminalId?: string) {
    super(`the image has ${size} octets, the meter takes at most ${maxImageBytes}`, terminalId);
  }
}

/** image_block_size is not what the meter reported before: the blocks already sent may not line up. */
export class ImageBlockSizeChanged extends ProtocolError {
  readonly code = 'IMAGE_BLOCK_SIZE_CHANGED';
  constructor(readonly expected: number, readonly reported: number, terminalId?: string) {
    super(`the meter's image_block_size changed from ${expected} to ${reported} octets`, terminalId);
  }
}

/** image_transfer_initiate was refused: `result` is the meter's action result. */
export class ImageRefused extends ProtocolError {
  readonly code = 'IMAGE_REFUSED';
  constructor(readonly result: ActionResult, readonly identifier: string, terminalId?: string) {
    super(`the meter refused image ${identifier}: image_transfer_initiate answered ${result}`, terminalId);
  }
}

/** Verification failed: `status` is image_transfer_status as read (or `result` the image_verify answer). */
export class ImageVerificationFailed extends ProtocolError {
  readonly code = 'IMAGE_VERIFICATION_FAILED';
  constructor(readonly status: ImageTransferStatus | number, readonly result: ActionResult | undefined, terminalId?: string) {
    super(`image verification failed: ${result === undefined ? '' : `image_verify answered ${result}, `}image_transfer_status ${status}`, terminalId);
  }
}

/** Activation (now or scheduled) failed: `status` and the meter's answer by name. */
export class ImageActivationFailed extends ProtocolError {
  readonly code = 'IMAGE_ACTIVATION_FAILED';
  constructor(readonly status: ImageTransferStatus | number | undefined, readonly result: ActionResult | DataAccessResult | undefined, what: string, terminalId?: string) {
    super(`image activation failed: ${what}${result === undefined ? '' : ` answered ${result}`}${status === undefined ? '' : `, image_transfer_status ${status}`}`, terminalId);
  }
}

/** image_to_activate_info does not describe the image sent: `differs` names what differs. */
export class ImageInfoMismatch extends ProtocolError {
  readonly code = 'IMAGE_INFO_MISMATCH';
  constructor(readonly differs: readonly string[], detail: string, terminalId?: string) {
    super(`image_to_activate_info does not match the image sent: ${detail}`, terminalId);
  }
}

/** image_transfer_enabled is false: the meter takes no image now. */
export class ImageTransferDisabled extends ProtocolError {
  readonly code = 'IMAGE_TRANSFER_DISABLED';
  constructor(obis: string, terminalId?: string) {
    super(`image transfer is disabled on the meter (${obis} image_transfer_enabled = false)`, terminalId);
  }
}

/**
 * One image_block_transfer request of the meter's block size would exceed the meter's max
 * receive PDU size; we do not propose long ACTION (action-with-pblock) in our conformance.
 */
export class ImageBlockExceedsPdu extends ProtocolError {
  readonly code = 'IMAGE_BLOCK_EXCEEDS_PDU';
  constructor(readonly blockSize: number, readonly requestBytes: number, readonly maxRequestBytes: number, terminalId?: string) {
    super(`an image block of ${blockSize} octets needs a request of ${requestBytes} octets; the meter takes at most ${maxRequestBytes} (long ACTION is not proposed)`, terminalId);
  }
}

/** The meter kept missing blocks after the bounded refill rounds. */
export class ImageBlocksMissing extends ProtocolError {
  readonly code = 'IMAGE_BLOCKS_MISSING';
  constructor(readonly missing: readonly number[], rounds: number, terminalId?: string) {
    super(`the meter still misses ${missing.length} block(s) (first ${missing.slice(0, 8).join(', ')}) after ${rounds} refill round(s)`, terminalId);
  }
}
