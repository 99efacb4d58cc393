import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, SpoolError, type SpoolBatch } from '../../../../src/storage/influx/spool.js';

const lines = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => `m,k=${tag} v=${i} ${i}\n`).join('');
const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();

describe('Spool', () => {
  let dir: string;
  let spool: Spool | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gridhead-spool-'));
  });
  afterEach(() => {
    spool?.close();
    spool = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (segmentMaxBytes = 1 << 20): Spool => {
    spool?.close();
    spool = Spool.open(dir, { segmentMaxBytes });
    return spool;
  };

  it('reads appended records back in order, batching whole records up to maxPoints', () => {
    const s = open();
    s.append(lines('a', 3), 3);
    s.append(lines('b', 4), 4);
    s.append(lines('c', 2), 2);
    expect(s.stats()).toMatchObject({ pendingPoints: 9 });
    const first = s.read(7)!;
    expect(first.body).toBe(lines('a', 3) + lines('b', 4));
    expect(first.points).toBe(7);
    // Reading does not consume: the same batch comes back until committed.
    expect(s.read(7)!.body).toBe(first.body);
    s.commit(first);
    const second = s.read(7)!;
    expect(second.body).toBe(lines('c', 2));
    s.commit(second);
    expect(s.read(7)).toBeUndefined();
    expect(s.stats()).toMatchObject({ pendingPoints: 0, pendingBytes: 0 });
  });

  it('returns a record larger than maxPoints on its own rather than splitting it', () => {
    const s = open();
    s.append(lines('big', 10), 10);
    s.append(lines('small', 1), 1);
    expect(s.read(4)!.points).toBe(10);
  });

  it('keeps the commit position across a reopen and replays only what was not committed', () => {
    const s = open();
    s.append(lines('a', 2), 2);
    s.append(lines('b', 2), 2);
    s.commit(s.read(2)!);
    const again = open();
    expect(again.stats()).toMatchObject({ pendingPoints: 2 });
    expect(again.read(100)!.body).toBe(lines('b', 2));
    again.append(lines('c', 1), 1);
    expect(again.read(100)!.body).toBe(lines('b', 2) + lines('c', 1));
  });

  it('drops a torn tail left by a crash mid-append and keeps appending after the good records', () => {
    let s = open();
    s.append(lines('a', 2), 2);
    s.append(lines('b', 2), 2);
    s.close();
    spool = undefined;
    const seg = join(dir, segmentFiles(dir)[0]!);
    truncateSync(seg, statSync(seg).size - 5); // the second record lost its last bytes
    s = open();
    expect(s.stats()).toMatchObject({ pendingPoints: 2, droppedBytes: Buffer.byteLength(lines('b', 2)) + 12 - 5 });
    s.append(lines('c', 1), 1);
    expect(s.read(100)!.body).toBe(lines('a', 2) + lines('c', 1));
  });

  it('drops a tail of garbage whose CRC does not match', () => {
    let s = open();
    s.append(lines('a', 2), 2);
    s.close();
    spool = undefined;
    const seg = join(dir, segmentFiles(dir)[0]!);
    // A plausible header (length 5, 1 point) with a wrong CRC, then 5 bytes.
    const bogus = Buffer.alloc(17);
    bogus.writeUInt32LE(5, 0);
    bogus.writeUInt32LE(0xdeadbeef, 4);
    bogus.writeUInt32LE(1, 8);
    bogus.write('m v=1', 12);
    appendFileSync(seg, bogus);
    s = open();
    expect(s.stats()).toMatchObject({ pendingPoints: 2, droppedBytes: 17 });
    expect(s.read(100)!.body).toBe(lines('a', 2));
  });

  it('skips a record damaged after it was written, sending the good records around it', () => {
    const s = open();
    s.append(lines('a', 1), 1);
    s.append(lines('b', 1), 1);
    s.append(lines('c', 1), 1);
    const seg = join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(seg);
    const second = 12 + Buffer.byteLength(lines('a', 1));
    bytes[second + 12] = 'X'.charCodeAt(0); // flip a body byte of record b
    writeFileSync(seg, bytes);
    const good = s.read(100)!;
    expect(good).toMatchObject({ body: lines('a', 1), corrupt: false });
    s.commit(good);
    const damaged = s.read(100)!;
    expect(damaged.corrupt).toBe(true);
    s.commit(damaged);
    expect(s.stats().droppedBytes).toBeGreaterThan(0);
    expect(s.read(100)).toBeUndefined();
    s.append(lines('d', 1), 1);
    expect(s.read(100)!.body).toBe(lines('d', 1));
  });

  it('rotates segments at the size bound and deletes them once fully committed', () => {
    const s = open(80);
    for (let i = 0; i < 10; i++) s.append(lines(`r${i}`, 2), 2);
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    let body = '';
    let batch: SpoolBatch | undefined;
    while ((batch = s.read(3)) !== undefined) {
      body += batch.body;
      s.commit(batch);
    }
    expect(body).toBe(Array.from({ length: 10 }, (_, i) => lines(`r${i}`, 2)).join(''));
    expect(segmentFiles(dir)).toHaveLength(1);
    expect(s.stats()).toMatchObject({ pendingBytes: 0, pendingPoints: 0, segments: 1 });
    const reopened = open(80);
    expect(reopened.read(100)).toBeUndefined();
  });

  it('counts pending bytes so its owner can bound the spool', () => {
    const s = open();
    s.append(lines('a', 5), 5);
    const one = s.stats().pendingBytes;
    expect(one).toBe(12 + Buffer.byteLength(lines('a', 5)));
    s.append(lines('a', 5), 5);
    expect(s.stats().pendingBytes).toBe(2 * one);
    s.commit(s.read(5)!);
    expect(s.stats().pendingBytes).toBe(one);
  });

  it('refuses to open over an unreadable commit file instead of guessing', () => {
    open().append(lines('a', 1), 1);
    spool!.close();
    spool = undefined;
    writeFileSync(join(dir, 'commit'), '{not json');
    expect(() => Spool.open(dir, { segmentMaxBytes: 1 << 20 })).toThrow(SpoolError);
  });
});
