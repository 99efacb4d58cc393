/**
 * The small subset of BER (ISO/IEC 8825-1 / X.690) that the DLMS ACSE APDUs use
 * (IEC 62056-5-3 §8 / Green Book §9.4.2: AARQ, AARE, RLRQ, RLRE are BER-encoded, while
 * the xDLMS APDUs they carry in user-information are A-XDR). Definite lengths only: the
 * Green Book never uses the indefinite form, and refusing it keeps decoding bounded.
 */
import { ByteReader, ByteWriter, hexNumber } from '../bytes.js';
import { DlmsEncodeError } from '../errors.js';

/** One TLV: its identifier octet and a reader confined to its contents (absolute offsets). */
export interface BerElement {
  readonly tag: number;
  /** Offset of the identifier octet in the whole input. */
  readonly at: number;
  readonly content: BerReader;
}

/** Longest OID we accept: DLMS names have 7 arcs; 16 leaves room without being unbounded. */
const MAX_OID_ARCS = 16;

/** A cursor over BER TLVs inside [start, end) of one buffer. */
export class BerReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    readonly start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  get offset(): number {
    return this.pos;
  }

  /** An A-XDR/raw reader over the rest of this element, for the `acse` layer. */
  raw(): ByteReader {
    return new ByteReader(this.buf, 'acse', this.pos, this.end);
  }

  /** The remaining bytes of this element as a view (no copy). */
  rest(): Uint8Array {
    return this.buf.subarray(this.pos, this.end);
  }

  /**
   * Reads the next TLV. Tags above 30 (high-tag-number form) are refused: no ACSE field
   * of the DLMS profile uses one, so such a byte is garbage rather than an extension.
   */
  next(what: string): BerElement {
    const r = this.raw();
    const at = r.offset;
    const tag = r.u8(`${what} tag`);
    if ((tag & 0x1f) === 0x1f) r.fail(`${what}: high-tag-number form 0x${hexNumber(tag)} is not used by DLMS ACSE`, at);
    const len = r.length(r.remaining, `${what} length`);
    const start = r.offset;
    this.pos = start + len;
    return { tag, at, content: new BerReader(this.buf, start, start + len) };
  }

  /** Fails with a typed error at this reader's current position. */
  fail(message: string, at: number = this.pos): never {
    return this.raw().fail(message, at);
  }

  /** Asserts the element was consumed exactly (wrong-length contents are an error). */
  done(what: string): void {
    if (this.pos !== this.end) this.fail(`${what}: ${this.end - this.pos} unexpected trailing byte(s)`);
  }

  /** INTEGER contents (X.690 §8.3): two's complement, at most 4 octets here. */
  integer(what: string): number {
    const len = this.end - this.pos;
    if (len < 1 || len > 4) this.fail(`${what}: INTEGER of ${len} octets`);
    const b = this.raw().bytes(len, what);
    let v = (b[0] ?? 0) >= 0x80 ? -1 : 0;
    for (const byte of b) v = v * 256 + byte;
    this.pos = this.end;
    return v;
  }

  /** OBJECT IDENTIFIER contents (X.690 §8.19) as dotted arcs. */
  oid(what: string): string {
    const r = this.raw();
    if (r.remaining < 1) r.fail(`${what}: empty OBJECT IDENTIFIER`);
    const arcs: number[] = [];
    while (r.remaining > 0) {
      if (arcs.length >= MAX_OID_ARCS) r.fail(`${what}: more than ${MAX_OID_ARCS} arcs`);
      let v = 0;
      for (let i = 0; ; i++) {
        if (i >= 5) r.fail(`${what}: sub-identifier longer than 5 octets`);
        const b = r.u8(what);
        v = v * 128 + (b & 0x7f);
        if ((b & 0x80) === 0) break;
      }
      if (v > 0xffffffff) r.fail(`${what}: sub-identifier beyond 32 bits`);
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
    }
    this.pos = this.end;
    return arcs.join('.');
  }
}

/** Writes `tag`, the definite length and the contents built by `body`. */
export function writeTlv(w: ByteWriter, tag: number, body: (inner: ByteWriter) => unknown): ByteWriter {
  const inner = new ByteWriter(64);
  body(inner);
  const content = inner.toBytes();
  return w.u8(tag).length(content.length).bytes(content);
}

/** INTEGER contents, minimal two's complement. */
export function integerContents(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new DlmsEncodeError('acse', `INTEGER ${v} out of the 32-bit range`);
  }
  const out: number[] = [];
  let x = v;
  do {
    out.unshift(x & 0xff);
    x = Math.floor(x / 256);
  } while (!((x === 0 && ((out[0] ?? 0) & 0x80) === 0) || (x === -1 && ((out[0] ?? 0) & 0x80) !== 0)));
  return Uint8Array.from(out);
}

/** OBJECT IDENTIFIER contents from dotted arcs. */
export function oidContents(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const [a, b] = arcs;
  // X.690 §8.19.4: the first two arcs share one sub-identifier, so below arc 2 the second is < 40.
  if (arcs.length < 2 || arcs.length > MAX_OID_ARCS || a === undefined || b === undefined || a > 2 || (a < 2 && b >= 40) ||
      arcs.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
    throw new DlmsEncodeError('acse', `not an OBJECT IDENTIFIER: "${oid}"`);
  }
  const out: number[] = [];
  for (const v of [a * 40 + b, ...arcs.slice(2)]) {
    const groups = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) groups.unshift((x & 0x7f) | 0x80);
    out.push(...groups);
  }
  return Uint8Array.from(out);
}
