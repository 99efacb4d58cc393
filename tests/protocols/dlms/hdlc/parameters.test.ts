import { describe, expect, it } from 'vitest';
import {
  acceptAnswer,
  answerProposal,
  decodeHdlcParameters,
  DEFAULT_HDLC_PARAMETERS,
  encodeHdlcParameters,
} from '../../../../protocols/dlms/hdlc/parameters.js';
import { DlmsEncodeError, FrameError } from '../../../../protocols/dlms/errors.js';
import { hex, toHex } from './reference.js';

describe('SNRM/UA parameter negotiation (IEC 62056-46 §6.4.4.4.3.2)', () => {
  it('encodes the published UA parameter block byte for byte', () => {
    // 81 format id | 80 group id | 12 group length (18) | 05 01 9A | 06 01 9A | 07 04 00000001 | 08 04 00000001
    const p = { maxInfoTransmit: 154, maxInfoReceive: 154, windowTransmit: 1, windowReceive: 1 };
    expect(toHex(encodeHdlcParameters(p))).toBe('81 80 12 05 01 9A 06 01 9A 07 04 00 00 00 01 08 04 00 00 00 01');
    expect(decodeHdlcParameters(encodeHdlcParameters(p))).toEqual(p);
  });

  it('uses two octets above 255 and omits defaults on request', () => {
    const p = { maxInfoTransmit: 512, maxInfoReceive: 128, windowTransmit: 1, windowReceive: 7 };
    // 05 02 02 00 = 512; receive 128 and window transmit 1 are defaults; 08 04 00000007
    expect(toHex(encodeHdlcParameters(p, { omitDefaults: true }))).toBe('81 80 0A 05 02 02 00 08 04 00 00 00 07');
    expect(encodeHdlcParameters(DEFAULT_HDLC_PARAMETERS, { omitDefaults: true })).toHaveLength(0);
  });

  it('reads absent parameters as the defaults (128 octets, window 1) and accepts 1-, 2- and 4-octet values', () => {
    expect(decodeHdlcParameters(new Uint8Array(0))).toEqual(DEFAULT_HDLC_PARAMETERS);
    expect(decodeHdlcParameters(hex('81 80 03 06 01 40'))).toEqual({ ...DEFAULT_HDLC_PARAMETERS, maxInfoReceive: 64 });
    expect(decodeHdlcParameters(hex('81 80 0D 05 04 00 00 01 00 07 01 03 06 02 00 FF'))).toEqual({
      maxInfoTransmit: 256, maxInfoReceive: 255, windowTransmit: 3, windowReceive: 1,
    });
    // an unknown parameter (0x09) is skipped
    expect(decodeHdlcParameters(hex('81 80 06 09 01 00 05 01 40')).maxInfoTransmit).toBe(64);
  });

  it.each([
    ['wrong format identifier', '82 80 03 05 01 80'],
    ['wrong group identifier', '81 81 03 05 01 80'],
    ['group length too long', '81 80 09 05 01 80'],
    ['group length too short', '81 80 02 05 01 80'],
    ['value length 5', '81 80 07 05 05 00 00 00 00 80'],
    ['value length 0', '81 80 02 05 00'],
    ['truncated value', '81 80 03 05 02 01'],
    ['window 0', '81 80 06 07 04 00 00 00 00'],
    ['max info 2', '81 80 03 05 01 02'],
  ])('rejects %s with FrameError', (_name, text) => {
    expect(() => decodeHdlcParameters(hex(text))).toThrow(FrameError);
  });

  it('negotiates the smaller value per direction, each side from its own point of view', () => {
    const client = { maxInfoTransmit: 512, maxInfoReceive: 1024, windowTransmit: 1, windowReceive: 7 };
    const server = { maxInfoTransmit: 256, maxInfoReceive: 2030, windowTransmit: 1, windowReceive: 1 };
    const ua = answerProposal(client, server);
    // server transmits ≤ what the client receives; server receives ≤ what the client transmits
    expect(ua).toEqual({ maxInfoTransmit: 256, maxInfoReceive: 512, windowTransmit: 1, windowReceive: 1 });
    expect(acceptAnswer(ua, client)).toEqual({ maxInfoTransmit: 512, maxInfoReceive: 256, windowTransmit: 1, windowReceive: 1 });
    // a peer announcing more than the type-3 frame can hold is clamped, not refused
    expect(answerProposal({ ...client, maxInfoReceive: 0xffff }, { ...server, maxInfoTransmit: 0xffff }).maxInfoTransmit).toBe(2030);
    expect(() => encodeHdlcParameters({ ...server, windowTransmit: 8 })).toThrow(DlmsEncodeError);
  });
});
