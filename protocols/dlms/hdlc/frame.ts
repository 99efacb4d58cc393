/**
 * HDLC frame format type 3 as DLMS/COSEM uses it (IEC 62056-46 §6.4.1; Green Book §8.4.1):
 *
 *   7E | format (2) | destination (1,2,4) | source (1,2,4) | control (1) | [HCS (2) | info (n)] | FCS (2) | 7E
 *
 * - format field: 1010 (type 3) | S (segmentation) | 11-bit length = octets between the flags;
 * - HCS (header check sequence) covers format..control and is present only with an info field
 *   (§6.4.1.6); FCS covers everything between the flags except itself (§6.4.1.8); see crc.ts;
 * - no transparency (no byte stuffing): the length field, not the next 0x7E, ends a frame.
 *
 * The information field is opaque here. The LLC header (E6 E6 00 / E6 E7 00) belongs to the
 * LLC sublayer and is added/removed by HdlcLink (see llc.ts), so a frame's `info` is exactly
 * what is on the line.
 */
import { hexNumber } from '../bytes.js';
import { DlmsEncodeError, FrameError } from '../errors.js';
import { decodeAddress, encodeAddress, type HdlcAddress } from './address.js';
import { fcs16, getFcs, putFcs } from './crc.js';

export const HDLC_FLAG = 0x7e;
/** Largest value of the 11-bit frame length subfield. */
export const HDLC_MAX_FRAME_LENGTH = 0x7ff;
/** Smallest frame between the flags: format 2 + dest 1 + src 1 + control 1 + FCS 2. */
export const HDLC_MIN_FRAME_LENGTH = 7;

export type HdlcUnnumberedKind = 'SNRM' | 'DISC' | 'UA' | 'DM' | 'FRMR' | 'UI';
export type HdlcFrameKind = 'I' | 'RR' | 'RNR' | HdlcUnnumberedKind;

interface HdlcFrameCommon {
  readonly destination: HdlcAddress;
  readonly source: HdlcAddress;
  /** The P bit in a command, the F bit in a response. */
  readonly pf: boolean;
  /** The S bit of the format field: more segments of the same APDU follow (I and UI only). */
  readonly segmented: boolean;
  /** Information field as on the line (empty when absent). */
  readonly info: Uint8Array;
}

export interface HdlcIFrame extends HdlcFrameCommon {
  readonly kind: 'I';
  /** N(S), send sequence number, mod 8. */
  readonly ns: number;
  /** N(R), receive sequence number (next N(S) expected from the peer), mod 8. */
  readonly nr: number;
}

export interface HdlcSupervisoryFrame extends HdlcFrameCommon {
  readonly kind: 'RR' | 'RNR';
  readonly nr: number;
}

export interface HdlcUnnumberedFrame extends HdlcFrameCommon {
  readonly kind: HdlcUnnumberedKind;
}

export type HdlcFrame = HdlcIFrame | HdlcSupervisoryFrame | HdlcUnnumberedFrame;

/** Encodes one frame, flags included. Throws DlmsEncodeError on out-of-range fields. */
export function encodeHdlcFrame(frame: HdlcFrame): Uint8Array {
  const control = encodeControl(frame);
  const { info } = frame;
  if (info.length > 0 && (frame.kind === 'RR' || frame.kind === 'RNR')) {
    throw new DlmsEncodeError('hdlc', `${frame.kind} carries no information field`);
  }
  if (frame.segmented && frame.kind !== 'I' && frame.kind !== 'UI') {
    throw new DlmsEncodeError('hdlc', `${frame.kind} cannot be segmented`);
  }
  const dst = encodeAddress(frame.destination);
  const src = encodeAddress(frame.source);
  const header = 2 + dst.length + src.length + 1;
  const length = header + (info.length > 0 ? 2 + info.length : 0) + 2;
  if (length > HDLC_MAX_FRAME_LENGTH) {
    throw new DlmsEncodeError('hdlc', `frame length ${length} exceeds ${HDLC_MAX_FRAME_LENGTH}`);
  }
  const out = new Uint8Array(length + 2);
  out[0] = HDLC_FLAG;
  // §6.4.1.3: 1010 S LLL LLLLLLLL
  out[1] = 0xa0 | (frame.segmented ? 0x08 : 0) | (length >> 8);
  out[2] = length & 0xff;
  out.set(dst, 3);
  out.set(src, 3 + dst.length);
  out[header] = control;
  let p = header + 1;
  if (info.length > 0) {
    putFcs(out, p, fcs16(out, 1, p)); // HCS over format..control
    p += 2;
    out.set(info, p);
    p += info.length;
  }
  putFcs(out, p, fcs16(out, 1, p)); // FCS over format..info
  out[p + 2] = HDLC_FLAG;
  return out;
}

/**
 * Decodes exactly one frame, opening and closing flags included. Throws FrameError for a
 * wrong flag, format type, length, address, control field, HCS or FCS. The returned `info`
 * is a copy, so the input buffer may be reused.
 */
export function decodeHdlcFrame(bytes: Uint8Array): HdlcFrame {
  if (bytes.length < HDLC_MIN_FRAME_LENGTH + 2) throw new FrameError('hdlc', `truncated frame of ${bytes.length} octets`);
  if (bytes[0] !== HDLC_FLAG || bytes[bytes.length - 1] !== HDLC_FLAG) throw new FrameError('hdlc', 'missing opening or closing flag');
  const f0 = bytes[1] ?? 0;
  if ((f0 & 0xf0) !== 0xa0) throw new FrameError('hdlc', `frame format 0x${(f0 >> 4).toString(16)} is not type 3`);
  const length = ((f0 & 0x07) << 8) | (bytes[2] ?? 0);
  if (length !== bytes.length - 2) throw new FrameError('hdlc', `length field ${length} but ${bytes.length - 2} octets between the flags`);
  const fcsAt = bytes.length - 3;
  if (fcs16(bytes, 1, fcsAt) !== getFcs(bytes, fcsAt)) throw new FrameError('hdlc', 'FCS mismatch');
  const segmented = (f0 & 0x08) !== 0;

  const dst = decodeAddress(bytes, 3, fcsAt);
  const src = decodeAddress(bytes, dst.next, fcsAt);
  if (src.next >= fcsAt) throw new FrameError('hdlc', 'truncated: no control field');
  const control = bytes[src.next] ?? 0;
  const headerEnd = src.next + 1;
  let info: Uint8Array = new Uint8Array(0);
  if (headerEnd !== fcsAt) {
    // §6.4.1.6: with an information field the header is followed by the HCS.
    if (fcsAt - headerEnd < 3) throw new FrameError('hdlc', `${fcsAt - headerEnd} stray octet(s) after the header`);
    if (fcs16(bytes, 1, headerEnd) !== getFcs(bytes, headerEnd)) throw new FrameError('hdlc', 'HCS mismatch');
    info = bytes.slice(headerEnd + 2, fcsAt);
  }
  const common = { destination: dst.address, source: src.address, pf: (control & 0x10) !== 0, segmented, info };
  const frame = decodeControl(control, common);
  if (info.length > 0 && (frame.kind === 'RR' || frame.kind === 'RNR')) {
    throw new FrameError('hdlc', `${frame.kind} with an information field`);
  }
  if (segmented && frame.kind !== 'I' && frame.kind !== 'UI') throw new FrameError('hdlc', `${frame.kind} with the segmentation bit`);
  return frame;
}

/** Control field octets without the P/F bit (§6.4.3; ISO/IEC 13239 §5.5). */
const UNNUMBERED: Readonly<Record<HdlcUnnumberedKind, number>> = {
  SNRM: 0x83, // 100P0011
  DISC: 0x43, // 010P0011
  UA: 0x63, //   011F0011
  DM: 0x0f, //   000F1111
  FRMR: 0x87, // 100F0111
  UI: 0x03, //   000P0011
};
const UNNUMBERED_BY_CODE = new Map<number, HdlcUnnumberedKind>(
  Object.entries(UNNUMBERED).map(([kind, code]) => [code, kind as HdlcUnnumberedKind]),
);

/** The control field octet of `frame` (used to quote a rejected frame in FRMR). */
export function encodeControl(frame: HdlcFrame): number {
  const pf = frame.pf ? 0x10 : 0;
  switch (frame.kind) {
    case 'I': // RRR P SSS 0
      return (seq(frame.nr, 'N(R)') << 5) | pf | (seq(frame.ns, 'N(S)') << 1);
    case 'RR': // RRR P 0001
      return (seq(frame.nr, 'N(R)') << 5) | pf | 0x01;
    case 'RNR': // RRR P 0101
      return (seq(frame.nr, 'N(R)') << 5) | pf | 0x05;
    default:
      return UNNUMBERED[frame.kind] | pf;
  }
}

function decodeControl(control: number, common: HdlcFrameCommon): HdlcFrame {
  const nr = control >> 5;
  if ((control & 0x01) === 0) return { ...common, kind: 'I', ns: (control >> 1) & 0x07, nr };
  if ((control & 0x0f) === 0x01) return { ...common, kind: 'RR', nr };
  if ((control & 0x0f) === 0x05) return { ...common, kind: 'RNR', nr };
  const kind = UNNUMBERED_BY_CODE.get(control & 0xef);
  if (kind === undefined) throw new FrameError('hdlc', `unsupported control field 0x${hexNumber(control)}`);
  return { ...common, kind };
}

function seq(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new DlmsEncodeError('hdlc', `${what} ${n} outside 0..7`);
  return n;
}
