/** The security control byte and SC ‖ IC header, bit by bit (Green Book §9.2.7.2.3). */
import { describe, expect, it } from 'vitest';
import {
  decodeSecurityControl, decodeSecurityHeader, encodeSecurityControl, encodeSecurityHeader, securityControlFor,
} from '../../../../protocols/dlms/security/securityHeader.js';
import { DlmsSecurityError } from '../../../../protocols/dlms/security/securityError.js';
import { hex } from '../apdu/helpers.js';

describe('security control byte', () => {
  it('places suite in bits 0-3, A in bit 4, E in bit 5, key set in bit 6, compression in bit 7', () => {
    expect(encodeSecurityControl(securityControlFor('auth'))).toBe(0x10);
    expect(encodeSecurityControl(securityControlFor('enc'))).toBe(0x20);
    expect(encodeSecurityControl(securityControlFor('auth-enc'))).toBe(0x30);
    expect(encodeSecurityControl(securityControlFor('auth-enc', { broadcastKey: true }))).toBe(0x70);
    expect(encodeSecurityControl({ suite: 5, authenticated: false, encrypted: false, broadcastKey: false, compressed: true })).toBe(0x85);
  });

  it('decodes every byte back to itself', () => {
    for (let b = 0; b < 256; b++) expect(encodeSecurityControl(decodeSecurityControl(b))).toBe(b);
  });

  it('refuses a suite id outside 0..15', () => {
    expect(() => encodeSecurityControl({ ...securityControlFor('auth'), suite: 16 })).toThrow(DlmsSecurityError);
  });
});

describe('security header', () => {
  it('is SC followed by the big-endian 32-bit invocation counter', () => {
    const h = encodeSecurityHeader({ sc: securityControlFor('auth-enc'), invocationCounter: 0x01234567 });
    expect(h).toEqual(hex('30', '01234567'));
    expect(decodeSecurityHeader(h)).toEqual({ sc: securityControlFor('auth-enc'), invocationCounter: 0x01234567 });
  });

  it('carries the full counter range and refuses values outside it', () => {
    expect(encodeSecurityHeader({ sc: securityControlFor('auth'), invocationCounter: 0xffffffff })).toEqual(hex('10 FFFFFFFF'));
    for (const ic of [-1, 2 ** 32, 1.5]) {
      expect(() => encodeSecurityHeader({ sc: securityControlFor('auth'), invocationCounter: ic })).toThrow(DlmsSecurityError);
    }
  });

  it('refuses a header shorter than 5 octets with reason bad-header', () => {
    try {
      decodeSecurityHeader(hex('30 012345'));
      expect.fail('decoded a 4-octet header');
    } catch (e) {
      expect(e).toBeInstanceOf(DlmsSecurityError);
      expect((e as DlmsSecurityError).reason).toBe('bad-header');
      expect((e as DlmsSecurityError).code).toBe('DLMS_SECURITY');
    }
  });
});
