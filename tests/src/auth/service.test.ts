/**
 * Access control's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, tests/helpers/storeDrivers.ts): tokens, users, sessions, login throttling, and
 * two nodes (two AuthService instances) sharing one database, time driven by an injected clock.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginThrottledError } from '../../../src/auth/errors.js';
import { sha256 } from '../../../src/auth/secrets.js';
import { AuthService, DEFAULT_AUTH_OPTIONS, type AuthOptions } from '../../../src/auth/service.js';
import type { AuthStore } from '../../../src/auth/store.js';
import { ConflictError, ValidationError } from '../../../src/domain/errors.js';
import { STORE_DRIVERS, authStoreOf, connectEachTest, disposeStoreDrivers } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

const FAST_SCRYPT = { log2N: 10, r: 8, p: 1 };
const TTL = DEFAULT_AUTH_OPTIONS.credentialCacheTtlMs;

describe.each(STORE_DRIVERS)('access control on $name', (driver) => {
  const db = connectEachTest(driver);
  const nodes: AuthService[] = [];
  const clock = { t: 0 };

  beforeEach(() => {
    clock.t = Date.parse('2026-01-01T00:00:00Z');
  });
  // Before the helper's dispose: its afterEach was registered first, so it runs last.
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
  });

  /** One node: an AuthService on its own connection to the test's database. */
  async function node(overrides: Partial<AuthOptions> = {}): Promise<{ auth: AuthService; store: AuthStore }> {
    const store = authStoreOf(await db().connect());
    const auth = new AuthService(store, { ...DEFAULT_AUTH_OPTIONS, scryptCost: FAST_SCRYPT, now: () => clock.t, ...overrides });
    nodes.push(auth);
    return { auth, store };
  }

  describe('API tokens', () => {
    it('authenticates a new token by its value, stores only its hash and prefix, and refuses it once revoked', async () => {
      const { auth, store } = await node();
      const { token, view } = await auth.createToken({ name: 'scada', role: 'viewer' }, 'user:root');
      expect(token).toMatch(/^ght_[A-Za-z0-9_-]{43}$/);
      expect(await auth.authenticateToken(token)).toEqual({ subject: 'token:scada', role: 'viewer', via: 'token' });
      expect(await auth.authenticateToken(`${token.slice(0, -1)}x`)).toBeUndefined();
      const stored = JSON.stringify(await store.tokens());
      expect(stored).not.toContain(token.slice(12));
      expect(view.prefix).toBe(token.slice(0, 12));
      await auth.createToken({ name: 'keep-an-admin', role: 'admin' }, 'test');
      await auth.revokeToken(view.id);
      expect(await auth.authenticateToken(token)).toBeUndefined();
    });

    it('refuses an expired token and a second active token of the same name', async () => {
      const { auth } = await node();
      const { token } = await auth.createToken({ name: 'temp', role: 'billing', expiresAt: clock.t + 60_000 }, 'test');
      expect((await auth.authenticateToken(token))?.role).toBe('billing');
      clock.t += 60_000;
      expect(await auth.authenticateToken(token)).toBeUndefined();
      await expect(auth.createToken({ name: 'temp', role: 'viewer' }, 'test')).rejects.toThrow(ConflictError);
      await expect(auth.createToken({ name: 'past', role: 'viewer', expiresAt: clock.t - 1 }, 'test')).rejects.toThrow(ValidationError);
    });

    it('refuses to revoke the last admin credential', async () => {
      const { auth } = await node();
      const { view } = await auth.createToken({ name: 'root', role: 'admin' }, 'test');
      await expect(auth.revokeToken(view.id)).rejects.toThrow(ConflictError);
      expect(await auth.adminExists()).toBe(true);
    });

    it('records when a token was last used, at most once a minute, without moving it back', async () => {
      const { auth } = await node();
      const { token, view } = await auth.createToken({ name: 'meter-data', role: 'billing' }, 'test');
      const first = clock.t;
      await auth.authenticateToken(token);
      clock.t += 30_000;
      await auth.authenticateToken(token);
      expect((await auth.listTokens()).find((t) => t.id === view.id)?.lastUsedAt).toBe(first);
      clock.t += 30_000;
      await auth.authenticateToken(token);
      expect((await auth.listTokens()).find((t) => t.id === view.id)?.lastUsedAt).toBe(clock.t);
    });
  });

  describe('users and sessions', () => {
    it('logs a user in with the right password, opens a session, and refuses the wrong password', async () => {
      const { auth } = await node();
      await auth.createUser({ name: 'alice', role: 'operator', password: 'alice-password-1' });
      expect(await auth.login('alice', 'wrong-password!!', '10.0.0.1')).toEqual({ ok: false, reason: 'bad-password' });
      expect(await auth.login('mallory', 'whatever-password', '10.0.0.1')).toEqual({ ok: false, reason: 'unknown-user' });
      const ok = await auth.login('alice', 'alice-password-1', '10.0.0.1');
      if (!ok.ok) throw new Error('login failed');
      expect(ok.user).toMatchObject({ name: 'alice', role: 'operator', lastLoginAt: clock.t });
      expect((await auth.getUser('alice')).lastLoginAt).toBe(clock.t);
      expect(await auth.authenticateSession(ok.sessionId)).toEqual({ subject: 'user:alice', role: 'operator', via: 'session' });
      await auth.logout(ok.sessionId);
      expect(await auth.authenticateSession(ok.sessionId)).toBeUndefined();
    });

    it('ends a session after its idle time and after its absolute lifetime', async () => {
      const { auth } = await node({ sessionIdleMs: 10 * 60_000, sessionMaxMs: 30 * 60_000 });
      await auth.createUser({ name: 'bob', role: 'viewer', password: 'bob-password-12' });
      const idle = await auth.login('bob', 'bob-password-12', 'a');
      if (!idle.ok) throw new Error('login failed');
      clock.t += 10 * 60_000;
      expect(await auth.authenticateSession(idle.sessionId)).toBeUndefined();

      const busy = await auth.login('bob', 'bob-password-12', 'a');
      if (!busy.ok) throw new Error('login failed');
      for (let i = 0; i < 5; i++) {
        clock.t += 5 * 60_000;
        expect((await auth.authenticateSession(busy.sessionId))?.subject).toBe('user:bob');
      }
      clock.t += 5 * 60_000;
      expect(await auth.authenticateSession(busy.sessionId)).toBeUndefined();
    });

    it('judges an idle-looking row after its own last use, even when that write settles while the row is read', async () => {
      const { auth, store } = await node({ sessionIdleMs: 10 * 60_000, sessionMaxMs: 60 * 60_000, credentialCacheTtlMs: 0 });
      await auth.createUser({ name: 'ida', role: 'viewer', password: 'ida-password-12' });
      const s = await auth.login('ida', 'ida-password-12', 'a');
      if (!s.ok) throw new Error('login failed');
      // A database where the last-use write takes a while, and a read takes its snapshot at once
      // but answers only after that write settled (two connections of a pool): the row it returns
      // says idle, and by then the queue is empty.
      const recordUses = store.recordUses.bind(store);
      const session = store.session.bind(store);
      let written: Promise<void> = Promise.resolve();
      store.recordUses = (uses) => {
        written = new Promise((r) => setTimeout(r, 20)).then(() => recordUses(uses));
        return written;
      };
      let reads = 0;
      store.session = async (idHash) => {
        reads++;
        const snapshot = await session(idHash);
        await written;
        return snapshot;
      };
      clock.t += 6 * 60_000;
      expect((await auth.authenticateSession(s.sessionId))?.subject).toBe('user:ida');
      clock.t += 5 * 60_000;
      expect((await auth.authenticateSession(s.sessionId))?.subject).toBe('user:ida');
      expect(reads).toBe(3);
      await written;
      expect((await session(sha256(s.sessionId)))?.lastSeenAt).toBe(clock.t);
    });

    it('keeps a session used within the cache time alive past its idle time since login', async () => {
      const { auth } = await node({ sessionIdleMs: 60_000, sessionMaxMs: 3_600_000 });
      await auth.createUser({ name: 'gus', role: 'viewer', password: 'gus-password-12' });
      const s = await auth.login('gus', 'gus-password-12', 'a');
      if (!s.ok) throw new Error('login failed');
      // Used every second (well inside the cache time) for three idle periods: each use counts.
      for (let i = 0; i < 180; i++) {
        clock.t += 1_000;
        expect((await auth.authenticateSession(s.sessionId))?.subject).toBe('user:gus');
      }
      clock.t += 60_000;
      expect(await auth.authenticateSession(s.sessionId)).toBeUndefined();
    });

    it('ends the sessions of a user whose password is reset or who is disabled, and applies a role change at once', async () => {
      const { auth } = await node();
      await auth.createToken({ name: 'root', role: 'admin' }, 'test');
      await auth.createUser({ name: 'carol', role: 'viewer', password: 'carol-password-1' });
      const s1 = await auth.login('carol', 'carol-password-1', 'a');
      if (!s1.ok) throw new Error('login failed');
      expect((await auth.authenticateSession(s1.sessionId))?.role).toBe('viewer');
      await auth.updateUser('carol', { role: 'operator' });
      expect((await auth.authenticateSession(s1.sessionId))?.role).toBe('operator');
      await auth.updateUser('carol', { password: 'carol-password-2' });
      expect(await auth.authenticateSession(s1.sessionId)).toBeUndefined();
      const s2 = await auth.login('carol', 'carol-password-2', 'a');
      if (!s2.ok) throw new Error('login failed');
      expect(await auth.authenticateSession(s2.sessionId)).toBeDefined();
      await auth.updateUser('carol', { disabled: true });
      expect(await auth.authenticateSession(s2.sessionId)).toBeUndefined();
      expect(await auth.login('carol', 'carol-password-2', 'a')).toEqual({ ok: false, reason: 'disabled' });
    });

    it('refuses short passwords, duplicate users, and removing the last admin', async () => {
      const { auth } = await node();
      await expect(auth.createUser({ name: 'dave', role: 'admin', password: 'short' })).rejects.toThrow(ValidationError);
      await auth.createUser({ name: 'dave', role: 'admin', password: 'dave-password-1' });
      await expect(auth.createUser({ name: 'dave', role: 'viewer', password: 'dave-password-2' })).rejects.toThrow(ConflictError);
      await expect(auth.updateUser('dave', { role: 'viewer' })).rejects.toThrow(ConflictError);
      await expect(auth.deleteUser('dave')).rejects.toThrow(ConflictError);
      expect((await auth.getUser('dave')).role).toBe('admin');
    });

    it('throttles a user name after repeated failures, even with the right password', async () => {
      const { auth } = await node({ login: { maxFailuresPerUser: 2, maxFailuresPerAddress: 100, windowMs: 60_000, maxKeys: 100, addressSlowdownMs: 10 } });
      await auth.createUser({ name: 'erin', role: 'viewer', password: 'erin-password-1' });
      await auth.login('erin', 'nope-nope-nope', 'a');
      await auth.login('erin', 'nope-nope-nope', 'b');
      await expect(auth.login('erin', 'erin-password-1', 'c')).rejects.toBeInstanceOf(LoginThrottledError);
    });

    it('lets the right password of another user in from an address past its limit, one attempt at a time', async () => {
      const { auth } = await node({ login: { maxFailuresPerUser: 5, maxFailuresPerAddress: 20, windowMs: 60_000, maxKeys: 100, addressSlowdownMs: 20 } });
      await auth.createUser({ name: 'fay', role: 'viewer', password: 'fay-password-1' });
      for (let i = 0; i < 20; i++) expect(await auth.login(`typo-${i}`, 'nope-nope-nope', 'office')).toMatchObject({ ok: false });
      const [first, second] = await Promise.allSettled([auth.login('fay', 'fay-password-1', 'office'), auth.login('fay', 'fay-password-1', 'office')]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { ok: true } });
      expect(second).toMatchObject({ status: 'rejected', reason: { code: 'LOGIN_THROTTLED' } });
      expect(await auth.login('fay', 'fay-password-1', 'office')).toMatchObject({ ok: true });
    });
  });

  describe('two nodes on one database', () => {
    it('accepts on one node a token created on the other, at once', async () => {
      const a = await node();
      const b = await node();
      const { token } = await a.auth.createToken({ name: 'scada', role: 'operator' }, 'test');
      expect(await b.auth.authenticateToken(token)).toEqual({ subject: 'token:scada', role: 'operator', via: 'token' });
    });

    it('refuses on the other node a token revoked on one once the cache time has passed, and on the revoking node at once', async () => {
      const a = await node();
      const b = await node();
      await a.auth.createToken({ name: 'root', role: 'admin' }, 'test');
      const { token, view } = await a.auth.createToken({ name: 'scada', role: 'viewer' }, 'test');
      expect(await a.auth.authenticateToken(token)).toBeDefined();
      expect(await b.auth.authenticateToken(token)).toBeDefined();
      const revokedAt = clock.t;
      await a.auth.revokeToken(view.id);
      expect(await a.auth.authenticateToken(token)).toBeUndefined();
      // b verified it at revokedAt: its cache may answer for credentialCacheTtlMs, no longer.
      clock.t = revokedAt + TTL;
      expect(await b.auth.authenticateToken(token)).toBeUndefined();
    });

    it('refuses everywhere at once a revoked token when the cache is off', async () => {
      const a = await node({ credentialCacheTtlMs: 0 });
      const b = await node({ credentialCacheTtlMs: 0 });
      await a.auth.createToken({ name: 'root', role: 'admin' }, 'test');
      const { token, view } = await a.auth.createToken({ name: 'scada', role: 'viewer' }, 'test');
      expect(await b.auth.authenticateToken(token)).toBeDefined();
      await a.auth.revokeToken(view.id);
      expect(await b.auth.authenticateToken(token)).toBeUndefined();
    });

    it('ends on the other node, within the cache time, the sessions of a user disabled on one', async () => {
      const a = await node();
      const b = await node();
      await a.auth.createToken({ name: 'root', role: 'admin' }, 'test');
      await a.auth.createUser({ name: 'hank', role: 'operator', password: 'hank-password-1' });
      const s = await b.auth.login('hank', 'hank-password-1', 'a');
      if (!s.ok) throw new Error('login failed');
      expect((await a.auth.authenticateSession(s.sessionId))?.role).toBe('operator');
      expect((await b.auth.authenticateSession(s.sessionId))?.role).toBe('operator');
      const disabledAt = clock.t;
      await a.auth.updateUser('hank', { disabled: true });
      expect(await a.auth.authenticateSession(s.sessionId)).toBeUndefined();
      clock.t = disabledAt + TTL;
      expect(await b.auth.authenticateSession(s.sessionId)).toBeUndefined();
    });

    it('keeps an admin when two nodes revoke the last two admin tokens at once', async () => {
      const a = await node();
      const b = await node();
      const one = await a.auth.createToken({ name: 'root-1', role: 'admin' }, 'test');
      const two = await a.auth.createToken({ name: 'root-2', role: 'admin' }, 'test');
      const outcomes = await Promise.allSettled([a.auth.revokeToken(one.view.id), b.auth.revokeToken(two.view.id)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason instanceof ConflictError] : []))).toEqual([true]);
      expect(await a.auth.adminExists()).toBe(true);
    });

    it('creates one user when two nodes create the same name at once', async () => {
      const a = await node();
      const b = await node();
      const outcomes = await Promise.allSettled([
        a.auth.createUser({ name: 'ivy', role: 'viewer', password: 'ivy-password-1' }),
        b.auth.createUser({ name: 'ivy', role: 'operator', password: 'ivy-password-2' }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason instanceof ConflictError] : []))).toEqual([true]);
      expect((await b.auth.listUsers()).map((u) => u.name)).toEqual(['ivy']);
    });
  });
});
