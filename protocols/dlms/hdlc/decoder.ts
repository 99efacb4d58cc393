/**
 * Incremental HDLC frame decoder over a byte stream (TCP or serial): frames may arrive split
 * across chunks or several per chunk.
 *
 * Framing rules applied (IEC 62056-46 §6.4.1):
 * - a frame starts at a 0x7E flag followed by a type-3 format field; its length field says
 *   where it ends (no byte stuffing, so a 0x7E inside a frame is data);
 * - one flag may close a frame and open the next, and extra flags between frames are fill:
 *   the closing flag of a frame is therefore kept as a candidate opening flag;
 * - bytes outside a frame are skipped up to the next 0x7E and counted in `garbageBytes`;
 * - a candidate whose length is out of range, whose closing flag is not where the length
 *   says, or whose HCS is wrong gives one FrameError and the search resumes right after its
 *   opening flag (its length cannot be trusted). The HCS is checked as soon as the header is
 *   in, so a false start does not hold later frames back until the announced length arrives;
 * - a frame with a bad FCS (header intact) gives a FrameError and is discarded whole.
 *
 * Memory: one buffer of `maxFrameSize` octets, allocated once.
 */
import { FrameError } from '../errors.js';
import { fcs16, getFcs } from './crc.js';
import { decodeHdlcFrame, HDLC_FLAG, HDLC_MAX_FRAME_LENGTH, HDLC_MIN_FRAME_LENGTH, type HdlcFrame } from './frame.js';

export type HdlcDecoded = { readonly ok: true; readonly frame: HdlcFrame } | { readonly ok: false; readonly error: FrameError };

export interface HdlcFrameDecoderOptions {
  /** Largest frame accepted, flags included; default and maximum 2049 (11-bit length + 2 flags). */
  readonly maxFrameSize?: number;
}

export interface HdlcDecoderStats {
  readonly frames: number;
  readonly errors: number;
  readonly garbageBytes: number;
}

export const HDLC_MAX_FRAME_SIZE = HDLC_MAX_FRAME_LENGTH + 2;

export class HdlcFrameDecoder {
  private readonly buf: Uint8Array;
  private len = 0;
  private frames = 0;
  private errors = 0;
  private garbage = 0;

  constructor(options: HdlcFrameDecoderOptions = {}) {
    const max = options.maxFrameSize ?? HDLC_MAX_FRAME_SIZE;
    if (!Number.isInteger(max) || max < HDLC_MIN_FRAME_LENGTH + 2 || max > HDLC_MAX_FRAME_SIZE) {
      throw new RangeError(`maxFrameSize must be an integer in ${HDLC_MIN_FRAME_LENGTH + 2}..${HDLC_MAX_FRAME_SIZE}`);
    }
    this.buf = new Uint8Array(max);
  }

  get stats(): HdlcDecoderStats {
    return { frames: this.frames, errors: this.errors, garbageBytes: this.garbage };
  }

  /** Octets held for a frame not yet complete. */
  get buffered(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
  }

  /** Feeds one chunk; returns the frames (and errors) it completes, in stream order. */
  push(chunk: Uint8Array): HdlcDecoded[] {
    const out: HdlcDecoded[] = [];
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.buf.length - this.len, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.len);
      this.len += n;
      off += n;
      this.scan(out);
    }
    return out;
  }

  private scan(out: HdlcDecoded[]): void {
    const buf = this.buf;
    let pos = 0;
    for (;;) {
      while (pos < this.len && buf[pos] !== HDLC_FLAG) {
        pos++;
        this.garbage++;
      }
      if (this.len - pos < 3) break;
      const f0 = buf[pos + 1] ?? 0;
      if (f0 === HDLC_FLAG) {
        pos++; // fill flag, or the shared closing flag of the previous frame
        continue;
      }
      if ((f0 & 0xf0) !== 0xa0) {
        pos++; // a flag followed by no type-3 format: skip it, the rest is garbage
        continue;
      }
      const total = (((f0 & 0x07) << 8) | (buf[pos + 2] ?? 0)) + 2;
      if (total < HDLC_MIN_FRAME_LENGTH + 2 || total > buf.length) {
        this.fail(out, `frame length ${total - 2} out of range`);
        pos++;
        continue;
      }
      if (this.len - pos < total) {
        const early = this.checkHeaderEarly(pos, total);
        if (early === undefined) break; // wait for the rest of the frame
        this.fail(out, early);
        pos++;
        continue;
      }
      if (buf[pos + total - 1] !== HDLC_FLAG) {
        this.fail(out, 'no closing flag where the length field says the frame ends');
        pos++;
        continue;
      }
      try {
        out.push({ ok: true, frame: decodeHdlcFrame(buf.subarray(pos, pos + total)) });
        this.frames++;
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.errors++;
        out.push({ ok: false, error: err });
      }
      pos += total - 1; // keep the closing flag: it may open the next frame
    }
    if (pos > 0) {
      buf.copyWithin(0, pos, this.len);
      this.len -= pos;
    }
  }

  /**
   * For an incomplete candidate at `pos`: a reason to reject it now (bad address field or
   * HCS, both checkable before the whole frame is in), or undefined to keep waiting.
   */
  private checkHeaderEarly(pos: number, total: number): string | undefined {
    const buf = this.buf;
    const fcsAt = pos + total - 3;
    const end = Math.min(this.len, fcsAt);
    let p = pos + 3;
    for (let field = 0; field < 2; field++) {
      // §6.4.2: 1, 2 or 4 octets, the last one with the extension bit (LSB) set.
      let n = 0;
      for (;;) {
        if (p + n >= end) return end === fcsAt ? 'address field runs into the FCS' : undefined;
        const b = buf[p + n] ?? 0;
        n++;
        if (b & 1) break;
        if (n === 4) return 'address field longer than 4 octets';
      }
      if (n === 3) return 'a 3-octet address field is not allowed';
      p += n;
    }
    const headerEnd = p + 1; // control field
    if (fcsAt - headerEnd < 3) return undefined; // no HCS to check; the FCS will decide
    if (headerEnd + 2 > this.len) return undefined;
    return fcs16(buf, pos + 1, headerEnd) === getFcs(buf, headerEnd) ? undefined : 'HCS mismatch';
  }

  private fail(out: HdlcDecoded[], message: string): void {
    this.errors++;
    out.push({ ok: false, error: new FrameError('hdlc', message) });
  }
}
