/**
 * Hostile input to decodeApdu: truncated, oversized, wrong-length and garbage APDUs must
 * give a DlmsDecodeError (never another error, never a hang), and a seeded generated-input
 * run throws 25,000 random and mutated APDUs at it.
 */
import { describe, expect, it } from 'vitest';
import { decodeApdu, encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';
import { ACSE_SAMPLES, XDLMS_SAMPLES } from './samples.js';
import { decodeErrorOf, decodeOrTypedError, hex, mutate, prng, toHex } from './helpers.js';

const decodeError = (bytes: Uint8Array): DlmsDecodeError => decodeErrorOf(() => decodeApdu(bytes), bytes);

describe('decodeApdu refuses bad input with DlmsDecodeError', () => {
  it('refuses an empty input', () => {
    expect(decodeError(new Uint8Array(0)).message).toMatch(/empty/);
  });

  it('refuses every truncation of every sample', () => {
    for (const apdu of XDLMS_SAMPLES) {
      const bytes = encodeApdu(apdu);
      // invocation-counter-error without its counter is the pre-Ed. 9 form, so that one cut is valid.
      const validCut = apdu.type === 'exception-response' && apdu.invocationCounter !== undefined ? 3 : -1;
      for (let n = 0; n < bytes.length; n++) {
        if (n === validCut) continue;
        const e = decodeError(bytes.subarray(0, n));
        expect(e.layer).toBe('apdu');
      }
    }
  });

  it('refuses trailing bytes after a complete APDU (wrong length)', () => {
    const e = decodeError(hex('C0 01 C1 00 08 00 00 01 00 00 FF 02 00', 'FF'));
    expect(e.message).toMatch(/1 byte\(s\) after the end of the get-request-normal/);
  });

  it('refuses an APDU longer than the limit before reading it', () => {
    const big = new Uint8Array(70_000);
    big[0] = 0xc4;
    expect(decodeError(big).message).toMatch(/exceeds the limit of 65535/);
    expect(() => decodeApdu(hex('C0 02 C1 00 00 00 01'), { maxApduBytes: 4 })).toThrow(DlmsDecodeError);
  });

  it('refuses a list count above maxListItems without looping over it', () => {
    // get-response-with-list claiming 0x10000 results
    const e = decodeError(hex('C4 03 C1', '83 01 00 00'));
    expect(e.message).toMatch(/exceeds the limit of 1024/);
  });

  it('refuses an octet-string length longer than the input', () => {
    // get-response-with-datablock whose raw-data claims 0x200 octets but carries 2
    expect(decodeError(hex('C4 02 C1 01 00000001 00 82 02 00 AA BB')).message).toMatch(/exceeds the limit/);
  });

  it('refuses unknown choices and result codes, naming the field', () => {
    expect(decodeError(hex('C0 04 C1')).message).toMatch(/unknown get-request choice 4/);
    expect(decodeError(hex('C4 01 C1 01 05')).message).toMatch(/unknown data-access-result 5/);
    expect(decodeError(hex('C7 01 C1 07 00')).message).toMatch(/unknown action-result 7/);
    expect(decodeError(hex('C0 01 C1 00 08 00 00 01 00 00 FF 02 02')).message).toMatch(/presence flag/);
    expect(decodeError(hex('D8 03 01')).message).toMatch(/state-error/);
  });

  it('names ciphered and SN APDUs instead of calling them garbage', () => {
    expect(decodeError(hex('C8 10 30 00 00 00 01')).message).toMatch(/glo-get-request/);
    expect(decodeError(hex('05 01 02 00 08')).message).toMatch(/SN read-request/);
    expect(decodeError(hex('42')).message).toMatch(/unknown APDU tag 0x42/);
  });

  it('bounds the nesting of Data inside an APDU', () => {
    // get-response-normal whose data is 40 nested one-element arrays
    const nested = hex('C4 01 C1 00', '01 01'.repeat(40), '00');
    expect(decodeError(nested).message).toMatch(/nesting deeper than/);
  });
});

describe('generated input', () => {
  it('25,000 random and mutated APDUs each decode or throw DlmsDecodeError, and what decodes re-encodes stably', () => {
    const seeds = [...XDLMS_SAMPLES, ...ACSE_SAMPLES].map(encodeApdu);
    // FUZZ_SEED / FUZZ_ITERATIONS let a longer run or a failing seed be replayed; the default is fixed.
    const rnd = prng(Number(process.env.FUZZ_SEED ?? 0x5eed_a9d0));
    let decoded = 0;
    for (let i = 0, n = Number(process.env.FUZZ_ITERATIONS ?? 25_000); i < n; i++) {
      const input = mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd);
      const apdu = decodeOrTypedError(() => decodeApdu(input), input);
      if (apdu === undefined) continue;
      decoded++;
      // Whatever we accept we can write, and what we write reads back the same.
      expect(decodeApdu(encodeApdu(apdu)), toHex(input)).toEqual(apdu);
    }
    // The mutations must not all be rejected outright, or the test proves little.
    expect(decoded).toBeGreaterThan(1000);
  });
});
