import {
  closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readdirSync,
  readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../privateFiles.js';
import { ChunkReader, encodeRecord, HEADER, MAX_RECORD, recordOk, SpoolError } from './spoolRecord.js';

export { SpoolError } from './spoolRecord.js';

/**
 * A durable FIFO of line-protocol batches on disk, for the InfluxDB sink.
 *
 * Layout of `dir`: append-only segment files `seg-<seq>.log` and a `commit` file holding
 * the position of the first byte not yet acknowledged by the server. Each record is
 *
 *     (record format: see spoolRecord.ts)
 *
 * so that on open a torn tail (the process died mid-append) or a corrupted record is
 * detected and cut off instead of being replayed as garbage.
 *
 * Durability: `append` writes into the OS page cache (a process crash loses nothing);
 * `sync` fsyncs the active segment (the owner calls it on a timer, so an OS crash loses at
 * most that interval — the same trade as SQLite's `synchronous = NORMAL`). The commit file
 * is replaced atomically (temp file, fsync, rename, fsync of the directory).
 */
export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

/** Consecutive records read from the commit position; hand it back to `commit` once sent. */
export interface SpoolBatch {
  readonly body: string;
  readonly points: number;
  readonly bytes: number;
  readonly end: SpoolPosition;
  /** The range failed its CRC check: nothing to send, commit it to skip the damage. */
  readonly corrupt: boolean;
}

export interface SpoolOptions {
  /** A new segment starts once the active one reaches this size. */
  readonly segmentMaxBytes: number;
}

export interface SpoolStats {
  /** Bytes appended and not yet committed. */
  readonly pendingBytes: number;
  readonly pendingPoints: number;
  readonly segments: number;
  /** Bytes cut off as torn or corrupt (on open or while reading). */
  readonly droppedBytes: number;
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/;

/** A segment file: its sequence number and its size (appends happen only through us). */
interface Segment {
  readonly seq: number;
  size: number;
}

export class Spool {
  private readonly segments: Segment[] = [];
  private commitPos: SpoolPosition = { segment: 0, offset: 0 };
  private appendFd: number;
  private dirty = false;
  private pendingBytes = 0;
  private pendingPoints = 0;
  private droppedBytes = 0;
  private closed = false;

  static open(dir: string, options: SpoolOptions): Spool {
    return new Spool(dir, options);
  }

  private constructor(private readonly dir: string, private readonly options: SpoolOptions) {
    makePrivateDir(dir);
    const seqs = readdirSync(dir)
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const saved = this.readCommit();
    for (const seq of seqs) {
      // Segments before the commit were fully sent; a crash can leave them behind.
      if (saved !== undefined && seq < saved.segment) unlinkSync(this.segmentPath(seq));
      else this.segments.push({ seq, size: statSync(this.segmentPath(seq)).size });
    }
    const first = this.segments[0];
    if (saved !== undefined && first?.seq === saved.segment) this.commitPos = { segment: saved.segment, offset: Math.min(saved.offset, first.size) };
    else this.commitPos = { segment: first?.seq ?? (saved?.segment ?? 0) + 1, offset: 0 };
    for (const seg of this.segments) this.validate(seg, seg.seq === this.commitPos.segment ? this.commitPos.offset : 0);
    const last = this.segments.at(-1);
    if (last === undefined) {
      const seq = this.commitPos.segment;
      this.segments.push({ seq, size: 0 });
      this.commitPos = { segment: seq, offset: 0 };
    }
    this.appendFd = openSync(this.segmentPath(this.active.seq), 'a', PRIVATE_FILE_MODE);
  }

  /** Appends one record holding `points` lines of line protocol. */
  append(body: string, points: number): void {
    this.assertOpen();
    const buf = encodeRecord(body, points);
    if (this.active.size > 0 && this.active.size + buf.length > this.options.segmentMaxBytes) this.rotate();
    let done = 0;
    while (done < buf.length) done += writeSync(this.appendFd, buf, done, buf.length - done);
    this.active.size += buf.length;
    this.dirty = true;
    this.pendingBytes += buf.length;
    this.pendingPoints += points;
  }

  /**
   * Reads records from the commit position until adding the next would exceed `maxPoints`
   * (always at least one). `undefined` when nothing is pending. Does not move the commit.
   */
  read(maxPoints: number): SpoolBatch | undefined {
    this.assertOpen();
    const reader = new ChunkReader((seq) => this.segmentPath(seq));
    let pos = this.commitPos;
    const parts: string[] = [];
    let points = 0;
    let bytes = 0;
    while (points < maxPoints) {
      const i = this.segments.findIndex((s) => s.seq === pos.segment);
      const seg = this.segments[i];
      if (seg === undefined) break;
      if (pos.offset >= seg.size) {
        const next = this.segments[i + 1];
        if (next === undefined) break;
        pos = { segment: next.seq, offset: 0 };
        continue;
      }
      const damaged = (): SpoolBatch => {
        // Send the good records first; the next read starts at the damage and skips it.
        if (parts.length > 0) return { body: parts.join(''), points, bytes, end: pos, corrupt: false };
        return { body: '', points: 0, bytes: seg.size - pos.offset, end: { segment: seg.seq, offset: seg.size }, corrupt: true };
      };
      if (pos.offset + HEADER > seg.size) return damaged();
      const header = reader.get(seg, pos.offset, HEADER);
      const len = header.readUInt32LE(0);
      const recPoints = header.readUInt32LE(8);
      if (len > MAX_RECORD || pos.offset + HEADER + len > seg.size) return damaged();
      if (points > 0 && points + recPoints > maxPoints) break;
      const rec = reader.get(seg, pos.offset, HEADER + len);
      if (!recordOk(rec, len)) return damaged();
      parts.push(rec.toString('utf8', HEADER));
      points += recPoints;
      bytes += rec.length;
      pos = { segment: seg.seq, offset: pos.offset + rec.length };
    }
    // Empty segments (cut to nothing on open) are skipped by committing a batch with no points.
    if (pos.segment === this.commitPos.segment && pos.offset === this.commitPos.offset) return undefined;
    return { body: parts.join(''), points, bytes, end: pos, corrupt: false };
  }

  /** Marks everything up to `batch.end` as acknowledged; deletes segments left fully behind. */
  commit(batch: SpoolBatch): void {
    this.assertOpen();
    let end = batch.end;
    const seg = this.segments.find((s) => s.seq === end.segment);
    const next = seg === undefined ? undefined : this.segments[this.segments.indexOf(seg) + 1];
    if (seg !== undefined && next !== undefined && end.offset >= seg.size) end = { segment: next.seq, offset: 0 };
    this.writeCommit(end);
    this.commitPos = end;
    while (this.segments.length > 1 && this.segments[0] !== undefined && this.segments[0].seq < end.segment) {
      const gone = this.segments.shift();
      if (gone !== undefined) unlinkSync(this.segmentPath(gone.seq));
    }
    if (batch.corrupt) {
      this.droppedBytes += batch.bytes;
      this.recount();
    } else {
      this.pendingBytes -= batch.bytes;
      this.pendingPoints -= batch.points;
    }
  }

  /** Flushes appended records to the disk. */
  sync(): void {
    if (this.closed || !this.dirty) return;
    fsyncSync(this.appendFd);
    this.dirty = false;
  }

  stats(): SpoolStats {
    return { pendingBytes: this.pendingBytes, pendingPoints: this.pendingPoints, segments: this.segments.length, droppedBytes: this.droppedBytes };
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    closeSync(this.appendFd);
    this.closed = true;
  }

  private get active(): Segment {
    const seg = this.segments.at(-1);
    if (seg === undefined) throw new SpoolError('spool has no active segment');
    return seg;
  }

  private rotate(): void {
    fsyncSync(this.appendFd);
    closeSync(this.appendFd);
    const seq = this.active.seq + 1;
    this.segments.push({ seq, size: 0 });
    this.appendFd = openSync(this.segmentPath(seq), 'a', PRIVATE_FILE_MODE);
    this.dirty = false;
  }

  /** Scans a segment from `from`, counts what is pending and cuts it at the first bad record. */
  private validate(seg: Segment, from: number): void {
    const scan = this.scan(seg, from);
    this.pendingBytes += scan.bytes;
    this.pendingPoints += scan.points;
    if (scan.goodEnd < seg.size) {
      this.droppedBytes += seg.size - scan.goodEnd;
      const fd = openSync(this.segmentPath(seg.seq), 'r+');
      try {
        ftruncateSync(fd, scan.goodEnd);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      seg.size = scan.goodEnd;
    }
  }

  private scan(seg: Segment, from: number): { goodEnd: number; bytes: number; points: number } {
    const reader = new ChunkReader((seq) => this.segmentPath(seq));
    let at = from;
    let points = 0;
    while (at + HEADER <= seg.size) {
      const len = reader.get(seg, at, HEADER).readUInt32LE(0);
      if (len > MAX_RECORD || at + HEADER + len > seg.size) break;
      const rec = reader.get(seg, at, HEADER + len);
      if (!recordOk(rec, len)) break;
      points += rec.readUInt32LE(8);
      at += rec.length;
    }
    return { goodEnd: at, bytes: at - from, points };
  }

  /** Recomputes the pending counters after skipping damage, whose point count is unknowable. */
  private recount(): void {
    let bytes = 0;
    let points = 0;
    for (const seg of this.segments) {
      const scan = this.scan(seg, seg.seq === this.commitPos.segment ? this.commitPos.offset : 0);
      bytes += scan.bytes;
      points += scan.points;
    }
    this.pendingBytes = bytes;
    this.pendingPoints = points;
  }

  private readCommit(): SpoolPosition | undefined {
    const path = join(this.dir, 'commit');
    if (!existsSync(path)) return undefined;
    try {
      const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (isPosition(v)) return v;
    } catch {
      // fall through: an unreadable commit file means replaying from the oldest segment
    }
    throw new SpoolError(`spool commit file ${path} is unreadable; move it away to replay from the oldest segment`);
  }

  private writeCommit(pos: SpoolPosition): void {
    const tmp = join(this.dir, 'commit.tmp');
    writeFileSync(tmp, JSON.stringify(pos), { flush: true, mode: PRIVATE_FILE_MODE });
    renameSync(tmp, join(this.dir, 'commit'));
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  private segmentPath(seq: number): string {
    return join(this.dir, `seg-${String(seq).padStart(12, '0')}.log`);
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolError('spool is closed');
  }
}

function isPosition(v: unknown): v is SpoolPosition {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return Number.isSafeInteger(p.segment) && Number.isSafeInteger(p.offset) && (p.offset as number) >= 0;
}
