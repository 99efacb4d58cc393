/**
 * The DLMS/COSEM TCP-UDP wrapper (IEC 62056-47 §5.3; Green Book DLMS UA 1000-2 §7.3.3.2):
 * every APDU travels behind an 8-byte header, all fields big-endian:
 *
 *   version (2) = 0x0001 | source wPort (2) | destination wPort (2) | length (2) | APDU
 *
 * The wPorts are the client SAP and the server logical device address (e.g. 16 and 1).
 * The wrapper carries APDUs as opaque bytes; it never looks inside them.
 *
 * Resynchronisation policy: the wrapper has no flag, no checksum and no marker, so once a
 * header is wrong (bad version, zero or oversized length) there is no reliable way to find
 * the start of the next frame in a TCP stream. The decoder reports one FrameError, stops,
 * and every later `push` throws that same error: the caller must drop the connection.
 */
import { hexNumber } from '../bytes.js';
import { DlmsEncodeError, FrameError } from '../errors.js';

export const WRAPPER_VERSION = 0x0001;
export const WRAPPER_HEADER_LENGTH = 8;
/** The length field is 16 bits: no APDU can be longer than this over the wrapper. */
export const WRAPPER_MAX_APDU_LENGTH = 0xffff;

export interface WrapperFrame {
  /** wPort of the sender (client SAP from a client, logical device from a server). */
  readonly source: number;
  readonly destination: number;
  readonly apdu: Uint8Array;
}

export interface WrapperHeader {
  readonly version: number;
  readonly source: number;
  readonly destination: number;
  readonly length: number;
}

export type WrapperDecoded =
  | { readonly ok: true; readonly frame: WrapperFrame }
  | { readonly ok: false; readonly error: FrameError };

export interface WrapperDecoderOptions {
  /** Largest APDU accepted; default 65535 (the field maximum). Pass the negotiated max PDU size. */
  readonly maxApduLength?: number;
}

export function encodeWrapper(frame: WrapperFrame): Uint8Array {
  checkPort(frame.source, 'source');
  checkPort(frame.destination, 'destination');
  const n = frame.apdu.length;
  if (n === 0 || n > WRAPPER_MAX_APDU_LENGTH) {
    throw new DlmsEncodeError('wrapper', `APDU length ${n} outside 1..${WRAPPER_MAX_APDU_LENGTH}`);
  }
  const out = new Uint8Array(WRAPPER_HEADER_LENGTH + n);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, WRAPPER_VERSION);
  dv.setUint16(2, frame.source);
  dv.setUint16(4, frame.destination);
  dv.setUint16(6, n);
  out.set(frame.apdu, WRAPPER_HEADER_LENGTH);
  return out;
}

/** Reads and checks the 8 header bytes at the start of `bytes`. Throws FrameError. */
export function decodeWrapperHeader(bytes: Uint8Array, maxApduLength = WRAPPER_MAX_APDU_LENGTH): WrapperHeader {
  if (bytes.length < WRAPPER_HEADER_LENGTH) {
    throw new FrameError('wrapper', `truncated header: ${bytes.length} of ${WRAPPER_HEADER_LENGTH} bytes`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, WRAPPER_HEADER_LENGTH);
  const header: WrapperHeader = {
    version: dv.getUint16(0),
    source: dv.getUint16(2),
    destination: dv.getUint16(4),
    length: dv.getUint16(6),
  };
  // IEC 62056-47 §5.3: version is 0x0001; anything else is not a wrapper frame.
  if (header.version !== WRAPPER_VERSION) {
    throw new FrameError('wrapper', `unsupported version 0x${hexNumber(header.version, 4)} (expected 0x0001)`);
  }
  if (header.length === 0) throw new FrameError('wrapper', 'zero-length APDU');
  if (header.length > maxApduLength) {
    throw new FrameError('wrapper', `APDU length ${header.length} exceeds the limit of ${maxApduLength}`);
  }
  return header;
}

/**
 * Incremental decoder over TCP chunks of any size. Memory is bounded: the header goes into
 * an 8-byte array, the body into one array of exactly the announced (checked) length.
 */
export class WrapperDecoder {
  private readonly maxApduLength: number;
  private readonly header = new Uint8Array(WRAPPER_HEADER_LENGTH);
  private headerFill = 0;
  private current: { readonly head: WrapperHeader; readonly body: Uint8Array; fill: number } | undefined;
  private failure: FrameError | undefined;

  constructor(options: WrapperDecoderOptions = {}) {
    const max = options.maxApduLength ?? WRAPPER_MAX_APDU_LENGTH;
    if (!Number.isInteger(max) || max < 1 || max > WRAPPER_MAX_APDU_LENGTH) {
      throw new RangeError(`maxApduLength must be an integer in 1..${WRAPPER_MAX_APDU_LENGTH}`);
    }
    this.maxApduLength = max;
  }

  /** The error that stopped the decoder, if any; once set, the connection must be dropped. */
  get failed(): FrameError | undefined {
    return this.failure;
  }

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.headerFill + (this.current?.fill ?? 0);
  }

  /**
   * Feeds one chunk; returns every frame it completes, in order. A bad header ends the list
   * with `{ ok: false }` and stops the decoder (see the resynchronisation policy above).
   */
  push(chunk: Uint8Array): WrapperDecoded[] {
    if (this.failure) throw this.failure;
    const out: WrapperDecoded[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (!this.current) {
        const n = Math.min(WRAPPER_HEADER_LENGTH - this.headerFill, chunk.length - off);
        this.header.set(chunk.subarray(off, off + n), this.headerFill);
        this.headerFill += n;
        off += n;
        if (this.headerFill < WRAPPER_HEADER_LENGTH) break;
        try {
          const head = decodeWrapperHeader(this.header, this.maxApduLength);
          this.current = { head, body: new Uint8Array(head.length), fill: 0 };
          this.headerFill = 0;
        } catch (err) {
          if (!(err instanceof FrameError)) throw err;
          this.failure = err;
          out.push({ ok: false, error: err });
          return out;
        }
      }
      const cur = this.current;
      const n = Math.min(cur.body.length - cur.fill, chunk.length - off);
      cur.body.set(chunk.subarray(off, off + n), cur.fill);
      cur.fill += n;
      off += n;
      if (cur.fill === cur.body.length) {
        out.push({ ok: true, frame: { source: cur.head.source, destination: cur.head.destination, apdu: cur.body } });
        this.current = undefined;
      }
    }
    return out;
  }
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new DlmsEncodeError('wrapper', `${what} wPort ${port} outside 0..65535`);
  }
}
