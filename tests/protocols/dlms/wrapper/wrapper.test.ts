import { describe, expect, it } from 'vitest';
import { decodeWrapperHeader, encodeWrapper, WrapperDecoder, type WrapperDecoded } from '../../../../protocols/dlms/wrapper/wrapper.js';
import { DlmsEncodeError, FrameError } from '../../../../protocols/dlms/errors.js';
import { hex, prng, toHex } from '../hdlc/reference.js';

const AARQ = hex('60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 1E 1D FF FF');
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const frames = (items: WrapperDecoded[]): string[] => items.map((d) => (d.ok ? `${d.frame.source}>${d.frame.destination}:${d.frame.apdu.length}` : 'error'));

describe('TCP wrapper (IEC 62056-47 §5.3)', () => {
  it('encodes the 8-octet header: version, source wPort, destination wPort, length', () => {
    // 00 01 version 1 | 00 10 source wPort 16 (public client) | 00 01 destination wPort 1
    // (management logical device) | 00 1F length 31 | the AARQ
    const bytes = encodeWrapper({ source: 16, destination: 1, apdu: AARQ });
    expect(toHex(bytes.subarray(0, 8))).toBe('00 01 00 10 00 01 00 1F');
    expect(bytes.subarray(8)).toEqual(AARQ);
    expect(decodeWrapperHeader(bytes)).toEqual({ version: 1, source: 16, destination: 1, length: 31 });
    // wPorts use all 16 bits: 0x1234 → 12 34, 0xFFFF → FF FF
    expect(toHex(encodeWrapper({ source: 0x1234, destination: 0xffff, apdu: hex('C0') }))).toBe('00 01 12 34 FF FF 00 01 C0');
  });

  it('refuses what it cannot encode', () => {
    expect(() => encodeWrapper({ source: 16, destination: 1, apdu: new Uint8Array(0) })).toThrow(DlmsEncodeError);
    expect(() => encodeWrapper({ source: 16, destination: 1, apdu: new Uint8Array(0x10000) })).toThrow(DlmsEncodeError);
    expect(() => encodeWrapper({ source: 0x10000, destination: 1, apdu: AARQ })).toThrow(DlmsEncodeError);
  });

  it('decodes frames split at every position and merged in one chunk', () => {
    const a = encodeWrapper({ source: 16, destination: 1, apdu: AARQ });
    const b = encodeWrapper({ source: 1, destination: 16, apdu: hex('61 03 A1 01 00') });
    const stream = concat(a, b, a);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new WrapperDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(frames(got)).toEqual(['16>1:31', '1>16:5', '16>1:31']);
      expect(d.buffered).toBe(0);
    }
    const d = new WrapperDecoder();
    const got: WrapperDecoded[] = [];
    for (const byte of stream) got.push(...d.push(Uint8Array.of(byte)));
    expect(frames(got)).toEqual(['16>1:31', '1>16:5', '16>1:31']);
    expect(got[0]?.ok && got[0].frame.apdu).toEqual(AARQ);
  });

  it('reports an oversized length, then requires the connection to be dropped', () => {
    const d = new WrapperDecoder({ maxApduLength: 16 });
    const good = encodeWrapper({ source: 16, destination: 1, apdu: hex('C0 01 81 00 08') });
    const got = d.push(concat(good, encodeWrapper({ source: 16, destination: 1, apdu: AARQ })));
    expect(frames(got)).toEqual(['16>1:5', 'error']);
    const last = got[1];
    expect(last && !last.ok && last.error.message).toMatch(/exceeds the limit of 16/);
    expect(d.failed).toBeInstanceOf(FrameError);
    expect(() => d.push(good)).toThrow(FrameError);
  });

  it('rejects a wrong version, a zero length and a truncated header', () => {
    const wrongVersion = new WrapperDecoder().push(hex('00 02 00 10 00 01 00 01 C0'));
    expect(frames(wrongVersion)).toEqual(['error']);
    expect(wrongVersion[0] && !wrongVersion[0].ok && wrongVersion[0].error.message).toMatch(/version 0x0002/);
    expect(frames(new WrapperDecoder().push(hex('00 01 00 10 00 01 00 00')))).toEqual(['error']);
    // HTTP on the DLMS port is garbage: "GET " is not version 1
    expect(frames(new WrapperDecoder().push(new TextEncoder().encode('GET / HTTP/1.1\r\n')))).toEqual(['error']);
    expect(() => decodeWrapperHeader(hex('00 01 00'))).toThrow(/truncated/);
  });

  it('holds an incomplete frame without decoding it and never buffers more than one frame', () => {
    const d = new WrapperDecoder({ maxApduLength: 100 });
    expect(d.push(hex('00 01 00 10 00 01 00 64'))).toEqual([]);
    expect(d.push(new Uint8Array(99))).toEqual([]);
    expect(d.buffered).toBe(99);
    expect(frames(d.push(new Uint8Array(1)))).toEqual(['16>1:100']);
  });

  it('survives 20,000 random and mutated chunks with only typed errors', () => {
    const rnd = prng(47);
    const valid = concat(
      encodeWrapper({ source: 16, destination: 1, apdu: AARQ }),
      encodeWrapper({ source: 1, destination: 16, apdu: hex('61 03 A1 01 00') }),
    );
    let decoder = new WrapperDecoder({ maxApduLength: 512 });
    let frameCount = 0;
    let errorCount = 0;
    for (let i = 0; i < 20_000; i++) {
      let chunk: Uint8Array;
      const mode = rnd();
      if (mode < 0.3) chunk = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
      else {
        chunk = valid.slice(0, Math.floor(rnd() * (valid.length + 1)));
        const flips = Math.floor(rnd() * 3);
        for (let f = 0; f < flips && chunk.length > 0; f++) {
          const at = Math.floor(rnd() * chunk.length);
          chunk[at] = chunk[at]! ^ (1 << Math.floor(rnd() * 8));
        }
        if (rnd() < 0.2 && chunk.length >= 8) chunk[6] = Math.floor(rnd() * 256); // length tampering
      }
      try {
        for (const item of decoder.push(chunk)) {
          if (item.ok) frameCount++;
          else errorCount++;
        }
      } catch (err) {
        expect(err).toBeInstanceOf(FrameError);
        decoder = new WrapperDecoder({ maxApduLength: 512 }); // the caller drops the connection
      }
      expect(decoder.buffered).toBeLessThanOrEqual(8 + 512);
    }
    expect(frameCount).toBeGreaterThan(0);
    expect(errorCount).toBeGreaterThan(0);
  });
});
