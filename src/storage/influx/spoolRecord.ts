import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * The spool's record format:
 *
 *     u32le length of body | u32le CRC-32 of (points ‖ body) | u32le points | body (UTF-8)
 *
 * The length prefix delimits records; the CRC tells a complete record from a torn or
 * damaged one, so a crash mid-append is detected instead of replayed as garbage.
 */
export class SpoolError extends Error {
  readonly code = 'SPOOL';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SpoolError';
  }
}

export const HEADER = 12;
/** A record larger than this is treated as corruption (a sane batch is far smaller). */
export const MAX_RECORD = 256 * 1024 * 1024;
export const READ_CHUNK = 1024 * 1024;

export function encodeRecord(body: string, points: number): Buffer {
  const len = Buffer.byteLength(body);
  const buf = Buffer.allocUnsafe(HEADER + len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt32LE(points, 8);
  buf.write(body, HEADER, 'utf8');
  buf.writeUInt32LE(crc32(buf.subarray(HEADER), crc32(buf.subarray(8, HEADER))), 4);
  return buf;
}

/** `rec` holds one whole record whose header says `len` body bytes. */
export function recordOk(rec: Buffer, len: number): boolean {
  return crc32(rec.subarray(HEADER, HEADER + len), crc32(rec.subarray(8, HEADER))) === rec.readUInt32LE(4);
}

/** Reads a segment in chunks of READ_CHUNK, so many small records cost one read, not two each. */
export class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private seq = -1;
  private start = 0;

  constructor(private readonly pathOf: (seq: number) => string) {}

  get(seg: { readonly seq: number; readonly size: number }, offset: number, length: number): Buffer {
    const rel = offset - this.start;
    if (seg.seq !== this.seq || rel < 0 || rel + length > this.buf.length) {
      this.buf = readAt(this.pathOf(seg.seq), offset, Math.max(length, Math.min(READ_CHUNK, seg.size - offset)));
      this.seq = seg.seq;
      this.start = offset;
      return this.buf.subarray(0, length);
    }
    return this.buf.subarray(rel, rel + length);
  }
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) throw new SpoolError(`spool segment ${path} is shorter than expected`);
      got += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}
