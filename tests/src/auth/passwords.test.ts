import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../../src/auth/passwords.js';

// The lowest cost the parser accepts keeps these tests quick; the format carries the cost.
const FAST = { log2N: 10, r: 8, p: 1 };

describe('scrypt password hashes', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery', FAST);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
  });

  it('salts every hash, so one password never hashes the same twice, and never contains the password', async () => {
    const a = await hashPassword('same password here', FAST);
    const b = await hashPassword('same password here', FAST);
    expect(a).not.toBe(b);
    expect(a).not.toContain('same password');
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  });

  it('verifies with the cost stored in the hash, so the default cost can be raised later', async () => {
    const stored = await hashPassword('an older password', { log2N: 11, r: 4, p: 1 });
    expect(await verifyPassword('an older password', stored)).toBe(true);
  });

  it('never matches a malformed or out-of-bounds stored hash', async () => {
    expect(await verifyPassword('x', 'plain')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$30$8$1$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('x', 'bcrypt$10$8$1$AAAA$AAAA')).toBe(false);
  });
});
