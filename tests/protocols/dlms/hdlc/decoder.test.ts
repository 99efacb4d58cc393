import { describe, expect, it } from 'vitest';
import { HdlcFrameDecoder, type HdlcDecoded } from '../../../../protocols/dlms/hdlc/decoder.js';
import { FrameError } from '../../../../protocols/dlms/errors.js';
import { hex } from './reference.js';

const SNRM = hex('7E A0 08 02 23 21 93 BD 64 7E');
const UA = hex('7E A0 1F 21 02 23 73 E6 C7 81 80 12 05 01 9A 06 01 9A 07 04 00 00 00 01 08 04 00 00 00 01 CC A2 7E');
const I = hex('7E A0 12 02 23 21 10 C6 2A E6 E6 00 60 03 A1 01 00 D2 D4 7E');
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const kinds = (items: HdlcDecoded[]): string[] => items.map((d) => (d.ok ? d.frame.kind : 'error'));

describe('HdlcFrameDecoder', () => {
  it('decodes a frame split byte by byte', () => {
    const d = new HdlcFrameDecoder();
    const got: HdlcDecoded[] = [];
    for (const b of I) got.push(...d.push(Uint8Array.of(b)));
    expect(kinds(got)).toEqual(['I']);
    expect(got[0]?.ok && Array.from(got[0].frame.info)).toEqual(Array.from(hex('E6 E6 00 60 03 A1 01 00')));
  });

  it('decodes several frames in one chunk, with separate or shared flags and fill flags', () => {
    const d = new HdlcFrameDecoder();
    expect(kinds(d.push(concat(SNRM, UA, I)))).toEqual(['SNRM', 'UA', 'I']);
    // shared flag: the closing 7E of one frame opens the next
    expect(kinds(d.push(concat(SNRM.subarray(0, -1), UA.subarray(0, -1), I)))).toEqual(['SNRM', 'UA', 'I']);
    expect(kinds(d.push(concat(hex('7E 7E 7E'), SNRM, hex('7E 7E'), I)))).toEqual(['SNRM', 'I']);
    expect(d.stats).toMatchObject({ frames: 8, errors: 0, garbageBytes: 0 });
  });

  it('skips garbage between frames up to the next flag and counts it', () => {
    const d = new HdlcFrameDecoder();
    const got = d.push(concat(hex('01 02 03'), SNRM, hex('55 66'), I, hex('55')));
    expect(kinds(got)).toEqual(['SNRM', 'I']);
    // 01 02 03 and 55 66 skipped; the trailing 7E 55 waits for more (it could start a frame)
    expect(d.stats.garbageBytes).toBe(5);
    expect(d.stats.errors).toBe(0);
    expect(d.buffered).toBe(2);
    // Garbage that looks like a frame start (7E then 0xA?) is indistinguishable from a
    // damaged frame: one FrameError, then the next real frame.
    expect(kinds(new HdlcFrameDecoder().push(concat(SNRM, hex('AA BB'), SNRM)))).toEqual(['SNRM', 'error', 'SNRM']);
  });

  it('treats 0x7E inside a frame as data (length-delimited, no stuffing)', () => {
    // An I-frame whose information field holds 7E 7E (HCS F2 E2, FCS 33 93), read in two pieces.
    const d = new HdlcFrameDecoder();
    const withFlags = hex('7E A0 0F 02 23 21 10 F2 E2 E6 E6 00 7E 7E 33 93 7E');
    const got = [...d.push(withFlags.subarray(0, 12)), ...d.push(withFlags.subarray(12))];
    expect(got.map((g) => g.ok)).toEqual([true]);
  });

  it('reports a bad FCS as FrameError, discards that frame and keeps going', () => {
    const bad = I.slice();
    bad[bad.length - 3] = bad.at(-3)! ^ 0xff;
    const d = new HdlcFrameDecoder();
    const got = d.push(concat(bad, SNRM));
    expect(kinds(got)).toEqual(['error', 'SNRM']);
    const first = got[0];
    expect(first && !first.ok && first.error).toBeInstanceOf(FrameError);
    expect(first && !first.ok && first.error.message).toMatch(/FCS/);
  });

  it('rejects a false start by its HCS before the announced length has arrived', () => {
    // 7E A7 FF announces 2047 octets; its "header" is the next frame's bytes, so the HCS
    // cannot match and the real frame that follows is decoded at once.
    const d = new HdlcFrameDecoder();
    const got = d.push(concat(hex('7E A7 FF 02 23 21 10 00 00'), I));
    expect(kinds(got)).toEqual(['error', 'I']);
    expect(d.buffered).toBeLessThanOrEqual(1);
  });

  it('reports out-of-range lengths and a missing closing flag, then resynchronises', () => {
    const d = new HdlcFrameDecoder({ maxFrameSize: 64 });
    const noClose = SNRM.slice();
    noClose[noClose.length - 1] = 0x00;
    const got = d.push(concat(hex('7E A0 02'), hex('7E A1 00'), noClose, SNRM));
    expect(kinds(got)).toEqual(['error', 'error', 'error', 'SNRM']);
    expect(d.stats.errors).toBe(3);
  });

  it('keeps its buffer bounded by maxFrameSize whatever it is fed', () => {
    const d = new HdlcFrameDecoder({ maxFrameSize: 32 });
    d.push(new Uint8Array(10_000).fill(0x7e));
    d.push(hex('7E A0 1E'));
    d.push(new Uint8Array(5000).fill(0x41));
    expect(d.buffered).toBeLessThanOrEqual(32);
    expect(() => new HdlcFrameDecoder({ maxFrameSize: 5000 })).toThrow(RangeError);
  });
});
