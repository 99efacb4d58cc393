/** Replay guard and sender counter (IEC 62056-5-3 §5.3.4.4). */
import { describe, expect, it } from 'vitest';
import { acceptCounter, nextCounter } from '../../../../protocols/dlms/security/invocationCounter.js';
import { DlmsSecurityError } from '../../../../protocols/dlms/security/securityError.js';

describe('acceptCounter', () => {
  it('accepts the first counter from a sender and any strictly greater one', () => {
    expect(acceptCounter(undefined, 0)).toEqual({ ok: true, value: 0 });
    expect(acceptCounter(5, 6)).toEqual({ ok: true, value: 6 });
    expect(acceptCounter(5, 0xffffffff)).toEqual({ ok: true, value: 0xffffffff });
  });

  it('rejects a repeated or older counter as a replay', () => {
    for (const received of [5, 4, 0]) {
      const r = acceptCounter(5, received);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(DlmsSecurityError);
        expect(r.error.reason).toBe('replay');
      }
    }
  });

  it('rejects a counter outside 0..2^32-1', () => {
    const r = acceptCounter(undefined, 2 ** 32);
    expect(r.ok ? undefined : r.error.reason).toBe('bad-parameter');
  });
});

describe('nextCounter', () => {
  it('increments by one', () => {
    expect(nextCounter(0)).toBe(1);
    expect(nextCounter(0xfffffffe)).toBe(0xffffffff);
  });

  it('refuses to wrap past 2^32-1', () => {
    try {
      nextCounter(0xffffffff);
      expect.fail('wrapped');
    } catch (e) {
      expect(e).toBeInstanceOf(DlmsSecurityError);
      expect((e as DlmsSecurityError).reason).toBe('counter-exhausted');
    }
  });
});
