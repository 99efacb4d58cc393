import { describe, expect, it } from 'vitest';
import { decodeAddress, encodeAddress } from '../../../../protocols/dlms/hdlc/address.js';
import { fcs16 } from '../../../../protocols/dlms/hdlc/crc.js';
import { decodeHdlcFrame, encodeHdlcFrame, type HdlcFrame } from '../../../../protocols/dlms/hdlc/frame.js';
import { DlmsEncodeError, FrameError } from '../../../../protocols/dlms/errors.js';
import { hex, referenceCrc16x25, toHex } from './reference.js';

const SERVER = { upper: 1, lower: 17 }; // logical device 1 (management), physical device 17
const CLIENT = { upper: 16, length: 1 as const }; // public client
const none = new Uint8Array(0);
const cmd = (over: Partial<HdlcFrame> & Pick<HdlcFrame, 'kind'>): HdlcFrame =>
  ({ destination: SERVER, source: CLIENT, pf: true, segmented: false, info: none, ...over }) as HdlcFrame;
const rsp = (over: Partial<HdlcFrame> & Pick<HdlcFrame, 'kind'>): HdlcFrame =>
  ({ destination: CLIENT, source: SERVER, pf: true, segmented: false, info: none, ...over }) as HdlcFrame;

/** LSB-first octets of the reference CRC over `bytes`, as they appear on the line. */
const crcOctets = (bytes: Uint8Array): string => {
  const c = referenceCrc16x25(bytes);
  return toHex(Uint8Array.of(c & 0xff, c >> 8));
};

describe('CRC-16/X.25 (HCS and FCS)', () => {
  it('matches the bit-by-bit reference and the catalogue check value', () => {
    const ascii = new TextEncoder().encode('123456789');
    expect(fcs16(ascii)).toBe(0x906e); // CRC-16/X-25 check value
    expect(referenceCrc16x25(ascii)).toBe(0x906e);
    // dlms-cosem tests/test_hdlc/test_hdlc.py TestCrc: 03 3F → 5B EC on the line
    expect(fcs16(hex('03 3F'))).toBe(0xec5b);
  });
});

describe('HDLC addresses (IEC 62056-46 §6.4.2)', () => {
  it('encodes upper 1 / lower 17 on 2 and 4 octets with the extension bit on the last octet only', () => {
    // 2 octets: upper 1 → 1<<1 = 0x02 (ext 0); lower 17 → 17<<1 | 1 = 0x23 (ext 1)
    expect(toHex(encodeAddress({ upper: 1, lower: 17 }))).toBe('02 23');
    // 4 octets: upper 0x0001 → high 7 bits 0 → 0x00, low 7 bits 1 → 0x02; lower 0x0011 → 0x00, 0x23
    expect(toHex(encodeAddress({ upper: 1, lower: 17, length: 4 }))).toBe('00 02 00 23');
    // client 16 → 16<<1 | 1 = 0x21; server upper 1 alone → 0x03
    expect(toHex(encodeAddress(CLIENT))).toBe('21');
    expect(toHex(encodeAddress({ upper: 1 }))).toBe('03');
    // 14-bit halves: upper 0x1234 → 0x24<<1=0x48, 0x34<<1=0x68; lower 0x3FFF → 0xFE, 0xFF
    expect(toHex(encodeAddress({ upper: 0x1234, lower: 0x3fff }))).toBe('48 68 FE FF');
  });

  it('decodes what it encodes, keeping the octet count', () => {
    for (const a of [{ upper: 1, length: 1 as const }, { upper: 1, lower: 17, length: 2 as const }, { upper: 0x1234, lower: 0x3fff, length: 4 as const }]) {
      const bytes = encodeAddress(a);
      expect(decodeAddress(bytes, 0, bytes.length)).toEqual({ address: a, next: bytes.length });
    }
  });

  it('rejects 3-octet, unterminated and out-of-range addresses', () => {
    expect(() => decodeAddress(hex('00 02 23'), 0, 3)).toThrow(FrameError);
    expect(() => decodeAddress(hex('00 02 00 22 00'), 0, 5)).toThrow(FrameError);
    expect(() => decodeAddress(hex('02'), 0, 1)).toThrow(FrameError);
    expect(() => encodeAddress({ upper: 0x80 })).toThrow(DlmsEncodeError);
    expect(() => encodeAddress({ upper: 1, lower: 0x4000 })).toThrow(DlmsEncodeError);
    expect(() => encodeAddress({ upper: 1, length: 2 })).toThrow(DlmsEncodeError);
  });
});

describe('HDLC frames: hand-worked vectors', () => {
  it('SNRM from client 16 to server 1/17, 2-octet server address (published example)', () => {
    // 7E          opening flag
    // A0 08       format: 1010 (type 3) 0 (S) 000 | length 0x008 = 8 octets between the flags
    // 02 23       destination: server upper 1 (0x02, ext 0), lower 17 (0x23, ext 1)
    // 21          source: client 16 (16<<1 | 1)
    // 93          control: SNRM 100P0011 with P = 1
    // BD 64       FCS over A0 08 02 23 21 93, LSB first (no information field → no HCS)
    // 7E          closing flag
    // Published in u9n/dlms-cosem tests/test_hdlc/test_hdlc.py (TestSnrmFrame), commit 23f068ad.
    const bytes = encodeHdlcFrame(cmd({ kind: 'SNRM' }));
    expect(toHex(bytes)).toBe('7E A0 08 02 23 21 93 BD 64 7E');
    expect(crcOctets(bytes.subarray(1, 7))).toBe('BD 64');
    expect(decodeHdlcFrame(bytes)).toMatchObject({ kind: 'SNRM', pf: true, destination: { upper: 1, lower: 17, length: 2 }, source: { upper: 16, length: 1 } });
  });

  it('the same SNRM with a 4-octet server address, and to server 1 alone (7E A0 07 03 21 93 0F 01 7E)', () => {
    // A0 0A: two more address octets; 00 02 00 23: upper 1, lower 17 as 14-bit halves
    const four = encodeHdlcFrame(cmd({ kind: 'SNRM', destination: { upper: 1, lower: 17, length: 4 } }));
    expect(toHex(four)).toBe(`7E A0 0A 00 02 00 23 21 93 ${crcOctets(four.subarray(1, 9))} 7E`);
    expect(toHex(four)).toBe('7E A0 0A 00 02 00 23 21 93 18 71 7E');
    // 03: server upper 1 on one octet (1<<1 | 1); FCS 0x010F sent as 0F 01
    const one = encodeHdlcFrame(cmd({ kind: 'SNRM', destination: { upper: 1 } }));
    expect(toHex(one)).toBe('7E A0 07 03 21 93 0F 01 7E');
  });

  it('UA with negotiation parameters (published example) and with the defaults stated', () => {
    // 7E A0 1F     format, length 31
    // 21           destination: client 16
    // 02 23        source: server 1/17
    // 73           control: UA 011F0011 with F = 1
    // E6 C7        HCS over A0 1F 21 02 23 73
    // 81 80 12     format identifier, group identifier, group length 18
    // 05 01 9A     max info field length transmit = 154
    // 06 01 9A     max info field length receive = 154
    // 07 04 00000001  window size transmit = 1;  08 04 00000001  window size receive = 1
    // CC A2        FCS;  7E
    // Published in u9n/dlms-cosem tests/test_hdlc/test_hdlc.py (TestUAFrame), commit 23f068ad.
    const published = hex('7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E');
    const info = published.subarray(9, 30);
    expect(encodeHdlcFrame(rsp({ kind: 'UA', info }))).toEqual(published);
    expect(crcOctets(published.subarray(1, 7))).toBe('E6 C7');
    expect(crcOctets(published.subarray(1, 30))).toBe('CC A2');
    const defaults = encodeHdlcFrame(rsp({ kind: 'UA', info: hex('81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01') }));
    // Same header, hence the same HCS E6 C7; 0x80 = 128 octets
    expect(toHex(defaults)).toBe('7E A0 1F 21 02 23 73 E6 C7 81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01 53 3B 7E');
  });

  it('I-frame with an AARQ (published example) and a short AARQ-like payload', () => {
    // 7E A0 2C 02 23 21 | 10: I-frame RRR P SSS 0 = 000 1 000 0 → N(R)=0, P=1, N(S)=0
    // AF 9F: HCS | E6 E6 00: LLC command header | 60 1D ...: the AARQ | C5 E4: FCS | 7E
    // Published in u9n/dlms-cosem tests/test_hdlc/test_hdlc.py (TestInformationFrame), commit 23f068ad.
    const published = hex('7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E');
    const frame = decodeHdlcFrame(published);
    expect(frame).toMatchObject({ kind: 'I', ns: 0, nr: 0, pf: true, segmented: false });
    expect(encodeHdlcFrame(frame)).toEqual(published);

    // Hand vector: A0 12 = 18 octets; HCS C6 2A over A0 12 02 23 21 10; info E6 E6 00 60 03 A1 01 00
    const short = encodeHdlcFrame(cmd({ kind: 'I', ns: 0, nr: 0, info: hex('E6 E6 00 60 03 A1 01 00') }));
    expect(crcOctets(short.subarray(1, 7))).toBe('C6 2A');
    expect(crcOctets(short.subarray(1, 17))).toBe('D2 D4');
    expect(toHex(short)).toBe('7E A0 12 02 23 21 10 C6 2A E6 E6 00 60 03 A1 01 00 D2 D4 7E');
  });

  it('I-frame response with N(R)=1 (published) and the segmentation bit', () => {
    // 30 = 001 1 000 0: N(R)=1, F=1, N(S)=0. Published in u9n/dlms-cosem (TestInformationResponseFrame).
    const published = hex('7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007B86A7E');
    expect(decodeHdlcFrame(published)).toMatchObject({ kind: 'I', ns: 0, nr: 1, pf: true, source: SERVER });
    // A8: 1010 1 000 — S = 1
    const seg = encodeHdlcFrame(rsp({ kind: 'I', ns: 2, nr: 5, segmented: true, info: hex('E6 E7 00 C4') }));
    expect(seg[1]).toBe(0xa8);
    expect(seg[6]).toBe((5 << 5) | 0x10 | (2 << 1)); // 0xB4
    expect(decodeHdlcFrame(seg)).toMatchObject({ kind: 'I', ns: 2, nr: 5, segmented: true });
  });

  it('RR with N(R), DISC, UA and DM', () => {
    // RR: RRR P 0001 with N(R)=1, P=1 → 0x31; FCS A5 E2
    expect(toHex(encodeHdlcFrame(cmd({ kind: 'RR', nr: 1 })))).toBe('7E A0 08 02 23 21 31 A5 E2 7E');
    // DISC: 010P0011 → 0x53; FCS B1 A2
    expect(toHex(encodeHdlcFrame(cmd({ kind: 'DISC' })))).toBe('7E A0 08 02 23 21 53 B1 A2 7E');
    // UA without information field: 0x73; FCS 7A 43
    expect(toHex(encodeHdlcFrame(rsp({ kind: 'UA' })))).toBe('7E A0 08 21 02 23 73 7A 43 7E');
    // DM: 000F1111 → 0x1F; FCS 10 EA
    expect(toHex(encodeHdlcFrame(rsp({ kind: 'DM' })))).toBe('7E A0 08 21 02 23 1F 10 EA 7E');
    for (const f of ['7E A0 08 02 23 21 31 A5 E2 7E', '7E A0 08 02 23 21 53 B1 A2 7E']) {
      expect(crcOctets(hex(f).subarray(1, 7))).toBe(f.slice(21, 26));
    }
  });

  it('round-trips every frame kind', () => {
    const info = hex('E6 E6 00 01 02 03');
    const frames: HdlcFrame[] = [
      cmd({ kind: 'I', ns: 7, nr: 3, info, segmented: true }),
      cmd({ kind: 'RR', nr: 6, pf: false }),
      cmd({ kind: 'RNR', nr: 2 }),
      cmd({ kind: 'SNRM', info: hex('81 80 06 05 01 80 06 01 80') }),
      cmd({ kind: 'DISC' }),
      rsp({ kind: 'UA' }),
      rsp({ kind: 'DM', pf: false }),
      rsp({ kind: 'FRMR', info: hex('10 00 08') }),
      rsp({ kind: 'UI', info }),
    ];
    for (const f of frames) {
      const decoded = decodeHdlcFrame(encodeHdlcFrame(f));
      expect(decoded).toMatchObject({ ...f, destination: { upper: f.destination.upper }, source: { upper: f.source.upper } });
      expect(encodeHdlcFrame(decoded)).toEqual(encodeHdlcFrame(f));
    }
  });
});

describe('HDLC frames: bad input gives FrameError', () => {
  const good = hex('7E A0 12 02 23 21 10 C6 2A E6 E6 00 60 03 A1 01 00 D2 D4 7E');
  const mutate = (i: number, v: number): Uint8Array => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  it.each([
    ['truncated', good.subarray(0, 8), /truncated/],
    ['missing flag', good.subarray(0, good.length - 1), /flag|length/],
    ['wrong format type', mutate(1, 0x90), /type 3/],
    ['wrong length field', mutate(2, 0x13), /length field/],
    ['bad FCS', mutate(18, 0x00), /FCS/],
    ['bad HCS (FCS recomputed)', (() => { const b = mutate(7, 0x00); const c = fcs16(b, 1, 17); b[17] = c & 0xff; b[18] = c >> 8; return b; })(), /HCS/],
  ])('%s', (_name, bytes, message) => {
    expect(() => decodeHdlcFrame(bytes)).toThrow(FrameError);
    expect(() => decodeHdlcFrame(bytes)).toThrow(message);
  });

  it('rejects an unsupported control field (REJ), stray octets and information in RR', () => {
    const withControl = (c: number, extra: number[] = []): Uint8Array => {
      const body = [0xa0, 0, 0x02, 0x23, 0x21, c, ...extra];
      body[1] = body.length + 2;
      const crc = fcs16(Uint8Array.from(body));
      return Uint8Array.from([0x7e, ...body, crc & 0xff, crc >> 8, 0x7e]);
    };
    expect(() => decodeHdlcFrame(withControl(0x19))).toThrow(/control/); // REJ
    expect(() => decodeHdlcFrame(withControl(0x93, [0x01]))).toThrow(/stray/);
    expect(() => encodeHdlcFrame(cmd({ kind: 'RR', nr: 0, info: hex('01') }))).toThrow(DlmsEncodeError);
    expect(() => encodeHdlcFrame(cmd({ kind: 'I', ns: 8, nr: 0 }))).toThrow(DlmsEncodeError);
    expect(() => encodeHdlcFrame(cmd({ kind: 'UI', info: new Uint8Array(2040) }))).toThrow(DlmsEncodeError);
  });
});
