/**
 * Ded-ciphering (IEC 62056-5-3 §8, Green Book §9.2.7.2.2): the ded-X tags, the dedicated key as
 * EK (the AK stays global), the glo-ciphered InitiateRequest that carries the key (byte for byte,
 * the GCM tag computed with node:crypto), and decoders fed thousands of mutated ded- APDUs.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeUserInformation, readUserInformation, type InitiateRequest } from '../../../../protocols/dlms/acse/initiate.js';
import { ByteReader } from '../../../../protocols/dlms/bytes.js';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';
import { DED_TAG, cipherApdu, decipherApdu, parseCipheredApdu } from '../../../../protocols/dlms/security/ciphering.js';
import { DlmsSecurityError } from '../../../../protocols/dlms/security/securityError.js';
import { securityControlFor } from '../../../../protocols/dlms/security/securityHeader.js';
import { hex } from '../apdu/helpers.js';
import { AK, CLIENT_TITLE, EK, GET_CLOCK_TIME, SERVER_TITLE, reasonOf } from './helpers.js';

const DEDICATED = hex('00112233445566778899AABBCCDDEEFF');
const AUTH_ENC = securityControlFor('auth-enc');

/** AES-128-GCM by node:crypto, as suite 0 uses it: IV = title ‖ IC, AAD = SC ‖ AK, tag cut to 12 octets. */
function gcm(key: Uint8Array, title: Uint8Array, ic: number, plain: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array } {
  const iv = Buffer.concat([title, Buffer.from([ic >>> 24, (ic >>> 16) & 0xff, (ic >>> 8) & 0xff, ic & 0xff])]);
  const c = createCipheriv('aes-128-gcm', key, iv);
  c.setAAD(Buffer.concat([Buffer.of(0x30), AK]));
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  return { ciphertext: Uint8Array.from(ciphertext), tag: Uint8Array.from(c.getAuthTag().subarray(0, 12)) };
}

describe('ded-ciphered tags', () => {
  it('maps each service to its ded- tag (ded-get-request [208] .. ded-action-response [215]) and has no ded- initiate', () => {
    expect(DED_TAG).toEqual({ 0xc0: 0xd0, 0xc1: 0xd1, 0xc2: 0xd2, 0xc3: 0xd3, 0xc4: 0xd4, 0xc5: 0xd5, 0xc7: 0xd7 });
    expect(reasonOf(() => cipherApdu(hex('01 00 00 00 06 5F1F0400 007E1F 04B0'), {
      sc: AUTH_ENC, systemTitle: CLIENT_TITLE, invocationCounter: 1, ek: DEDICATED, ak: AK, form: 'ded',
    }))).toBe('bad-parameter');
  });

  it('ded-ciphers a get-request with the dedicated key: D0, length, SC ‖ IC ‖ ciphertext ‖ tag', () => {
    const out = cipherApdu(GET_CLOCK_TIME, { sc: AUTH_ENC, systemTitle: CLIENT_TITLE, invocationCounter: 0x01234567, ek: DEDICATED, ak: AK, form: 'ded' });
    const { ciphertext, tag } = gcm(DEDICATED, CLIENT_TITLE, 0x01234567, GET_CLOCK_TIME);
    // D0 ded-get-request | 1E length (5 + 13 + 12 = 30) | 30 SC auth-enc suite 0 | 01234567 IC | C | T
    expect(ciphertext).toHaveLength(GET_CLOCK_TIME.length);
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.concat([hex('D0 1E 30 01234567'), ciphertext, tag]).toString('hex'));
    expect(parseCipheredApdu(out)).toMatchObject({ form: 'ded', tag: 0xd0, plainTag: 0xc0 });
  });

  it('deciphers a ded- APDU only with the dedicated key: the global EK fails authentication, no key is a parameter error', () => {
    const out = cipherApdu(GET_CLOCK_TIME, { sc: AUTH_ENC, systemTitle: SERVER_TITLE, invocationCounter: 9, ek: DEDICATED, ak: AK, form: 'ded' });
    const opened = decipherApdu(out, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: DEDICATED });
    expect(opened.form).toBe('ded');
    expect(opened.plaintext).toEqual(GET_CLOCK_TIME);
    // Passing the global EK where the dedicated key belongs: the GCM tag does not verify.
    expect(reasonOf(() => decipherApdu(out, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: EK }))).toBe('tag-mismatch');
    expect(reasonOf(() => decipherApdu(out, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK }))).toBe('bad-parameter');
  });

  it('keeps glo- APDUs on the global EK when a dedicated key is known', () => {
    const glo = cipherApdu(GET_CLOCK_TIME, { sc: AUTH_ENC, systemTitle: SERVER_TITLE, invocationCounter: 9, ek: EK, ak: AK });
    expect(glo[0]).toBe(0xc8);
    expect(decipherApdu(glo, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: DEDICATED }).form).toBe('glo');
  });

  it('refuses a ded-get-request tag that carries another APDU', () => {
    const setResponse = hex('C5 01 05 00');
    const forged = cipherApdu(setResponse, { sc: AUTH_ENC, systemTitle: SERVER_TITLE, invocationCounter: 9, ek: DEDICATED, ak: AK, form: 'ded' });
    forged[0] = 0xd0;
    expect(reasonOf(() => decipherApdu(forged, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: DEDICATED }))).toBe('bad-header');
  });
});

describe('InitiateRequest with a dedicated key', () => {
  const initiate: InitiateRequest = {
    type: 'initiate-request', dedicatedKey: DEDICATED, responseAllowed: true,
    proposedDlmsVersion: 6, proposedConformance: 0x007e1f, clientMaxReceivePduSize: 1200,
  };
  const PLAIN = hex(
    '01', //                                  initiate-request tag
    '01 10 00112233445566778899AABBCCDDEEFF', // dedicated-key present, A-XDR length 16, the key
    '00', //                                  response-allowed: DEFAULT (TRUE)
    '00', //                                  proposed-quality-of-service absent
    '06', //                                  proposed-dlms-version-number 6
    '5F1F 04 00 007E1F', //                   conformance [APPLICATION 31], length 4, 0 unused bits, 24 bits
    '04B0', //                                client-max-receive-pdu-size 1200
  );

  it('encodes the key as an OPTIONAL OCTET STRING right after the tag, and decodes it back', () => {
    expect(encodeUserInformation(initiate)).toEqual(PLAIN);
    expect(readUserInformation(new ByteReader(PLAIN, 'acse'))).toEqual(initiate);
  });

  it('travels as a glo-initiate-request [33] under the global EK, byte for byte', () => {
    const out = cipherApdu(encodeUserInformation(initiate), { sc: AUTH_ENC, systemTitle: CLIENT_TITLE, invocationCounter: 0x01234567, ek: EK, ak: AK });
    const { ciphertext, tag } = gcm(EK, CLIENT_TITLE, 0x01234567, PLAIN);
    expect(ciphertext).toHaveLength(31);
    // 21 glo-initiate-request | 30 length (5 + 31 + 12 = 48) | 30 SC | 01234567 IC | 31 octets ciphertext | 12 octets tag
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.concat([hex('21 30 30 01234567'), ciphertext, tag]).toString('hex'));
    // The key is not readable on the wire.
    expect(Buffer.from(out).includes(Buffer.from(DEDICATED))).toBe(false);
    expect(decipherApdu(out, { peerSystemTitle: CLIENT_TITLE, ek: EK, ak: AK }).plaintext).toEqual(PLAIN);
  });

  it('refuses a dedicated key longer than 32 octets when decoding', () => {
    const long = hex('01 01 21', '00'.repeat(33), '00 00 06 5F1F0400 007E1F 04B0');
    expect(() => readUserInformation(new ByteReader(long, 'acse'))).toThrow(DlmsDecodeError);
  });
});

/** xorshift32: a small seeded PRNG so every run throws the same inputs. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

describe('ded- decoders under generated input', () => {
  it('answer 20,000 random and mutated ded- APDUs with a value or a typed error, nothing else', () => {
    const next = prng(0xded);
    const valid = Object.keys(DED_TAG).map((plain) => {
      const body = Uint8Array.of(Number(plain), 1, 5, 0, 8, 0, 0, 1, 0, 0, 255, 2, 0);
      return cipherApdu(body, { sc: AUTH_ENC, systemTitle: SERVER_TITLE, invocationCounter: 7, ek: DEDICATED, ak: AK, form: 'ded' });
    });
    let values = 0;
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = valid[next() % valid.length] ?? Uint8Array.of();
      let input: Uint8Array;
      switch (next() % 4) {
        case 0: { // bit flips
          input = base.slice();
          for (let k = 0; k <= next() % 3; k++) {
            const at = next() % input.length;
            input[at] = (input[at] ?? 0) ^ (1 << (next() % 8));
          }
          break;
        }
        case 1: input = base.subarray(0, next() % base.length); break; // truncation
        case 2: { // length-field tampering
          input = base.slice();
          input[1] = next() & 0xff;
          break;
        }
        default: input = Uint8Array.from({ length: next() % 64 }, () => next() & 0xff); // garbage
      }
      try {
        parseCipheredApdu(input);
        decipherApdu(input, { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, dedicatedKey: DEDICATED });
        values++;
      } catch (e) {
        if (!(e instanceof DlmsDecodeError) && !(e instanceof DlmsSecurityError)) throw e;
        errors++;
      }
    }
    expect(values + errors).toBe(20_000);
    expect(errors).toBeGreaterThan(0);
  });

  it('answer 20,000 mutated InitiateRequests carrying a dedicated key with a value or a DlmsDecodeError', () => {
    const next = prng(0x1417);
    const valid = encodeUserInformation({
      type: 'initiate-request', dedicatedKey: DEDICATED, responseAllowed: true, proposedDlmsVersion: 6, proposedConformance: 0x007e1f, clientMaxReceivePduSize: 1200,
    });
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = valid.slice(0, valid.length - (next() % 3 === 0 ? next() % valid.length : 0));
      const flips = next() % 3;
      for (let k = 0; k < flips && input.length > 0; k++) {
        const at = next() % input.length;
        input[at] = (input[at] ?? 0) ^ (1 << (next() % 8));
      }
      // Length-field tampering: the dedicated key's A-XDR length.
      if (next() % 4 === 0 && input.length > 2) input[2] = next() & 0xff;
      try {
        readUserInformation(new ByteReader(input, 'acse'));
        decoded++;
      } catch (e) {
        if (!(e instanceof DlmsDecodeError)) throw e;
        refused++;
      }
    }
    expect(decoded + refused).toBe(20_000);
    expect(refused).toBeGreaterThan(0);
    expect(decoded).toBeGreaterThan(0);
  });
});
