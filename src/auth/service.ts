/**
 * Access control: who a bearer token or session cookie belongs to, logins with
 * throttling, and the admin's management of users and API tokens. Secrets are shown once
 * (a new token, a new session id) and stored only hashed; nothing returned by a listing
 * can be used as a credential.
 *
 * Durability: a token or session is stored before it is handed out, and a revocation, logout
 * or user change is stored before the call resolves (so before the API answers). The
 * per-request check answers from a short cache of credentials verified on this node
 * (credentialCache.ts: a change made on another node is seen within
 * `auth.credentialCacheTtlMs`), and writes "last used" behind the request.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { LogThrottle, type Logger } from '../observe/logger.js';
import type { MetricSource } from '../observe/metrics.js';
import { refusedForGood } from '../storage/refusedRows.js';
import { WriteBehindQueue } from '../storage/writeBehind.js';
import { CredentialCache, type VerifiedCredential } from './credentialCache.js';
import { LoginThrottledError } from './errors.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './loginLimiter.js';
import { DEFAULT_SCRYPT_COST, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, decoyHash, hashPassword, verifyPassword, type ScryptCost } from './passwords.js';
import type { Principal, Role } from './roles.js';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, newSessionId, newToken, sameHash, sha256, tokenPrefix } from './secrets.js';
import type { AuthStore, CredentialUse, SessionOfUser, TokenRow, UserRow } from './store.js';

export interface AuthOptions {
  /** A session unused this long ends. */
  readonly sessionIdleMs: number;
  /** A session ends this long after login, used or not. */
  readonly sessionMaxMs: number;
  /** Sessions kept per user; a new login ends the oldest beyond it. */
  readonly maxSessionsPerUser: number;
  readonly login: LoginLimits;
  /** A verified credential answers from memory this long; a change on another node is seen after it at most. 0: no cache. */
  readonly credentialCacheTtlMs: number;
  /** Verified credentials kept at most (oldest dropped first). */
  readonly credentialCacheMaxEntries: number;
  /** "Last used" writes waiting for the store, at most; beyond it a use is counted, not written. */
  readonly lastUseQueueMax: number;
  readonly scryptCost?: ScryptCost;
  readonly now?: () => number;
  /** Where a failing "last used" write is reported (throttled). */
  readonly logger?: Logger;
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = {
  sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000, maxSessionsPerUser: 20, login: DEFAULT_LOGIN_LIMITS,
  credentialCacheTtlMs: 5_000, credentialCacheMaxEntries: 10_000, lastUseQueueMax: 10_000,
};

/** How long `close` keeps writing queued "last used" times at shutdown. */
export const LAST_USE_DRAIN_MS = 5_000;

export interface UserView {
  readonly name: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastLoginAt: number | null;
}

export interface TokenView {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  /** The token's first characters, to recognise it; not usable as a credential. */
  readonly prefix: string;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly lastUsedAt: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

export interface UserChange {
  readonly role?: Role;
  readonly password?: string;
  readonly disabled?: boolean;
}

export type LoginResult =
  | { readonly ok: true; readonly sessionId: string; readonly user: UserView; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: 'unknown-user' | 'bad-password' | 'disabled' };

/** A password check without a session (OPC UA): the user on success, else why not. */
export type PasswordCheck =
  | { readonly ok: true; readonly user: UserView }
  | { readonly ok: false; readonly reason: 'unknown-user' | 'bad-password' | 'disabled' };

/** Outcomes of login attempts, counted for /metrics. */
export type LoginOutcome = 'ok' | 'unknown-user' | 'bad-password' | 'disabled' | 'throttled';

/** last_used / last_seen are written at most this often per credential, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;
/** "Last used" times written in one statement, at most. */
const LAST_USE_BATCH = 500;
const LOG_INTERVAL_MS = 60_000;

export class AuthService {
  private readonly now: () => number;
  private readonly cost: ScryptCost;
  private readonly limiter: LoginLimiter;
  private readonly verified: CredentialCache;
  private readonly lastUses: WriteBehindQueue<CredentialUse>;
  private readonly throttle: LogThrottle;
  private decoy: Promise<string> | undefined;
  private readonly logins = new Map<LoginOutcome, number>();
  private readonly refusals = new Map<string, number>();
  private lastUsesDropped = 0;

  constructor(private readonly store: AuthStore, private readonly options: AuthOptions = DEFAULT_AUTH_OPTIONS) {
    this.now = options.now ?? Date.now;
    this.cost = options.scryptCost ?? DEFAULT_SCRYPT_COST;
    this.limiter = new LoginLimiter(options.login, this.now);
    this.verified = new CredentialCache(options.credentialCacheTtlMs, options.credentialCacheMaxEntries, this.now);
    this.throttle = new LogThrottle(LOG_INTERVAL_MS, this.now);
    // "Last used" is bookkeeping for the admin and the idle-session rule, not a reason to make
    // a request wait: it is written behind, in order, retried. A crash loses what is queued,
    // at most the last minute of uses per credential (TOUCH_INTERVAL_MS): a listing shows an
    // older "last used", and a session may end that much earlier than its idle time. The
    // embedded store writes it at the call (the queue starts a write at once when idle).
    this.lastUses = new WriteBehindQueue<CredentialUse>({
      write: (uses) => this.store.recordUses(uses),
      max: options.lastUseQueueMax,
      maxBatch: LAST_USE_BATCH,
      what: 'last-used time',
      refusedForGood,
      onFailure: (err, attempt, waiting) => {
        const suppressed = this.throttle.pass('last-use');
        if (suppressed >= 0) options.logger?.warn({ err, attempt, waiting, suppressed }, 'writing the last use of tokens and sessions failed; retrying');
      },
    });
  }

  // ── authentication ──
  /**
   * The principal of a bearer token, or undefined if it is unknown, revoked or expired. Runs on
   * every API request: answered from the cache of tokens verified in the last
   * `auth.credentialCacheTtlMs` when it can, else by one indexed lookup.
   */
  async authenticateToken(token: string): Promise<Principal | undefined> {
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = sha256(token);
    const key = `t${hash.toString('hex')}`;
    const hit = this.verified.get(key);
    if (hit !== undefined && (hit.expiresAt === null || hit.expiresAt > this.now())) return this.used(hit, this.now(), TOUCH_INTERVAL_MS);
    const epoch = this.verified.epoch;
    const row = (await this.store.activeTokensWithPrefix(tokenPrefix(token))).find((r) => sameHash(r.hash, hash));
    const t = this.now();
    if (row === undefined || (row.expiresAt !== null && row.expiresAt <= t)) return undefined;
    const credential: VerifiedCredential = {
      principal: { subject: `token:${row.name}`, role: row.role, via: 'token' }, of: { kind: 'token', id: row.id }, expiresAt: row.expiresAt, lastUsedAt: row.lastUsedAt,
    };
    this.verified.put(key, credential, epoch, t);
    return this.used(credential, t, TOUCH_INTERVAL_MS);
  }

  /**
   * The principal of a session id from the cookie, or undefined if it ended. The cache answers
   * only while the session is clearly alive; an ending one is judged on the stored row.
   */
  async authenticateSession(sessionId: string): Promise<Principal | undefined> {
    if (sessionId.length === 0 || sessionId.length > MAX_TOKEN_LENGTH) return undefined;
    const idHash = sha256(sessionId);
    const key = `s${idHash.toString('hex')}`;
    const touchEvery = Math.min(TOUCH_INTERVAL_MS, this.options.sessionIdleMs / 10);
    const hit = this.verified.get(key);
    const now = this.now();
    if (hit !== undefined && (hit.expiresAt ?? 0) > now && now - (hit.lastUsedAt ?? 0) < this.options.sessionIdleMs) {
      return this.used(hit, now, touchEvery);
    }
    const epoch = this.verified.epoch;
    // This node's own last use of it may be on its way to the store. Taken before the read: a
    // write that commits after the read's snapshot but settles before the row comes back would
    // otherwise leave no trace in the queue, and the row alone would say the session is idle.
    const usesAhead = this.lastUses.stats().waiting > 0 ? this.lastUses.settled() : undefined;
    let s = await this.store.session(idHash);
    if (s === undefined) return undefined;
    const t = this.now();
    const ended = (row: SessionOfUser) => row.expiresAt <= t || t - row.lastSeenAt >= this.options.sessionIdleMs || row.disabled;
    if (ended(s) && usesAhead !== undefined) {
      // Judge on the row after every use queued before the read is stored.
      await usesAhead.catch(() => undefined);
      s = await this.store.session(idHash);
      if (s === undefined) return undefined;
    }
    if (ended(s)) {
      this.verified.forget(key);
      await this.store.deleteSession(idHash);
      return undefined;
    }
    const credential: VerifiedCredential = {
      principal: { subject: `user:${s.userName}`, role: s.role, via: 'session' }, of: { kind: 'session', idHash, userName: s.userName },
      expiresAt: s.expiresAt, lastUsedAt: s.lastSeenAt,
    };
    this.verified.put(key, credential, epoch, t);
    return this.used(credential, t, touchEvery);
  }

  /** Checks a password and opens a session. Throws LoginThrottledError when the user or address is throttled. */
  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const check = await this.checkCredentials(username, password, address);
    if (!check.ok) return check;
    const user = check.row;
    const t = this.now();
    const sessionId = newSessionId();
    const expiresAt = t + this.options.sessionMaxMs;
    await this.store.openSession(sha256(sessionId), { userName: user.name, createdAt: t, lastSeenAt: t, expiresAt }, {
      idleMs: this.options.sessionIdleMs, keep: this.options.maxSessionsPerUser,
    });
    return { ok: true, sessionId, user: userView({ ...user, lastLoginAt: t }), expiresAt };
  }

  /**
   * Checks a user name and password without opening a session (OPC UA sessions authenticate
   * this way). Throttled like `login`: failures count against the user and the source address.
   * Throws LoginThrottledError when either is throttled.
   */
  async verifyPassword(username: string, password: string, source: string): Promise<PasswordCheck> {
    const check = await this.checkCredentials(username, password, source);
    return check.ok ? { ok: true, user: userView(check.row) } : check;
  }

  async logout(sessionId: string): Promise<void> {
    const idHash = sha256(sessionId);
    this.verified.forget(`s${idHash.toString('hex')}`);
    await this.store.deleteSession(idHash);
  }

  // ── users ──
  async listUsers(): Promise<UserView[]> {
    return (await this.store.users()).map(userView);
  }

  async getUser(name: string): Promise<UserView> {
    const user = await this.store.user(name);
    if (user === undefined) throw new NotFoundError('user', name);
    return userView(user);
  }

  async createUser(input: { readonly name: string; readonly role: Role; readonly password: string }): Promise<UserView> {
    checkPassword(input.password);
    const taken = () => new ConflictError(`user ${JSON.stringify(input.name)} already exists`);
    if (await this.store.user(input.name) !== undefined) throw taken();
    const passwordHash = await hashPassword(input.password, this.cost);
    const t = this.now();
    // Two concurrent creations of one name (on this node or another): the second loses at the primary key.
    if (!await this.store.insertUser({ name: input.name, role: input.role, passwordHash, disabled: false, createdAt: t, updatedAt: t })) throw taken();
    return this.getUser(input.name);
  }

  /** Role change, password reset or (dis)enabling; a new password or disabling ends the user's sessions. */
  async updateUser(name: string, change: UserChange): Promise<UserView> {
    if (await this.store.user(name) === undefined) throw new NotFoundError('user', name);
    if (change.password !== undefined) checkPassword(change.password);
    const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password, this.cost);
    const t = this.now();
    const outcome = await this.store.updateUser(name, {
      ...(change.role === undefined ? {} : { role: change.role }),
      ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
      ...(passwordHash === undefined ? {} : { passwordHash }),
      updatedAt: t,
      endSessions: passwordHash !== undefined || change.disabled === true,
    }, t);
    // A role change applies to the user's open sessions at once on this node (within the cache time elsewhere).
    this.verified.forgetUser(name);
    return userView(this.admitted(outcome, 'user', name));
  }

  async deleteUser(name: string): Promise<void> {
    const outcome = await this.store.deleteUser(name, this.now());
    this.verified.forgetUser(name);
    this.admitted(outcome, 'user', name);
  }

  // ── tokens ──
  /** Every token, with the last uses noted before the call (their queued writes are waited for). */
  async listTokens(): Promise<TokenView[]> {
    // Uses given up at shutdown are counted already; the store answers with what it has.
    await this.lastUses.settled().catch(() => undefined);
    return (await this.store.tokens()).map(tokenView);
  }

  /** A new random token, stored before it is returned; `token` is returned here once and never again. */
  async createToken(input: { readonly name: string; readonly role: Role; readonly expiresAt?: number }, createdBy: string): Promise<{ token: string; view: TokenView }> {
    const token = newToken();
    return { token, view: await this.storeToken(token, input, createdBy) };
  }

  /** Stores a token chosen elsewhere (GRIDHEAD_BOOTSTRAP_TOKEN). */
  async importToken(token: string, input: { readonly name: string; readonly role: Role }, createdBy: string): Promise<TokenView> {
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) throw new ValidationError(`a token has ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} characters`);
    return this.storeToken(token, input, createdBy);
  }

  /**
   * Stored before it resolves; refused on this node from then on. Another node may still accept
   * the token until its cache entry ages out: at most `auth.credentialCacheTtlMs`.
   */
  async revokeToken(id: number): Promise<TokenView> {
    const outcome = await this.store.revokeToken(id, this.now());
    this.verified.forgetToken(id);
    return tokenView(this.admitted(outcome, 'token', String(id)));
  }

  adminExists(): Promise<boolean> {
    return this.store.adminExists(this.now());
  }

  /** Writes the queued "last used" times, for up to `timeoutMs`; returns how many were given up. */
  close(timeoutMs = LAST_USE_DRAIN_MS): Promise<number> {
    return this.lastUses.drain(timeoutMs);
  }

  /** The access hook reports each request it refused (UNAUTHENTICATED, FORBIDDEN, CSRF). */
  noteRefusal(code: string): void {
    this.count(this.refusals, code);
  }

  metricSources(): MetricSource[] {
    return [
      { name: 'gridhead_logins', help: 'Dashboard login attempts, by outcome', type: 'counter', labelNames: ['outcome'], read: () => [...this.logins].map(([outcome, value]) => ({ labels: { outcome }, value })) },
      { name: 'gridhead_api_refusals', help: 'API requests refused by access control, by code', type: 'counter', labelNames: ['code'], read: () => [...this.refusals].map(([code, value]) => ({ labels: { code }, value })) },
      {
        name: 'gridhead_auth_last_use_unwritten', help: 'Last-used times of tokens and sessions not written (queue full at auth.lastUseQueueMax, or refused by the store)', type: 'counter',
        read: () => [{ value: this.lastUsesDropped + this.lastUses.stats().refused }],
      },
      { name: 'gridhead_auth_last_use_write_failures', help: 'Writes of last-used times that failed and were retried', type: 'counter', read: () => [{ value: this.lastUses.stats().failures }] },
    ];
  }

  /** The password check shared by `login` and `verifyPassword`: throttled, counted, timing-safe. */
  private async checkCredentials(username: string, password: string, address: string): Promise<{ readonly ok: true; readonly row: UserRow } | Extract<PasswordCheck, { ok: false }>> {
    const gate = this.limiter.check(username, address);
    if (!gate.allowed) {
      this.count(this.logins, 'throttled');
      throw new LoginThrottledError(gate.retryAfterMs);
    }
    try {
      if (gate.delayMs > 0) await sleep(gate.delayMs);
      const user = await this.store.user(username);
      // Verify against a decoy when the user does not exist, so timing does not reveal user names.
      this.decoy ??= decoyHash(this.cost);
      const matches = await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), user?.passwordHash ?? await this.decoy);
      if (user === undefined || !matches || user.disabled) {
        this.limiter.failed(username, address);
        const reason = user === undefined ? 'unknown-user' : !matches ? 'bad-password' : 'disabled';
        this.count(this.logins, reason);
        return { ok: false, reason };
      }
      this.count(this.logins, 'ok');
      this.limiter.succeeded(username);
      return { ok: true, row: user };
    } finally {
      gate.release();
    }
  }

  private count<K>(map: Map<K, number>, key: K): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private async storeToken(token: string, input: { readonly name: string; readonly role: Role; readonly expiresAt?: number }, createdBy: string): Promise<TokenView> {
    const t = this.now();
    if (input.expiresAt !== undefined && input.expiresAt <= t) throw new ValidationError('expiresAt must be in the future', 'expiresAt');
    const row = await this.store.insertToken({
      name: input.name, role: input.role, prefix: tokenPrefix(token), hash: sha256(token), createdAt: t, createdBy, expiresAt: input.expiresAt ?? null,
    });
    if (row === 'name-taken') throw new ConflictError(`a token named ${JSON.stringify(input.name)} exists; revoke it first`);
    return tokenView(row);
  }

  /** The row a guarded store change returned, or the error for why it did not happen (the store rolled it back). */
  private admitted<T>(outcome: T | 'not-found' | 'last-admin' | 'deleted', kind: 'user' | 'token', id: string): T {
    if (outcome === 'not-found') throw new NotFoundError(kind, id);
    if (outcome === 'last-admin') throw new ConflictError('this change would leave no enabled admin user or valid admin token');
    return outcome as T;
  }

  /** Notes a use at `at` of a verified credential, queued for the store once per `every` ms; returns its principal. */
  private used(credential: VerifiedCredential, at: number, every: number): Principal {
    if (credential.lastUsedAt !== null && at - credential.lastUsedAt < every) return credential.principal;
    credential.lastUsedAt = at;
    const of = credential.of;
    if (!this.lastUses.hasRoom()) this.lastUsesDropped += 1;
    else void this.lastUses.push(of.kind === 'token' ? { kind: 'token', id: of.id, at } : { kind: 'session', idHash: of.idHash, at });
    return credential.principal;
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError(`a password has ${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters`, 'password');
  }
}

function userView(u: UserRow): UserView {
  return { name: u.name, role: u.role, disabled: u.disabled, createdAt: u.createdAt, updatedAt: u.updatedAt, lastLoginAt: u.lastLoginAt };
}

function tokenView(t: TokenRow): TokenView {
  return {
    id: t.id, name: t.name, role: t.role, prefix: t.prefix, createdAt: t.createdAt, createdBy: t.createdBy,
    lastUsedAt: t.lastUsedAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt,
  };
}
