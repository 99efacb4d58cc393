/**
 * Glo-ciphered and general-glo-ciphered APDUs (IEC 62056-5-3 §8), framing checked by hand,
 * content checked against the Green Book examples (quoted in u9n/dlms-cosem
 * tests/test_security.py and tests/test_xdlms/test_initiate.py) and against node:crypto.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  GLO_TAG, cipherApdu, decipherApdu, parseCipheredApdu, type CipherContext, type DecipherContext,
} from '../../../../protocols/dlms/security/ciphering.js';
import { securityControlFor, type Protection } from '../../../../protocols/dlms/security/securityHeader.js';
import { DlmsSecurityError } from '../../../../protocols/dlms/security/securityError.js';
import { DlmsDecodeError } from '../../../../protocols/dlms/errors.js';
import { decodeApdu, encodeApdu } from '../../../../protocols/dlms/apduCodec.js';
import type { DataNotification } from '../../../../protocols/dlms/apdu/notification.js';
import { hex, mutate, prng, toHex } from '../apdu/helpers.js';
import { AK, EK, GET_CLOCK_TIME, SERVER_TITLE, reasonOf } from './helpers.js';

/** Green Book's xDLMS InitiateRequest with a dedicated key 00112233…EEFF, conformance 007E1F, PDU 1200. */
const INITIATE_REQUEST = hex('01', '01 10 00112233445566778899AABBCCDDEEFF', '00 00', '06', '5F1F04 00 007E1F', '04B0');

const send = (protection: Protection, over: Partial<CipherContext> = {}): CipherContext => ({
  sc: securityControlFor(protection), systemTitle: SERVER_TITLE, invocationCounter: 0x01234567, ek: EK, ak: AK, ...over,
});
const receive: DecipherContext = { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK };

describe('glo-ciphered tags', () => {
  it('map each plain xDLMS tag to its glo- form (IEC 62056-5-3 §8)', () => {
    expect(GLO_TAG).toEqual({
      0x01: 0x21, 0x08: 0x28, 0x0e: 0x2e, 0xc0: 0xc8, 0xc1: 0xc9, 0xc2: 0xca, 0xc3: 0xcb, 0xc4: 0xcc, 0xc5: 0xcd, 0xc7: 0xcf,
    });
  });
});

describe('cipherApdu / decipherApdu, service-specific glo-ciphering', () => {
  it('produces the Green Book ciphered glo-get-request', () => {
    expect(toHex(cipherApdu(GET_CLOCK_TIME, send('auth-enc')))).toBe(toHex(hex(
      'C8', //                                                           glo-get-request [200]
      '1E', //                                                           A-XDR length 30 = 5 + 13 + 12
      '30 01234567', //                                                  SC (A+E, suite 0) ‖ IC
      '411312FF935A47566827C467BC', '7D825C3BE4A77C3FCC056B6B', //       ciphertext ‖ 12-octet tag
    )));
  });

  it('produces the Green Book glo-initiate-request', () => {
    expect(toHex(cipherApdu(INITIATE_REQUEST, send('auth-enc')))).toBe(toHex(hex(
      '21', //                                                           glo-initiate-request [33]
      '30', //                                                           length 48 = 5 + 31 + 12
      '30 01234567',
      '801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68', // 31 octets of ciphertext
      '41DB204D39EE6FDB8E356855', //                                     tag
    )));
  });

  it('deciphers them back to the plain APDU and reports header and sender', () => {
    const out = decipherApdu(hex('C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B'), receive);
    expect(out).toEqual({
      form: 'glo', systemTitle: SERVER_TITLE, plaintext: GET_CLOCK_TIME,
      header: { sc: securityControlFor('auth-enc'), invocationCounter: 0x01234567 }, trailing: 0,
    });
    expect(decodeApdu(out.plaintext).type).toBe('get-request-normal');
  });

  it('round-trips every glo- form under every protection level', () => {
    for (const plainTag of Object.keys(GLO_TAG).map(Number)) {
      const plain = Uint8Array.from([plainTag, 1, 2, 3]);
      for (const p of ['auth', 'enc', 'auth-enc'] as const) {
        const ciphered = cipherApdu(plain, send(p));
        expect(ciphered[0]).toBe(GLO_TAG[plainTag]);
        expect(decipherApdu(ciphered, receive).plaintext).toEqual(plain);
      }
    }
  });

  it('uses the long A-XDR length form for contents of 128 octets and more', () => {
    const plain = Uint8Array.from([0xc4, ...new Uint8Array(200)]);
    const ciphered = cipherApdu(plain, send('auth-enc'));
    expect(toHex(ciphered.subarray(0, 3))).toBe('CC 81 DA'); // 0x81 then 218 = 5 + 201 (the APDU) + 12
    expect(ciphered.length).toBe(3 + 218);
    expect(decipherApdu(ciphered, receive).plaintext).toEqual(plain);
  });

  it('refuses a glo- APDU whose content is another service (plain tag mismatch)', () => {
    const content = cipherApdu(Uint8Array.from([0xc4, 1, 2]), send('auth-enc')).subarray(1);
    const forged = Uint8Array.from([0xc8, ...content]); // glo-get-request carrying a get-response
    expect(reasonOf(() => decipherApdu(forged, receive))).toBe('bad-header');
  });

  it('refuses to glo-cipher an APDU without a glo- form when asked explicitly', () => {
    expect(reasonOf(() => cipherApdu(hex('0F 00000001 00 12 0011'), send('auth-enc', { form: 'glo' })))).toBe('bad-parameter');
  });
});

describe('general-glo-ciphering and ciphered data-notifications', () => {
  const notification: DataNotification = {
    type: 'data-notification',
    invoke: { invokeId: 1, selfDescriptive: false, breakOnError: false, confirmed: false, highPriority: false },
    body: { type: 'long-unsigned', value: 17 },
  };
  const plain = encodeApdu(notification);

  it('frames the data-notification as DB ‖ len 08 ‖ system title ‖ len ‖ SC ‖ IC ‖ C ‖ T', () => {
    expect(toHex(plain)).toBe(toHex(hex('0F', '00000001', '00', '12 0011'))); // tag, invoke id, no date-time, long-unsigned 17
    const ciphered = cipherApdu(plain, send('auth-enc', { invocationCounter: 7 }));
    // Expected content from node:crypto directly: IV = title ‖ 00000007, AAD = 30 ‖ AK.
    const c = createCipheriv('aes-128-gcm', EK, hex('4D4D4D0000BC614E', '00000007'));
    c.setAAD(Uint8Array.from([0x30, ...AK]));
    const ct = Buffer.concat([c.update(plain), c.final()]);
    const tag = c.getAuthTag().subarray(0, 12);
    expect(toHex(ciphered)).toBe(toHex(Uint8Array.from([
      0xdb, //                                       general-glo-ciphering [219]
      0x08, ...SERVER_TITLE, //                      system-title OCTET STRING
      5 + plain.length + 12, //                      ciphered-content length
      0x30, 0x00, 0x00, 0x00, 0x07, ...ct, ...tag, // SC ‖ IC ‖ C ‖ T
    ])));
  });

  it('deciphers it with the title taken from the APDU and decodes the notification', () => {
    const ciphered = cipherApdu(plain, send('auth-enc'));
    const out = decipherApdu(ciphered, { ek: EK, ak: AK });
    expect(out.form).toBe('general-glo');
    expect(out.systemTitle).toEqual(SERVER_TITLE);
    expect(decodeApdu(out.plaintext)).toEqual(notification);
  });

  it('rejects a general-glo APDU from another system title than the association expects', () => {
    const ciphered = cipherApdu(plain, send('auth-enc'));
    expect(reasonOf(() => decipherApdu(ciphered, { ...receive, peerSystemTitle: hex('4D4D4D0000000001') }))).toBe('system-title-mismatch');
    // A forged title in the APDU changes the IV: the tag no longer verifies.
    const forged = Uint8Array.from(ciphered);
    forged[9]! ^= 0x01;
    expect(reasonOf(() => decipherApdu(forged, { ek: EK, ak: AK }))).toBe('tag-mismatch');
  });

  it('reads the framing of a captured general-glo-ciphering push (u9n/dlms-cosem tests) without its keys', () => {
    const captured = hex('DB 08 2F19229199164103 3B 30 000001E5',
      '025CE9D2271FD78BE8C204211A916A9D7F587E0A7A814CADEA89E9593F01F92EA8C087B5BDFDEFEAB6BECF282DFE49C08F5BE6DC8400');
    const parsed = parseCipheredApdu(captured);
    expect(parsed.form).toBe('general-glo');
    expect(parsed.systemTitle).toEqual(hex('2F19229199164103'));
    expect(parsed.content.length).toBe(0x3b);
    expect(toHex(parsed.content.subarray(0, 5))).toBe('30 00 00 01 E5');
    // Not our keys: authentication fails, typed.
    expect(reasonOf(() => decipherApdu(captured, { ek: EK, ak: AK }))).toBe('tag-mismatch');
  });

  it('uses the broadcast key when SC selects it, and refuses when none is configured', () => {
    const bk = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF');
    const ciphered = cipherApdu(plain, send('auth-enc', { sc: securityControlFor('auth-enc', { broadcastKey: true }), ek: bk }));
    expect(decipherApdu(ciphered, { ...receive, broadcastKey: bk }).plaintext).toEqual(plain);
    expect(reasonOf(() => decipherApdu(ciphered, receive))).toBe('bad-parameter');
  });
});

describe('decipherApdu refuses bad input with typed errors only', () => {
  it('rejects tampered tag, wrong key and wrong system title', () => {
    const good = cipherApdu(GET_CLOCK_TIME, send('auth-enc'));
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 1]! ^= 0xff;
    expect(reasonOf(() => decipherApdu(tampered, receive))).toBe('tag-mismatch');
    expect(reasonOf(() => decipherApdu(good, { ...receive, ek: hex('00'.repeat(16)) }))).toBe('tag-mismatch');
    expect(reasonOf(() => decipherApdu(good, { ...receive, peerSystemTitle: hex('4D4D4D0000000001') }))).toBe('tag-mismatch');
  });

  it('rejects a replayed counter once the APDU authenticates', () => {
    const ciphered = cipherApdu(GET_CLOCK_TIME, send('auth-enc', { invocationCounter: 100 }));
    expect(reasonOf(() => decipherApdu(ciphered, { ...receive, lastSeenCounter: 100 }))).toBe('replay');
    expect(reasonOf(() => decipherApdu(ciphered, { ...receive, lastSeenCounter: 101 }))).toBe('replay');
    expect(decipherApdu(ciphered, { ...receive, lastSeenCounter: 99 }).header.invocationCounter).toBe(100);
    // A forged APDU is a tag mismatch, never a replay, whatever its counter.
    const forged = Uint8Array.from(ciphered);
    forged[forged.length - 1]! ^= 0x01;
    expect(reasonOf(() => decipherApdu(forged, { ...receive, lastSeenCounter: 100 }))).toBe('tag-mismatch');
  });

  it('gives DlmsDecodeError for broken framing', () => {
    for (const bad of [hex(''), hex('C8'), hex('C8 1E 30'), hex('C0 01 00'), hex('C8 05 3001234567 00'), hex('DB 07 00000000000000 00')]) {
      expect(() => decipherApdu(bad, receive)).toThrow(DlmsDecodeError);
    }
  });

  it('survives 10,000 random and mutated ciphered APDUs (seeded)', () => {
    const rnd = prng(0x5ec0);
    const seeds = [
      cipherApdu(GET_CLOCK_TIME, send('auth-enc')),
      cipherApdu(GET_CLOCK_TIME, send('auth')),
      cipherApdu(GET_CLOCK_TIME, send('enc')),
      cipherApdu(INITIATE_REQUEST, send('auth-enc')),
      cipherApdu(hex('0F 00000001 00 12 0011'), send('auth-enc')),
    ];
    let typed = 0;
    for (let i = 0; i < 10_000; i++) {
      const input = mutate(seeds[i % seeds.length]!, rnd);
      try {
        decipherApdu(input, receive);
      } catch (e) {
        if (!(e instanceof DlmsSecurityError || e instanceof DlmsDecodeError)) {
          expect.fail(`untyped error ${String(e)} for ${toHex(input)}`);
        }
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(9_000); // nearly every mutation must be refused; enc-only ones may pass
  });
});
