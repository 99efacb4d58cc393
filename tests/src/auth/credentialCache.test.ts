import { describe, expect, it } from 'vitest';
import { CredentialCache, type VerifiedCredential } from '../../../src/auth/credentialCache.js';

const token = (id: number): VerifiedCredential => ({ principal: { subject: `token:t${id}`, role: 'viewer', via: 'token' }, of: { kind: 'token', id }, expiresAt: null, lastUsedAt: null });
const session = (user: string): VerifiedCredential => ({
  principal: { subject: `user:${user}`, role: 'operator', via: 'session' }, of: { kind: 'session', idHash: Buffer.from(user), userName: user }, expiresAt: null, lastUsedAt: null,
});

describe('cache of verified credentials', () => {
  it('answers for the cache time after the store was read, not after', () => {
    const clock = { t: 1_000 };
    const cache = new CredentialCache(5_000, 10, () => clock.t);
    cache.put('a', token(1), cache.epoch, clock.t);
    clock.t += 4_999;
    expect(cache.get('a')?.principal.subject).toBe('token:t1');
    clock.t += 1;
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps at most its bound, dropping the oldest first', () => {
    const cache = new CredentialCache(5_000, 2, () => 0);
    for (const id of [1, 2, 3]) cache.put(`k${id}`, token(id), cache.epoch, 0);
    expect(cache.size).toBe(2);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k3')?.principal.subject).toBe('token:t3');
  });

  it('forgets a revoked token and the sessions of a changed user at once, and keeps the rest', () => {
    const cache = new CredentialCache(5_000, 10, () => 0);
    cache.put('t1', token(1), cache.epoch, 0);
    cache.put('t2', token(2), cache.epoch, 0);
    cache.put('s1', session('ann'), cache.epoch, 0);
    cache.put('s2', session('ann'), cache.epoch, 0);
    cache.put('s3', session('ben'), cache.epoch, 0);
    cache.forgetToken(1);
    cache.forgetUser('ann');
    expect(['t1', 't2', 's1', 's2', 's3'].map((k) => cache.get(k) !== undefined)).toEqual([false, true, false, false, true]);
  });

  it('does not take back an answer read before a revocation that finished while it was on its way', () => {
    const cache = new CredentialCache(5_000, 10, () => 0);
    const before = cache.epoch;
    cache.forgetToken(1);
    cache.put('t1', token(1), before, 0);
    expect(cache.get('t1')).toBeUndefined();
    cache.put('t1', token(1), cache.epoch, 0);
    expect(cache.get('t1')).toBeDefined();
  });

  it('keeps nothing when its time is 0', () => {
    const cache = new CredentialCache(0, 10, () => 0);
    cache.put('t1', token(1), cache.epoch, 0);
    expect(cache.get('t1')).toBeUndefined();
  });
});
