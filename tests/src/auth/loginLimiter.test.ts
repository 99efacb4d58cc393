import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/auth/loginLimiter.js';

const LIMITS = { maxFailuresPerUser: 3, maxFailuresPerAddress: 5, windowMs: 60_000, maxKeys: 100, addressSlowdownMs: 2_000 };

function limiter(limits = LIMITS) {
  const clock = { t: 1_000_000 };
  return { clock, l: new LoginLimiter(limits, () => clock.t) };
}

describe('login throttling', () => {
  it('refuses a user name after its failures reach the limit, with the wait until the oldest ages out', () => {
    const { clock, l } = limiter();
    for (let i = 0; i < 3; i++) {
      expect(l.check('alice', '10.0.0.1').allowed).toBe(true);
      l.failed('alice', '10.0.0.1');
      clock.t += 1_000;
    }
    expect(l.check('alice', '10.0.0.2')).toEqual({ allowed: false, retryAfterMs: 57_000, by: 'user' });
    expect(l.check('bob', '10.0.0.2').allowed).toBe(true);
    clock.t += 57_000;
    expect(l.check('alice', '10.0.0.2').allowed).toBe(true);
  });

  it('slows an address that fails across many user names to one attempt at a time, without locking it', () => {
    const { clock, l } = limiter();
    for (let i = 0; i < 5; i++) l.failed(`user${i}`, '10.0.0.9');
    const gate = l.check('someone-new', '10.0.0.9');
    expect(gate).toMatchObject({ allowed: true, delayMs: 2_000 });
    expect(l.check('someone-else', '10.0.0.9')).toEqual({ allowed: false, retryAfterMs: 2_000, by: 'address' });
    expect(l.check('someone-new', '10.0.0.8')).toMatchObject({ allowed: true, delayMs: 0 });
    if (gate.allowed) gate.release();
    expect(l.check('someone-else', '10.0.0.9')).toMatchObject({ allowed: true, delayMs: 2_000 });
    clock.t += 60_000;
    expect(l.check('another', '10.0.0.9')).toMatchObject({ allowed: true, delayMs: 0 });
  });

  it('still refuses a user name past its own limit from a slowed address', () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.failed(i < 3 ? 'alice' : `user${i}`, '10.0.0.9');
    expect(l.check('alice', '10.0.0.9')).toMatchObject({ allowed: false, by: 'user' });
  });

  it('forgets a user\'s failures after a success, but not the address\'s', () => {
    const { l } = limiter({ ...LIMITS, maxFailuresPerAddress: 3 });
    l.failed('alice', '10.0.0.1');
    l.failed('alice', '10.0.0.1');
    l.succeeded('alice');
    l.failed('alice', '10.0.0.1');
    expect(l.check('alice', '10.0.0.2').allowed).toBe(true);
    expect(l.check('carol', '10.0.0.1')).toMatchObject({ allowed: true, delayMs: 2_000 });
  });

  it('remembers a bounded number of keys, forgetting the oldest first', () => {
    const { l } = limiter({ ...LIMITS, maxKeys: 100 });
    for (let i = 0; i < 1_000; i++) l.failed(`spray-${i}`, `10.0.${i >> 8}.${i & 255}`);
    expect(l.size.users).toBe(100);
    expect(l.size.addresses).toBe(100);
  });
});
