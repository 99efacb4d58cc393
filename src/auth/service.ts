/**
 * Access control: who a bearer token or session cookie belongs to, logins with
 * throttling, and the admin's management of users and API tokens. Secrets are shown once
 * (a new token, a new session id) and stored only hashed; nothing returned by a listing
 * can be used as a credential.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { MetricSource } from '../observe/metrics.js';
import type { Db } from '../storage/db.js';
import { LoginThrottledError } from './errors.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './loginLimiter.js';
import { DEFAULT_SCRYPT_COST, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, decoyHash, hashPassword, verifyPassword, type ScryptCost } from './passwords.js';
import type { Principal, Role } from './roles.js';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, newSessionId, newToken, sameHash, sha256, tokenPrefix } from './secrets.js';
import { AuthStore, type TokenRow, type UserRow } from './store.js';

export interface AuthOptions {
  /** A session unused this long ends. */
  readonly sessionIdleMs: number;
  /** A session ends this long after login, used or not. */
  readonly sessionMaxMs: number;
  /** Sessions kept per user; a new login ends the oldest beyond it. */
  readonly maxSessionsPerUser: number;
  readonly login: LoginLimits;
  readonly scryptCost?: ScryptCost;
  readonly now?: () => number;
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = {
  sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000, maxSessionsPerUser: 20, login: DEFAULT_LOGIN_LIMITS,
};

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

export class AuthService {
  private readonly store: AuthStore;
  private readonly now: () => number;
  private readonly cost: ScryptCost;
  private readonly limiter: LoginLimiter;
  private decoy: Promise<string> | undefined;
  private readonly logins = new Map<LoginOutcome, number>();
  private readonly refusals = new Map<string, number>();

  constructor(db: Db, private readonly options: AuthOptions = DEFAULT_AUTH_OPTIONS) {
    this.store = new AuthStore(db);
    this.now = options.now ?? Date.now;
    this.cost = options.scryptCost ?? DEFAULT_SCRYPT_COST;
    this.limiter = new LoginLimiter(options.login, this.now);
  }

  // ── authentication ──
  /** The principal of a bearer token, or undefined if it is unknown, revoked or expired. */
  authenticateToken(token: string): Principal | undefined {
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = sha256(token);
    const t = this.now();
    const row = this.store.activeTokensWithPrefix(tokenPrefix(token)).find((r) => sameHash(r.hash, hash));
    if (row === undefined || (row.expiresAt !== null && row.expiresAt <= t)) return undefined;
    if (row.lastUsedAt === null || t - row.lastUsedAt >= TOUCH_INTERVAL_MS) this.store.touchToken(row.id, t);
    return { subject: `token:${row.name}`, role: row.role, via: 'token' };
  }

  /** The principal of a session id from the cookie, or undefined if it ended. */
  authenticateSession(sessionId: string): Principal | undefined {
    if (sessionId.length === 0 || sessionId.length > MAX_TOKEN_LENGTH) return undefined;
    const key = sha256(sessionId);
    const s = this.store.session(key);
    if (s === undefined) return undefined;
    const t = this.now();
    const user = this.store.user(s.userName);
    if (s.expiresAt <= t || t - s.lastSeenAt >= this.options.sessionIdleMs || user === undefined || user.disabled) {
      this.store.deleteSession(key);
      return undefined;
    }
    if (t - s.lastSeenAt >= Math.min(TOUCH_INTERVAL_MS, this.options.sessionIdleMs / 10)) this.store.touchSession(key, t);
    return { subject: `user:${user.name}`, role: user.role, via: 'session' };
  }

  /** Checks a password and opens a session. Throws LoginThrottledError when the user or address is throttled. */
  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const check = await this.checkCredentials(username, password, address);
    if (!check.ok) return check;
    const user = check.row;
    const t = this.now();
    const sessionId = newSessionId();
    const expiresAt = t + this.options.sessionMaxMs;
    this.store.transaction(() => {
      this.store.pruneSessions(t, this.options.sessionIdleMs);
      this.store.insertSession(sha256(sessionId), { userName: user.name, createdAt: t, lastSeenAt: t, expiresAt });
      this.store.trimSessionsOf(user.name, this.options.maxSessionsPerUser);
      this.store.updateUser({ ...user, lastLoginAt: t });
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

  logout(sessionId: string): void {
    this.store.deleteSession(sha256(sessionId));
  }

  // ── users ──
  listUsers(): UserView[] {
    return this.store.users().map(userView);
  }

  getUser(name: string): UserView {
    return userView(this.requireUser(name));
  }

  async createUser(input: { readonly name: string; readonly role: Role; readonly password: string }): Promise<UserView> {
    checkPassword(input.password);
    if (this.store.user(input.name) !== undefined) throw new ConflictError(`user ${JSON.stringify(input.name)} already exists`);
    const passwordHash = await hashPassword(input.password, this.cost);
    const t = this.now();
    try {
      this.store.insertUser({ name: input.name, role: input.role, passwordHash, disabled: false, createdAt: t, updatedAt: t });
    } catch (err) {
      // Two concurrent creations of one name: the second loses at the primary key.
      if (this.store.user(input.name) !== undefined) throw new ConflictError(`user ${JSON.stringify(input.name)} already exists`);
      throw err;
    }
    return this.getUser(input.name);
  }

  /** Role change, password reset or (dis)enabling; a new password or disabling ends the user's sessions. */
  async updateUser(name: string, change: UserChange): Promise<UserView> {
    this.requireUser(name);
    if (change.password !== undefined) checkPassword(change.password);
    const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password, this.cost);
    return this.store.transaction(() => {
      const user = this.requireUser(name);
      const next: UserRow = {
        ...user,
        ...(change.role === undefined ? {} : { role: change.role }),
        ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
        ...(passwordHash === undefined ? {} : { passwordHash }),
        updatedAt: this.now(),
      };
      this.store.updateUser(next);
      if (passwordHash !== undefined || next.disabled) this.store.deleteSessionsOf(name);
      this.keepAnAdmin();
      return userView(next);
    });
  }

  deleteUser(name: string): void {
    this.store.transaction(() => {
      if (!this.store.deleteUser(name)) throw new NotFoundError('user', name);
      this.keepAnAdmin();
    });
  }

  // ── tokens ──
  listTokens(): TokenView[] {
    return this.store.tokens().map(tokenView);
  }

  /** A new random token; `token` is returned here once and never again. */
  createToken(input: { readonly name: string; readonly role: Role; readonly expiresAt?: number }, createdBy: string): { token: string; view: TokenView } {
    const token = newToken();
    return { token, view: this.storeToken(token, input, createdBy) };
  }

  /** Stores a token chosen elsewhere (GRIDHEAD_BOOTSTRAP_TOKEN). */
  importToken(token: string, input: { readonly name: string; readonly role: Role }, createdBy: string): TokenView {
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) throw new ValidationError(`a token has ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} characters`);
    return this.storeToken(token, input, createdBy);
  }

  /** Revocation takes effect on the next request: tokens are looked up on every request, never cached. */
  revokeToken(id: number): TokenView {
    return this.store.transaction(() => {
      const row = this.store.token(id);
      if (row === undefined) throw new NotFoundError('token', String(id));
      if (row.revokedAt !== null) return tokenView(row);
      this.store.revokeToken(id, this.now());
      this.keepAnAdmin();
      return tokenView(this.store.token(id) ?? row);
    });
  }

  adminExists(): boolean {
    return this.store.adminExists(this.now());
  }

  /** The access hook reports each request it refused (UNAUTHENTICATED, FORBIDDEN, CSRF). */
  noteRefusal(code: string): void {
    this.count(this.refusals, code);
  }

  metricSources(): MetricSource[] {
    return [
      { name: 'gridhead_logins', help: 'Dashboard login attempts, by outcome', type: 'counter', labelNames: ['outcome'], read: () => [...this.logins].map(([outcome, value]) => ({ labels: { outcome }, value })) },
      { name: 'gridhead_api_refusals', help: 'API requests refused by access control, by code', type: 'counter', labelNames: ['code'], read: () => [...this.refusals].map(([code, value]) => ({ labels: { code }, value })) },
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
      const user = this.store.user(username);
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

  private storeToken(token: string, input: { readonly name: string; readonly role: Role; readonly expiresAt?: number }, createdBy: string): TokenView {
    const t = this.now();
    if (input.expiresAt !== undefined && input.expiresAt <= t) throw new ValidationError('expiresAt must be in the future', 'expiresAt');
    return this.store.transaction(() => {
      if (this.store.activeTokenNamed(input.name) !== undefined) throw new ConflictError(`a token named ${JSON.stringify(input.name)} exists; revoke it first`);
      const id = this.store.insertToken({
        name: input.name, role: input.role, prefix: tokenPrefix(token), hash: sha256(token), createdAt: t, createdBy, expiresAt: input.expiresAt ?? null,
      });
      const row = this.store.token(id);
      if (row === undefined) throw new Error(`token ${id} vanished after insert`);
      return tokenView(row);
    });
  }

  private requireUser(name: string): UserRow {
    const user = this.store.user(name);
    if (user === undefined) throw new NotFoundError('user', name);
    return user;
  }

  /** Inside a transaction: refuse (and so roll back) a change that leaves nobody able to administer the station. */
  private keepAnAdmin(): void {
    if (!this.store.adminExists(this.now())) throw new ConflictError('this change would leave no enabled admin user or valid admin token');
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
