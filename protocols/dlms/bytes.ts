/**
 * Bounded byte cursor and growable writer shared by the DLMS codecs. Every read checks the
 * remaining length first and throws DlmsDecodeError, so truncated input is a typed error.
 */
import { DlmsDecodeError, type DlmsLayer } from './errors.js';

export class ByteReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    private readonly layer: DlmsLayer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string, at: number = this.pos): never {
    throw new DlmsDecodeError(this.layer, message, at);
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) this.fail(`truncated: ${what} needs ${n} byte(s), ${this.remaining} left`);
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.pos++] ?? 0;
  }

  peek(): number | undefined {
    return this.pos < this.end ? this.buf[this.pos] : undefined;
  }

  u16(what = 'uint16'): number {
    this.need(2, what);
    const v = ((this.buf[this.pos] ?? 0) << 8) | (this.buf[this.pos + 1] ?? 0);
    this.pos += 2;
    return v;
  }

  u32(what = 'uint32'): number {
    this.need(4, what);
    // Shifts rather than a DataView per call: this is the hot path of profile decoding.
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] ?? 0) * 0x1000000) + (((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0));
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number, what = 'octets'): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A DataView over the next `n` bytes, advancing past them. */
  view(n: number, what: string): DataView {
    const b = this.bytes(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  /**
   * A-XDR length (IEC 62056-5-3 / X.690 definite form as used by A-XDR): one byte below 0x80,
   * else 0x8N followed by N big-endian bytes. Lengths beyond `max` are refused before any
   * allocation, so a forged length cannot exhaust memory.
   */
  length(max: number, what = 'length'): number {
    const start = this.pos;
    const first = this.u8(what);
    if (first < 0x80) return this.bounded(first, max, what, start);
    const n = first & 0x7f;
    if (n === 0 || n > 4) this.fail(`${what}: unsupported length form 0x${first.toString(16)}`, start);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.u8(what);
    return this.bounded(v, max, what, start);
  }

  private bounded(v: number, max: number, what: string, at: number): number {
    if (v > max) this.fail(`${what} ${v} exceeds the limit of ${max}`, at);
    return v;
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    const b = this.buf;
    b[this.pos++] = (v >>> 24) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Writes with a DataView callback over `n` fresh bytes (floats, 64-bit integers). */
  view(n: number, write: (dv: DataView) => void): this {
    this.room(n);
    write(new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n));
    this.pos += n;
    return this;
  }

  /** A-XDR length: short form below 128, else 0x81/0x82/0x84 + big-endian bytes. */
  length(n: number): this {
    if (n < 0x80) return this.u8(n);
    if (n <= 0xff) return this.u8(0x81).u8(n);
    if (n <= 0xffff) return this.u8(0x82).u16(n);
    return this.u8(0x84).u32(n);
  }

  /** The bytes written so far (a copy, safe to keep). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Bytes as hexadecimal, two lowercase digits each, `separator` between them. */
export function hex(bytes: Uint8Array, separator = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) out += separator;
    out += (bytes[i] ?? 0).toString(16).padStart(2, '0');
  }
  return out;
}

/** A system title as DLMS documents and meter labels write it: uppercase hexadecimal, no separator. */
export function hexUpper(bytes: Uint8Array): string {
  return hex(bytes).toUpperCase();
}

/** One number as hexadecimal, lowercase, at least `digits` digits. */
export function hexNumber(n: number, digits = 2): string {
  return n.toString(16).padStart(digits, '0');
}
