/**
 * Suite-0 protection byte for byte. Expected values come from two independent places:
 * - the Green Book's worked example (DLMS UA 1000-2 §9.2.7.2.4, quoted in u9n/dlms-cosem
 *   tests/test_security.py `test_encrypt_authenticated`): the get-request for the clock's
 *   time, authenticated and encrypted, ciphertext ‖ tag = 411312FF…056B6B;
 * - node:crypto called directly here, with the IV and AAD assembled by hand in the test.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { protect, unprotect, type ProtectInput } from '../../../../protocols/dlms/security/gcm.js';
import { securityControlFor, type Protection } from '../../../../protocols/dlms/security/securityHeader.js';
import { hex, toHex } from '../apdu/helpers.js';
import { AK, EK, GET_CLOCK_TIME, SERVER_TITLE, reasonOf } from './helpers.js';

/** AES-128-GCM straight from node:crypto: ciphertext and the full 16-octet tag. */
function referenceGcm(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): { ct: Uint8Array; tag: Uint8Array } {
  const c = createCipheriv('aes-128-gcm', key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { ct: new Uint8Array(ct), tag: new Uint8Array(c.getAuthTag()) };
}

const input = (protection: Protection, plaintext = GET_CLOCK_TIME): ProtectInput => ({
  sc: securityControlFor(protection), systemTitle: SERVER_TITLE, invocationCounter: 0x01234567, ek: EK, ak: AK, plaintext,
});

describe('protect (suite 0)', () => {
  it('reproduces the Green Book authenticated-encryption example', () => {
    expect(toHex(protect(input('auth-enc')))).toBe(toHex(hex(
      '30', //                           SC: suite 0, authentication and encryption
      '01234567', //                     IC
      '411312FF935A47566827C467BC', //   ciphertext: 13 octets, as long as the get-request
      '7D825C3BE4A77C3FCC056B6B', //     tag: GCM tag truncated to 12 octets
    )));
  });

  it('authenticated encryption: IV = title ‖ IC, AAD = SC ‖ AK, output SC ‖ IC ‖ C ‖ T[0..12]', () => {
    const iv = hex('4D4D4D0000BC614E', '01234567');
    const ref = referenceGcm(EK, iv, hex('30', 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF'), GET_CLOCK_TIME);
    expect(protect(input('auth-enc'))).toEqual(Uint8Array.from([0x30, 0x01, 0x23, 0x45, 0x67, ...ref.ct, ...ref.tag.subarray(0, 12)]));
  });

  it('authentication only: AAD = SC ‖ AK ‖ plaintext, the APDU travels in clear with the tag', () => {
    const iv = hex('4D4D4D0000BC614E', '01234567');
    const ref = referenceGcm(EK, iv, Uint8Array.from([0x10, ...AK, ...GET_CLOCK_TIME]), new Uint8Array(0));
    expect(ref.ct.length).toBe(0);
    expect(protect(input('auth'))).toEqual(Uint8Array.from([0x10, 0x01, 0x23, 0x45, 0x67, ...GET_CLOCK_TIME, ...ref.tag.subarray(0, 12)]));
  });

  it('encryption only: no AAD and no tag', () => {
    const iv = hex('4D4D4D0000BC614E', '01234567');
    const ref = referenceGcm(EK, iv, new Uint8Array(0), GET_CLOCK_TIME);
    expect(protect(input('enc'))).toEqual(Uint8Array.from([0x20, 0x01, 0x23, 0x45, 0x67, ...ref.ct]));
  });

  it('refuses a wrong-sized key or system title, a suite other than 0 and an SC without A or E', () => {
    expect(reasonOf(() => protect({ ...input('auth-enc'), ek: EK.subarray(0, 15) }))).toBe('bad-parameter');
    expect(reasonOf(() => protect({ ...input('auth-enc'), systemTitle: SERVER_TITLE.subarray(0, 7) }))).toBe('bad-parameter');
    expect(reasonOf(() => protect({ ...input('auth-enc'), sc: { ...securityControlFor('auth-enc'), suite: 1 } }))).toBe('unsupported-suite');
    expect(reasonOf(() => protect({ ...input('auth-enc'), sc: { ...securityControlFor('auth'), authenticated: false } }))).toBe('policy-violation');
  });
});

describe('unprotect (suite 0)', () => {
  const receive = (bytes: Uint8Array, over: Partial<Parameters<typeof unprotect>[0]> = {}): Uint8Array =>
    unprotect({ protectedBytes: bytes, systemTitle: SERVER_TITLE, ek: EK, ak: AK, ...over }).plaintext;

  it('recovers the Green Book example APDU and its counter', () => {
    const bytes = hex('30 01234567', '411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B');
    const out = unprotect({ protectedBytes: bytes, systemTitle: SERVER_TITLE, ek: EK, ak: AK });
    expect(out.plaintext).toEqual(GET_CLOCK_TIME);
    expect(out.header.invocationCounter).toBe(0x01234567);
  });

  it('round-trips every protection level', () => {
    for (const p of ['auth', 'enc', 'auth-enc'] as const) expect(receive(protect(input(p)))).toEqual(GET_CLOCK_TIME);
  });

  it('rejects a tampered tag, ciphertext, SC or counter with tag-mismatch', () => {
    const good = protect(input('auth-enc'));
    for (const at of [good.length - 1, 7, 1]) {
      const bad = Uint8Array.from(good);
      bad[at]! ^= 0x01;
      expect(reasonOf(() => receive(bad))).toBe('tag-mismatch');
    }
    // Flipping E off turns it into authentication-only under another AAD: still no pass.
    const sc = Uint8Array.from(good);
    sc[0] = 0x10;
    expect(reasonOf(() => receive(sc))).toBe('tag-mismatch');
    const authOnly = protect(input('auth'));
    authOnly[6]! ^= 0x80;
    expect(reasonOf(() => receive(authOnly))).toBe('tag-mismatch');
  });

  it('rejects a wrong encryption key, authentication key or system title with tag-mismatch', () => {
    const good = protect(input('auth-enc'));
    const other = hex('00112233445566778899AABBCCDDEEFF');
    expect(reasonOf(() => receive(good, { ek: other }))).toBe('tag-mismatch');
    expect(reasonOf(() => receive(good, { ak: other }))).toBe('tag-mismatch');
    expect(reasonOf(() => receive(good, { systemTitle: hex('4D4D4D0000BC614F') }))).toBe('tag-mismatch');
  });

  it('refuses less protection than the association requires', () => {
    expect(reasonOf(() => receive(protect(input('auth')), { required: 'auth-enc' }))).toBe('policy-violation');
    expect(reasonOf(() => receive(protect(input('enc')), { required: 'auth' }))).toBe('policy-violation');
    expect(receive(protect(input('auth-enc')), { required: 'auth' })).toEqual(GET_CLOCK_TIME);
  });

  it('names a short header, a missing tag, another suite and compression', () => {
    expect(reasonOf(() => receive(hex('30 0123')))).toBe('bad-header');
    expect(reasonOf(() => receive(hex('30 01234567 0102030405')))).toBe('bad-header');
    expect(reasonOf(() => receive(hex('31 01234567', '00'.repeat(20))))).toBe('unsupported-suite');
    expect(reasonOf(() => receive(hex('B0 01234567', '00'.repeat(20))))).toBe('unsupported-compression');
    expect(reasonOf(() => receive(hex('00 01234567', '00'.repeat(20))))).toBe('policy-violation');
  });
});
