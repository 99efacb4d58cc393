/**
 * HLS mechanism 5 (GMAC) against the Green Book's worked example (DLMS UA 1000-2 §9.2.7.4,
 * table "HLS example using authentication-mechanism 5 with GMAC"; quoted in u9n/dlms-cosem
 * tests/test_security.py `test_gmac` and in a public C DLMS server's unit tests):
 *   client title 4D4D4D0000000001, IC 00000001; server title 4D4D4D0000BC614E, IC 01234567;
 *   CtoS "K56iVagY" = 4B35366956616759, StoC "P6wRJ21F" = 503677524A323146;
 *   f(StoC) = 10 00000001 1A52FE7DD3E72748973C1E28, f(CtoS) = 10 01234567 FE1466AFB3DBCD4F9389E2B7.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeHlsResponse, generateChallenge, verifyHlsResponse,
} from '../../../../protocols/dlms/security/hlsGmac.js';
import { hex, toHex } from '../apdu/helpers.js';
import { AK, CLIENT_TITLE, EK, SERVER_TITLE, reasonOf } from './helpers.js';

const CTOS = hex('4B35366956616759');
const STOC = hex('503677524A323146');
const F_STOC = hex('10', '00000001', '1A52FE7DD3E72748973C1E28');
const F_CTOS = hex('10', '01234567', 'FE1466AFB3DBCD4F9389E2B7');

describe('HLS-GMAC f(challenge)', () => {
  it('computes the client f(StoC) and the server f(CtoS) of the Green Book example', () => {
    expect(toHex(computeHlsResponse({ systemTitle: CLIENT_TITLE, invocationCounter: 1, ek: EK, ak: AK, challenge: STOC }))).toBe(toHex(F_STOC));
    expect(toHex(computeHlsResponse({ systemTitle: SERVER_TITLE, invocationCounter: 0x01234567, ek: EK, ak: AK, challenge: CTOS }))).toBe(toHex(F_CTOS));
  });

  it('agrees with node:crypto called directly: GCM tag over SC ‖ AK ‖ challenge, no plaintext', () => {
    const challenge = hex('00112233445566778899AABBCCDDEEFF0011');
    const c = createCipheriv('aes-128-gcm', EK, hex('4D4D4D0000000001', '0000002A'));
    c.setAAD(Uint8Array.from([0x10, ...AK, ...challenge]));
    c.final();
    const expected = Uint8Array.from([0x10, 0x00, 0x00, 0x00, 0x2a, ...c.getAuthTag().subarray(0, 12)]);
    expect(computeHlsResponse({ systemTitle: CLIENT_TITLE, invocationCounter: 42, ek: EK, ak: AK, challenge })).toEqual(expected);
  });

  it('verifies the example responses both ways and returns the responder counter', () => {
    expect(verifyHlsResponse({ peerSystemTitle: CLIENT_TITLE, ek: EK, ak: AK, challenge: STOC, response: F_STOC })).toEqual({ invocationCounter: 1 });
    expect(verifyHlsResponse({ peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, challenge: CTOS, response: F_CTOS })).toEqual({ invocationCounter: 0x01234567 });
  });

  it('fails closed on a tampered tag, wrong key, wrong system title, wrong challenge or counter', () => {
    const ok = { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, challenge: CTOS, response: F_CTOS };
    const tampered = Uint8Array.from(F_CTOS);
    tampered[16]! ^= 0x01;
    const otherCounter = Uint8Array.from(F_CTOS);
    otherCounter[4]! ^= 0x01;
    expect(reasonOf(() => verifyHlsResponse({ ...ok, response: tampered }))).toBe('tag-mismatch');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, response: otherCounter }))).toBe('tag-mismatch');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, ak: EK }))).toBe('tag-mismatch');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, ek: AK }))).toBe('tag-mismatch');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, peerSystemTitle: CLIENT_TITLE }))).toBe('tag-mismatch');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, challenge: STOC }))).toBe('tag-mismatch');
  });

  it('refuses a malformed response as bad-header', () => {
    const ok = { peerSystemTitle: SERVER_TITLE, ek: EK, ak: AK, challenge: CTOS };
    expect(reasonOf(() => verifyHlsResponse({ ...ok, response: F_CTOS.subarray(0, 16) }))).toBe('bad-header');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, response: Uint8Array.from([0x30, ...F_CTOS.subarray(1)]) }))).toBe('bad-header');
    expect(reasonOf(() => verifyHlsResponse({ ...ok, response: new Uint8Array(0) }))).toBe('bad-header');
  });
});

describe('challenges', () => {
  it('are 8 to 64 random octets, 16 by default', () => {
    expect(generateChallenge().length).toBe(16);
    expect(generateChallenge(8).length).toBe(8);
    expect(generateChallenge(64).length).toBe(64);
    expect(generateChallenge(8, (n) => new Uint8Array(n).fill(7))).toEqual(new Uint8Array(8).fill(7));
    expect(generateChallenge()).not.toEqual(generateChallenge());
  });

  it('refuses lengths outside 8..64, for generation and for f()', () => {
    for (const n of [0, 7, 65, 8.5]) expect(reasonOf(() => generateChallenge(n))).toBe('bad-parameter');
    expect(reasonOf(() => computeHlsResponse({ systemTitle: CLIENT_TITLE, invocationCounter: 1, ek: EK, ak: AK, challenge: new Uint8Array(7) }))).toBe('bad-parameter');
  });
});
