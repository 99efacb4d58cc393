/**
 * Shared fixtures of the security tests: the key material of the Green Book's worked
 * examples (DLMS UA 1000-2 §9.2.7, as quoted by u9n/dlms-cosem tests/test_security.py),
 * its example APDU, and a helper that extracts the reason of the expected DlmsSecurityError.
 */
import { createCipheriv } from 'node:crypto';
import { expect } from 'vitest';
import { DlmsSecurityError, type DlmsSecurityReason } from '../../../../protocols/dlms/security/securityError.js';
import { hex } from '../apdu/helpers.js';

export const EK = hex('000102030405060708090A0B0C0D0E0F');
export const AK = hex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF');
export const CLIENT_TITLE = hex('4D4D4D0000000001');
export const SERVER_TITLE = hex('4D4D4D0000BC614E');

/** get-request (C0) normal (01), invoke-id-and-priority 00, class 8 clock 0.0.1.0.0.255 attribute 2, no selective access. */
export const GET_CLOCK_TIME = hex('C0 01 00', '0008 0000010000FF 02', '00');

/** The reason of the DlmsSecurityError `f` throws; fails on success or on any other error. */
export function reasonOf(f: () => unknown): DlmsSecurityReason {
  try {
    f();
  } catch (e) {
    if (e instanceof DlmsSecurityError) return e.reason;
    throw e;
  }
  return expect.fail('no error');
}

/**
 * AES-128-GCM as suite 0 uses it with EK and AK above (IV = title ‖ IC, AAD = SC 0x30 ‖ AK,
 * 12-octet tag), straight from node:crypto, independently of protocols/dlms/security.
 */
export function gcm(title: Uint8Array, ic: number, plaintext: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array } {
  const iv = Buffer.alloc(12);
  iv.set(title, 0);
  iv.writeUInt32BE(ic, 8);
  const c = createCipheriv('aes-128-gcm', EK, iv);
  c.setAAD(Uint8Array.from([0x30, ...AK]));
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  return { ciphertext, tag: c.getAuthTag().subarray(0, 12) };
}
