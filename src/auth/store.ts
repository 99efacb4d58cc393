/**
 * Users, API tokens and sessions in the embedded store (migration 7). SQL only: the rules
 * (expiry, last admin, hashing) live in service.ts.
 */
import type { Db } from '../storage/db.js';
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

interface RawUser { name: string; role: Role; password_hash: string; disabled: number; created_at: number; updated_at: number; last_login_at: number | null }
interface RawToken { id: number; name: string; role: Role; prefix: string; hash: Buffer; created_at: number; created_by: string; last_used_at: number | null; expires_at: number | null; revoked_at: number | null }

export class AuthStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ── users ──
  users(): UserRow[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as RawUser[]).map(userOf);
  }

  user(name: string): UserRow | undefined {
    const raw = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as RawUser | undefined;
    return raw === undefined ? undefined : userOf(raw);
  }

  insertUser(u: Omit<UserRow, 'lastLoginAt'>): void {
    this.db.prepare('INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(u.name, u.role, u.passwordHash, u.disabled ? 1 : 0, u.createdAt, u.updatedAt);
  }

  updateUser(u: UserRow): void {
    this.db.prepare('UPDATE users SET role = ?, password_hash = ?, disabled = ?, updated_at = ?, last_login_at = ? WHERE name = ?')
      .run(u.role, u.passwordHash, u.disabled ? 1 : 0, u.updatedAt, u.lastLoginAt, u.name);
  }

  deleteUser(name: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }

  // ── tokens ──
  tokens(): TokenRow[] {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY id').all() as RawToken[]).map(tokenOf);
  }

  token(id: number): TokenRow | undefined {
    const raw = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as RawToken | undefined;
    return raw === undefined ? undefined : tokenOf(raw);
  }

  activeTokensWithPrefix(prefix: string): TokenRow[] {
    return (this.db.prepare('SELECT * FROM api_tokens WHERE prefix = ? AND revoked_at IS NULL').all(prefix) as RawToken[]).map(tokenOf);
  }

  activeTokenNamed(name: string): TokenRow | undefined {
    const raw = this.db.prepare('SELECT * FROM api_tokens WHERE name = ? AND revoked_at IS NULL').get(name) as RawToken | undefined;
    return raw === undefined ? undefined : tokenOf(raw);
  }

  insertToken(t: Omit<TokenRow, 'id' | 'lastUsedAt' | 'revokedAt'>): number {
    const info = this.db.prepare('INSERT INTO api_tokens (name, role, prefix, hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(t.name, t.role, t.prefix, t.hash, t.createdAt, t.createdBy, t.expiresAt);
    return Number(info.lastInsertRowid);
  }

  touchToken(id: number, at: number): void {
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  revokeToken(id: number, at: number): void {
    this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
  }

  /** An admin that can act: an enabled admin user, or an admin token neither revoked nor expired. */
  adminExists(now: number): boolean {
    const row = this.db.prepare(`SELECT
      EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0) OR
      EXISTS (SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)) AS present`).get(now) as { present: number };
    return row.present === 1;
  }

  // ── sessions ──
  session(idHash: Buffer): SessionRow | undefined {
    const raw = this.db.prepare('SELECT user_name, created_at, last_seen_at, expires_at FROM sessions WHERE id_hash = ?').get(idHash) as
      { user_name: string; created_at: number; last_seen_at: number; expires_at: number } | undefined;
    return raw === undefined ? undefined : { userName: raw.user_name, createdAt: raw.created_at, lastSeenAt: raw.last_seen_at, expiresAt: raw.expires_at };
  }

  insertSession(idHash: Buffer, s: SessionRow): void {
    this.db.prepare('INSERT INTO sessions (id_hash, user_name, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(idHash, s.userName, s.createdAt, s.lastSeenAt, s.expiresAt);
  }

  touchSession(idHash: Buffer, at: number): void {
    this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(at, idHash);
  }

  deleteSession(idHash: Buffer): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  deleteSessionsOf(userName: string): void {
    this.db.prepare('DELETE FROM sessions WHERE user_name = ?').run(userName);
  }

  /** Removes sessions past their absolute expiry or idle longer than `idleMs`. */
  pruneSessions(now: number, idleMs: number): void {
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?').run(now, now - idleMs);
  }

  /** Keeps the user's `keep` newest sessions. */
  trimSessionsOf(userName: string, keep: number): void {
    this.db.prepare(`DELETE FROM sessions WHERE user_name = ? AND id_hash NOT IN (
      SELECT id_hash FROM sessions WHERE user_name = ? ORDER BY created_at DESC LIMIT ?)`).run(userName, userName, keep);
  }
}

function userOf(r: RawUser): UserRow {
  return { name: r.name, role: r.role, passwordHash: r.password_hash, disabled: r.disabled === 1, createdAt: r.created_at, updatedAt: r.updated_at, lastLoginAt: r.last_login_at };
}

function tokenOf(r: RawToken): TokenRow {
  return {
    id: r.id, name: r.name, role: r.role, prefix: r.prefix, hash: r.hash, createdAt: r.created_at, createdBy: r.created_by,
    lastUsedAt: r.last_used_at, expiresAt: r.expires_at, revokedAt: r.revoked_at,
  };
}
