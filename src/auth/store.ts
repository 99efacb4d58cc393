/**
 * Users, API tokens and sessions: the store port the AuthService works through, and its
 * embedded implementation (migration 7). SQL only: the rules (expiry, hashing, which change
 * ends sessions) live in service.ts. Every change that could leave the station without an
 * admin is one atomic method here, checked inside its transaction and rolled back when it
 * would ("last-admin"), so two requests can never each remove "the other" admin.
 */
import { settled, type Db } from '../storage/db.js';
import type { Role } from './roles.js';

export interface UserRow {
  readonly name: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastLoginAt: number | null;
}

export interface TokenRow {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly prefix: string;
  readonly hash: Buffer;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly lastUsedAt: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

export interface SessionRow {
  readonly userName: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
}

/** A session with what its user is now (one lookup for the per-request check). */
export interface SessionOfUser extends SessionRow {
  readonly role: Role;
  readonly disabled: boolean;
}

export type NewToken = Omit<TokenRow, 'id' | 'lastUsedAt' | 'revokedAt'>;

export interface UserUpdate {
  readonly role?: Role;
  readonly passwordHash?: string;
  readonly disabled?: boolean;
  readonly updatedAt: number;
  /** Deletes the user's sessions in the same transaction. */
  readonly endSessions: boolean;
}

/** When a credential was last used: written behind the request, at most once a minute each. */
export type CredentialUse =
  | { readonly kind: 'token'; readonly id: number; readonly at: number }
  | { readonly kind: 'session'; readonly idHash: Buffer; readonly at: number };

export interface SessionLimits {
  /** Sessions idle this long are removed when another opens. */
  readonly idleMs: number;
  /** Sessions kept per user, newest first. */
  readonly keep: number;
}

/** Refused because no enabled admin user or valid admin token would remain (rolled back). */
export type LastAdmin = 'last-admin';

export interface AuthStore {
  users(): Promise<UserRow[]>;
  user(name: string): Promise<UserRow | undefined>;
  /** False when a user of that name exists (also when another node created it a moment ago). */
  insertUser(u: Omit<UserRow, 'lastLoginAt'>): Promise<boolean>;
  /** Applies `change`; refused when afterwards no admin could act at `now`. */
  updateUser(name: string, change: UserUpdate, now: number): Promise<UserRow | 'not-found' | LastAdmin>;
  /** Deletes the user (and, by cascade, their sessions); refused when no admin would remain. */
  deleteUser(name: string, now: number): Promise<'deleted' | 'not-found' | LastAdmin>;

  tokens(): Promise<TokenRow[]>;
  token(id: number): Promise<TokenRow | undefined>;
  /** Unrevoked tokens whose public prefix is `prefix` (the per-request lookup: indexed). */
  activeTokensWithPrefix(prefix: string): Promise<TokenRow[]>;
  /** 'name-taken' when an unrevoked token has that name. */
  insertToken(t: NewToken): Promise<TokenRow | 'name-taken'>;
  /** Revokes at `at` (a revoked token is returned as it is); refused when no admin would remain. */
  revokeToken(id: number, at: number): Promise<TokenRow | 'not-found' | LastAdmin>;
  /** An admin that can act: an enabled admin user, or an admin token neither revoked nor expired. */
  adminExists(now: number): Promise<boolean>;

  session(idHash: Buffer): Promise<SessionOfUser | undefined>;
  /**
   * Opens a session in one transaction: removes sessions past their expiry or idle, stores
   * this one, keeps the user's newest `limits.keep`, and records the login on the user.
   */
  openSession(idHash: Buffer, s: SessionRow, limits: SessionLimits): Promise<void>;
  deleteSession(idHash: Buffer): Promise<void>;
  /** Records last uses; a use older than the one stored does not move it back. */
  recordUses(uses: readonly CredentialUse[]): Promise<void>;
}

interface RawUser { name: string; role: Role; password_hash: string; disabled: number; created_at: number; updated_at: number; last_login_at: number | null }
interface RawToken { id: number; name: string; role: Role; prefix: string; hash: Buffer; created_at: number; created_by: string; last_used_at: number | null; expires_at: number | null; revoked_at: number | null }

/** Thrown inside a transaction to roll it back when the change would leave no admin; never leaves a store. */
export class LastAdminRollback extends Error {}

export class SqliteAuthStore implements AuthStore {
  constructor(private readonly db: Db) {}

  // ── users ──
  users(): Promise<UserRow[]> {
    return settled(() => (this.db.prepare('SELECT * FROM users ORDER BY name').all() as RawUser[]).map(userOf));
  }

  user(name: string): Promise<UserRow | undefined> {
    return settled(() => this.userNow(name));
  }

  insertUser(u: Omit<UserRow, 'lastLoginAt'>): Promise<boolean> {
    // ON CONFLICT, not OR IGNORE: only the name's uniqueness is ignored, a CHECK still fails.
    return settled(() => this.db.prepare(`INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (name) DO NOTHING`).run(u.name, u.role, u.passwordHash, u.disabled ? 1 : 0, u.createdAt, u.updatedAt).changes === 1);
  }

  updateUser(name: string, change: UserUpdate, now: number): Promise<UserRow | 'not-found' | LastAdmin> {
    return settled(() => this.keepingAnAdmin(now, () => {
      const user = this.userNow(name);
      if (user === undefined) return 'not-found';
      const next: UserRow = {
        ...user,
        ...(change.role === undefined ? {} : { role: change.role }),
        ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
        ...(change.passwordHash === undefined ? {} : { passwordHash: change.passwordHash }),
        updatedAt: change.updatedAt,
      };
      this.db.prepare('UPDATE users SET role = ?, password_hash = ?, disabled = ?, updated_at = ? WHERE name = ?')
        .run(next.role, next.passwordHash, next.disabled ? 1 : 0, next.updatedAt, name);
      if (change.endSessions) this.db.prepare('DELETE FROM sessions WHERE user_name = ?').run(name);
      return next;
    }));
  }

  deleteUser(name: string, now: number): Promise<'deleted' | 'not-found' | LastAdmin> {
    return settled(() => this.keepingAnAdmin(now, () =>
      (this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0 ? 'deleted' : 'not-found')));
  }

  // ── tokens ──
  tokens(): Promise<TokenRow[]> {
    return settled(() => (this.db.prepare('SELECT * FROM api_tokens ORDER BY id').all() as RawToken[]).map(tokenOf));
  }

  token(id: number): Promise<TokenRow | undefined> {
    return settled(() => this.tokenNow(id));
  }

  activeTokensWithPrefix(prefix: string): Promise<TokenRow[]> {
    return settled(() => (this.db.prepare('SELECT * FROM api_tokens WHERE prefix = ? AND revoked_at IS NULL').all(prefix) as RawToken[]).map(tokenOf));
  }

  insertToken(t: NewToken): Promise<TokenRow | 'name-taken'> {
    return settled(() => this.db.transaction((): TokenRow | 'name-taken' => {
      if (this.db.prepare('SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL').get(t.name) !== undefined) return 'name-taken';
      const info = this.db.prepare('INSERT INTO api_tokens (name, role, prefix, hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(t.name, t.role, t.prefix, t.hash, t.createdAt, t.createdBy, t.expiresAt);
      const row = this.tokenNow(Number(info.lastInsertRowid));
      if (row === undefined) throw new Error(`token ${String(info.lastInsertRowid)} vanished after insert`);
      return row;
    })());
  }

  revokeToken(id: number, at: number): Promise<TokenRow | 'not-found' | LastAdmin> {
    return settled(() => this.keepingAnAdmin(at, () => {
      const row = this.tokenNow(id);
      if (row === undefined) return 'not-found';
      if (row.revokedAt !== null) return row;
      this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(at, id);
      return { ...row, revokedAt: at };
    }));
  }

  adminExists(now: number): Promise<boolean> {
    return settled(() => this.adminExistsNow(now));
  }

  // ── sessions ──
  session(idHash: Buffer): Promise<SessionOfUser | undefined> {
    return settled(() => {
      const raw = this.db.prepare(`SELECT s.user_name, s.created_at, s.last_seen_at, s.expires_at, u.role, u.disabled
        FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = ?`).get(idHash) as RawSession | undefined;
      return raw === undefined ? undefined : sessionOf(raw);
    });
  }

  openSession(idHash: Buffer, s: SessionRow, limits: SessionLimits): Promise<void> {
    return settled(this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?').run(s.createdAt, s.createdAt - limits.idleMs);
      this.db.prepare('INSERT INTO sessions (id_hash, user_name, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(idHash, s.userName, s.createdAt, s.lastSeenAt, s.expiresAt);
      this.db.prepare(`DELETE FROM sessions WHERE user_name = ? AND id_hash NOT IN (
        SELECT id_hash FROM sessions WHERE user_name = ? ORDER BY created_at DESC LIMIT ?)`).run(s.userName, s.userName, limits.keep);
      this.db.prepare('UPDATE users SET last_login_at = ? WHERE name = ?').run(s.createdAt, s.userName);
    }));
  }

  deleteSession(idHash: Buffer): Promise<void> {
    return settled(() => { this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash); });
  }

  recordUses(uses: readonly CredentialUse[]): Promise<void> {
    return settled(this.db.transaction(() => {
      const token = this.db.prepare('UPDATE api_tokens SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?');
      const session = this.db.prepare('UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?');
      for (const u of uses) {
        if (u.kind === 'token') token.run(u.at, u.id);
        else session.run(u.at, u.idHash);
      }
    }));
  }

  private userNow(name: string): UserRow | undefined {
    const raw = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as RawUser | undefined;
    return raw === undefined ? undefined : userOf(raw);
  }

  private tokenNow(id: number): TokenRow | undefined {
    const raw = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as RawToken | undefined;
    return raw === undefined ? undefined : tokenOf(raw);
  }

  private adminExistsNow(now: number): boolean {
    const row = this.db.prepare(`SELECT
      EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0) OR
      EXISTS (SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)) AS present`).get(now) as { present: number };
    return row.present === 1;
  }

  /** Runs `change` in a transaction, rolled back ('last-admin') when afterwards no admin could act at `now`. */
  private keepingAnAdmin<T>(now: number, change: () => T | 'not-found'): T | 'not-found' | LastAdmin {
    try {
      return this.db.transaction(() => {
        const outcome = change();
        if (outcome !== 'not-found' && !this.adminExistsNow(now)) throw new LastAdminRollback();
        return outcome;
      })();
    } catch (err) {
      if (err instanceof LastAdminRollback) return 'last-admin';
      throw err;
    }
  }
}

interface RawSession { user_name: string; created_at: number; last_seen_at: number; expires_at: number; role: Role; disabled: number | boolean }

export function userOf(r: RawUser | (Omit<RawUser, 'disabled'> & { disabled: boolean })): UserRow {
  return {
    name: r.name, role: r.role, passwordHash: r.password_hash, disabled: r.disabled === 1 || r.disabled === true,
    createdAt: r.created_at, updatedAt: r.updated_at, lastLoginAt: r.last_login_at,
  };
}

export function tokenOf(r: RawToken): TokenRow {
  return {
    id: r.id, name: r.name, role: r.role, prefix: r.prefix, hash: r.hash, createdAt: r.created_at, createdBy: r.created_by,
    lastUsedAt: r.last_used_at, expiresAt: r.expires_at, revokedAt: r.revoked_at,
  };
}

export function sessionOf(r: RawSession): SessionOfUser {
  return {
    userName: r.user_name, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at, role: r.role,
    disabled: r.disabled === 1 || r.disabled === true,
  };
}
