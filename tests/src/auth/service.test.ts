import { afterEach, describe, expect, it } from 'vitest';
import { LoginThrottledError } from '../../../src/auth/errors.js';
import { AuthService, DEFAULT_AUTH_OPTIONS } from '../../../src/auth/service.js';
import { ConflictError, ValidationError } from '../../../src/domain/errors.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';

const dbs: Db[] = [];
afterEach(() => { for (const db of dbs.splice(0)) db.close(); });

function service(overrides: Partial<typeof DEFAULT_AUTH_OPTIONS> = {}) {
  const db = openDatabase(':memory:');
  dbs.push(db);
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  const auth = new AuthService(db, { ...DEFAULT_AUTH_OPTIONS, scryptCost: { log2N: 10, r: 8, p: 1 }, now: () => clock.t, ...overrides });
  return { db, auth, clock };
}

describe('API tokens', () => {
  it('authenticates a new token by its value, stores only its hash and prefix, and refuses it once revoked', () => {
    const { db, auth } = service();
    const { token, view } = auth.createToken({ name: 'scada', role: 'viewer' }, 'user:root');
    expect(token).toMatch(/^ght_[A-Za-z0-9_-]{43}$/);
    expect(auth.authenticateToken(token)).toEqual({ subject: 'token:scada', role: 'viewer', via: 'token' });
    expect(auth.authenticateToken(`${token.slice(0, -1)}x`)).toBeUndefined();
    const stored = JSON.stringify(db.prepare('SELECT * FROM api_tokens').all());
    expect(stored).not.toContain(token.slice(12));
    expect(view.prefix).toBe(token.slice(0, 12));
    auth.createToken({ name: 'keep-an-admin', role: 'admin' }, 'test');
    auth.revokeToken(view.id);
    expect(auth.authenticateToken(token)).toBeUndefined();
  });

  it('refuses an expired token and a second active token of the same name', () => {
    const { auth, clock } = service();
    const { token } = auth.createToken({ name: 'temp', role: 'billing', expiresAt: clock.t + 60_000 }, 'test');
    expect(auth.authenticateToken(token)?.role).toBe('billing');
    clock.t += 60_000;
    expect(auth.authenticateToken(token)).toBeUndefined();
    expect(() => auth.createToken({ name: 'temp', role: 'viewer' }, 'test')).toThrow(ConflictError);
    expect(() => auth.createToken({ name: 'past', role: 'viewer', expiresAt: clock.t - 1 }, 'test')).toThrow(ValidationError);
  });

  it('refuses to revoke the last admin credential', () => {
    const { auth } = service();
    const { view } = auth.createToken({ name: 'root', role: 'admin' }, 'test');
    expect(() => auth.revokeToken(view.id)).toThrow(ConflictError);
    expect(auth.adminExists()).toBe(true);
  });
});

describe('users and sessions', () => {
  it('logs a user in with the right password, opens a session, and refuses the wrong password', async () => {
    const { auth } = service();
    await auth.createUser({ name: 'alice', role: 'operator', password: 'alice-password-1' });
    expect(await auth.login('alice', 'wrong-password!!', '10.0.0.1')).toEqual({ ok: false, reason: 'bad-password' });
    expect(await auth.login('mallory', 'whatever-password', '10.0.0.1')).toEqual({ ok: false, reason: 'unknown-user' });
    const ok = await auth.login('alice', 'alice-password-1', '10.0.0.1');
    if (!ok.ok) throw new Error('login failed');
    expect(ok.user).toMatchObject({ name: 'alice', role: 'operator' });
    expect(auth.authenticateSession(ok.sessionId)).toEqual({ subject: 'user:alice', role: 'operator', via: 'session' });
    auth.logout(ok.sessionId);
    expect(auth.authenticateSession(ok.sessionId)).toBeUndefined();
  });

  it('ends a session after its idle time and after its absolute lifetime', async () => {
    const { auth, clock } = service({ sessionIdleMs: 10 * 60_000, sessionMaxMs: 30 * 60_000 });
    await auth.createUser({ name: 'bob', role: 'viewer', password: 'bob-password-12' });
    const idle = await auth.login('bob', 'bob-password-12', 'a');
    if (!idle.ok) throw new Error('login failed');
    clock.t += 10 * 60_000;
    expect(auth.authenticateSession(idle.sessionId)).toBeUndefined();

    const busy = await auth.login('bob', 'bob-password-12', 'a');
    if (!busy.ok) throw new Error('login failed');
    for (let i = 0; i < 5; i++) {
      clock.t += 5 * 60_000;
      expect(auth.authenticateSession(busy.sessionId)?.subject).toBe('user:bob');
    }
    clock.t += 5 * 60_000;
    expect(auth.authenticateSession(busy.sessionId)).toBeUndefined();
  });

  it('ends the sessions of a user whose password is reset or who is disabled, and applies a role change at once', async () => {
    const { auth } = service();
    auth.createToken({ name: 'root', role: 'admin' }, 'test');
    await auth.createUser({ name: 'carol', role: 'viewer', password: 'carol-password-1' });
    const s1 = await auth.login('carol', 'carol-password-1', 'a');
    if (!s1.ok) throw new Error('login failed');
    await auth.updateUser('carol', { role: 'operator' });
    expect(auth.authenticateSession(s1.sessionId)?.role).toBe('operator');
    await auth.updateUser('carol', { password: 'carol-password-2' });
    expect(auth.authenticateSession(s1.sessionId)).toBeUndefined();
    const s2 = await auth.login('carol', 'carol-password-2', 'a');
    if (!s2.ok) throw new Error('login failed');
    await auth.updateUser('carol', { disabled: true });
    expect(auth.authenticateSession(s2.sessionId)).toBeUndefined();
    expect(await auth.login('carol', 'carol-password-2', 'a')).toEqual({ ok: false, reason: 'disabled' });
  });

  it('refuses short passwords, duplicate users, and removing the last admin', async () => {
    const { auth } = service();
    await expect(auth.createUser({ name: 'dave', role: 'admin', password: 'short' })).rejects.toThrow(ValidationError);
    await auth.createUser({ name: 'dave', role: 'admin', password: 'dave-password-1' });
    await expect(auth.createUser({ name: 'dave', role: 'viewer', password: 'dave-password-2' })).rejects.toThrow(ConflictError);
    await expect(auth.updateUser('dave', { role: 'viewer' })).rejects.toThrow(ConflictError);
    expect(() => { auth.deleteUser('dave'); }).toThrow(ConflictError);
    expect(auth.getUser('dave').role).toBe('admin');
  });

  it('throttles a user name after repeated failures, even with the right password', async () => {
    const { auth } = service({ login: { maxFailuresPerUser: 2, maxFailuresPerAddress: 100, windowMs: 60_000, maxKeys: 100, addressSlowdownMs: 10 } });
    await auth.createUser({ name: 'erin', role: 'viewer', password: 'erin-password-1' });
    await auth.login('erin', 'nope-nope-nope', 'a');
    await auth.login('erin', 'nope-nope-nope', 'b');
    await expect(auth.login('erin', 'erin-password-1', 'c')).rejects.toBeInstanceOf(LoginThrottledError);
  });

  it('lets the right password of another user in from an address past its limit, one attempt at a time', async () => {
    const { auth } = service({ login: { maxFailuresPerUser: 5, maxFailuresPerAddress: 20, windowMs: 60_000, maxKeys: 100, addressSlowdownMs: 20 } });
    await auth.createUser({ name: 'fay', role: 'viewer', password: 'fay-password-1' });
    for (let i = 0; i < 20; i++) expect(await auth.login(`typo-${i}`, 'nope-nope-nope', 'office')).toMatchObject({ ok: false });
    const [first, second] = await Promise.allSettled([auth.login('fay', 'fay-password-1', 'office'), auth.login('fay', 'fay-password-1', 'office')]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { ok: true } });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'LOGIN_THROTTLED' } });
    expect(await auth.login('fay', 'fay-password-1', 'office')).toMatchObject({ ok: true });
  });
});
