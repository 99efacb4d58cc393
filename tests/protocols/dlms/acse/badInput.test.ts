/**
 * Hostile input to the ACSE decoders: every failure is a DlmsDecodeError of layer `acse`,
 * and a seeded run throws 20,000 random and mutated AARQ/AARE/RLRQ/RLRE at each decoder.
 */
import { describe, expect, it } from 'vitest';
import { decodeAarq, encodeAarq } from '../../../../protocols/dlms/acse/aarq.js';
import { decodeAare, encodeAare } from '../../../../protocols/dlms/acse/aare.js';
import { decodeRlre, decodeRlrq } from '../../../../protocols/dlms/acse/release.js';
import { encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import { DlmsEncodeError, type DlmsDecodeError } from '../../../../protocols/dlms/errors.js';
import { APPLICATION_CONTEXT } from '../../../../protocols/dlms/acse/names.js';
import { userDiagnostic } from '../../../../protocols/dlms/acse/diagnostics.js';
import { ACSE_SAMPLES } from '../apdu/samples.js';
import { decodeErrorOf, decodeOrTypedError, hex, mutate, prng, toHex } from '../apdu/helpers.js';

const DECODERS = [decodeAarq, decodeAare, decodeRlrq, decodeRlre] as const;

const acseError = (decode: (b: Uint8Array) => unknown, bytes: Uint8Array): DlmsDecodeError =>
  decodeErrorOf(() => decode(bytes), bytes);

describe('ACSE decoders refuse bad input with DlmsDecodeError', () => {
  it('refuses every truncation of every sample', () => {
    for (const apdu of ACSE_SAMPLES) {
      const bytes = encodeApdu(apdu);
      const decode = DECODERS[(bytes[0] ?? 0) - 0x60]!;
      for (let n = 0; n < bytes.length; n++) expect(acseError(decode, bytes.subarray(0, n)).layer).toBe('acse');
    }
  });

  it('refuses the wrong APDU, trailing bytes and a missing mandatory field', () => {
    expect(acseError(decodeAarq, hex('61 00')).message).toMatch(/not an AARQ/);
    expect(acseError(decodeRlrq, hex('62 00 00')).message).toMatch(/trailing/);
    expect(acseError(decodeAarq, hex('60 00')).message).toMatch(/application-context-name missing/);
    expect(acseError(decodeAare, hex('61 0B A1 09 06 07 60 85 74 05 08 01 01')).message).toMatch(/result missing/);
  });

  it('refuses a repeated field, an indefinite length and a high-tag-number form', () => {
    const ctx = 'A1 09 06 07 60 85 74 05 08 01 01';
    expect(acseError(decodeAarq, hex('60 16', ctx, ctx)).message).toMatch(/appears twice/);
    expect(acseError(decodeAarq, hex('60 80', ctx, '00 00')).message).toMatch(/length form/);
    expect(acseError(decodeAarq, hex('7F 01 00')).message).toMatch(/high-tag-number/);
  });

  it('refuses a bad conformance header, an unknown result and an unknown release reason', () => {
    const ctx = 'A1 09 06 07 60 85 74 05 08 01 01';
    expect(acseError(decodeAarq, hex('60 1D', ctx, 'BE 10 04 0E 01 00 00 00 06 5F 1F 05 00 00 7E 1F 04 B0')).message).toMatch(/conformance/);
    expect(acseError(decodeAare, hex('61 17', ctx, 'A2 03 02 01 03 A3 05 A1 03 02 01 00')).message).toMatch(/unknown association result 3/);
    expect(acseError(decodeRlrq, hex('62 03 80 01 05')).message).toMatch(/unknown reason 5/);
  });

  it('refuses an OID whose sub-identifier overflows 32 bits or runs past 5 octets', () => {
    // application-context-name 2.16.756.5.<2^32>: sub-identifier 90 80 80 80 00
    expect(acseError(decodeAarq, hex('60 0D A1 0B 06 09 60 85 74 05 90 80 80 80 00')).message).toMatch(/beyond 32 bits/);
    expect(acseError(decodeAarq, hex('60 0E A1 0C 06 0A 60 85 74 05 80 80 80 80 80 01')).message).toMatch(/longer than 5 octets/);
  });

  it('refuses bytes after the xDLMS APDU inside user-information', () => {
    const ctx = 'A1 09 06 07 60 85 74 05 08 01 01';
    expect(acseError(decodeAarq, hex('60 1E', ctx, 'BE 11 04 0F 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0 FF')).message).toMatch(/after the xDLMS APDU/);
  });

  it('refuses to encode an OID that is not one and a conformance wider than 24 bits', () => {
    expect(() => encodeAarq({ applicationContext: '2', authenticationRequired: false })).toThrow(DlmsEncodeError);
    expect(() => encodeAare({
      applicationContext: APPLICATION_CONTEXT['logical-name'], result: 'accepted', diagnostic: userDiagnostic('null'),
      authenticationRequired: false,
      userInformation: { type: 'initiate-response', negotiatedDlmsVersion: 6, negotiatedConformance: 0x1000000, serverMaxReceivePduSize: 1, vaaName: 7 },
    })).toThrow(DlmsEncodeError);
  });
});

describe('generated input', () => {
  it('20,000 random and mutated inputs to each ACSE decoder decode or throw DlmsDecodeError', () => {
    const seeds = ACSE_SAMPLES.map(encodeApdu);
    const rnd = prng(Number(process.env.FUZZ_SEED ?? 0xac5e_0001));
    let decoded = 0;
    for (let i = 0, n = Number(process.env.FUZZ_ITERATIONS ?? 20_000); i < n; i++) {
      const input = mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd);
      for (const decode of DECODERS) {
        const value = decodeOrTypedError(() => decode(input), input);
        if (value === undefined) continue;
        decoded++;
        // A decoded ACSE APDU must be writable again and read back the same.
        const again = encodeApdu(value);
        expect(decode(again), toHex(input)).toEqual(value);
      }
    }
    expect(decoded).toBeGreaterThan(500);
  });
});
