/**
 * Errors of the DLMS/COSEM stack. Every decoder throws one of these, never a bare Error
 * or a RangeError from a buffer read, so the caller can tell bad input from a bug.
 */
import { ProtocolError } from '../adapter.js';

export type DlmsLayer = 'axdr' | 'apdu' | 'acse' | 'hdlc' | 'wrapper' | 'cosem' | 'security';

/** Bytes that do not decode: truncated, oversized, wrong length, unknown tag. */
export class DlmsDecodeError extends ProtocolError {
  readonly code = 'DLMS_DECODE';
  constructor(
    readonly layer: DlmsLayer,
    message: string,
    /** Offset in the input where decoding failed, when known. */
    readonly offset?: number,
    terminalId?: string,
  ) {
    super(`${layer}: ${message}${offset === undefined ? '' : ` (at byte ${offset})`}`, terminalId);
  }
}

/** A frame of the transport layer (HDLC, TCP wrapper) that is malformed or out of place. */
export class FrameError extends ProtocolError {
  readonly code = 'DLMS_FRAME';
  constructor(
    readonly layer: 'hdlc' | 'wrapper',
    message: string,
    terminalId?: string,
  ) {
    super(`${layer}: ${message}`, terminalId);
  }
}

/** A value that cannot be encoded (out of range for its type, too long). */
export class DlmsEncodeError extends ProtocolError {
  readonly code = 'DLMS_ENCODE';
  constructor(readonly layer: DlmsLayer, message: string) {
    super(`${layer}: ${message}`, undefined);
  }
}
