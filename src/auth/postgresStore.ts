/**
 * Users, API tokens and sessions on PostgreSQL (tables `users`, `api_tokens`, `sessions`,
 * src/storage/postgres/migrations.ts), with the embedded store's semantics (store.ts).
 *
 * Several nodes change users and tokens at once. A change that could leave no admin takes a
 * transaction-scoped advisory lock first, so such changes run one after the other across the
 * cluster: under READ COMMITTED two admins revoking each other's tokens at once would each see
 * the other's token still valid and both commit, leaving nobody able to administer the station.
 * Creating a user or a token needs no lock: the primary key and the unique index on the active
 * token names settle a race, and adding never removes an admin.
 */
import type { Role } from './roles.js';
import type { PostgresDatabase, Queryable } from '../storage/postgres/connection.js';
import { ADVISORY_LOCK_SPACE } from '../storage/postgres/connection.js';
import {
  LastAdminRollback, sessionOf, tokenOf, userOf,
  type AuthStore, type CredentialUse, type LastAdmin, type NewToken, type SessionLimits, type SessionOfUser, type SessionRow, type TokenRow, type UserRow, type UserUpdate,
} from './store.js';

/** Second key of the advisory lock under which admin-removing changes run: 'auth' in ASCII. */
export const LOCK_AUTH_ADMINS = 0x61757468;

interface PgUser { name: string; role: Role; password_hash: string; disabled: boolean; created_at: number; updated_at: number; last_login_at: number | null }
interface PgToken { id: number; name: string; role: Role; prefix: string; hash: Buffer; created_at: number; created_by: string; last_used_at: number | null; expires_at: number | null; revoked_at: number | null }
interface PgSession { user_name: string; created_at: number; last_seen_at: number; expires_at: number; role: Role; disabled: boolean }

export class PostgresAuthStore implements AuthStore {
  constructor(private readonly db: PostgresDatabase) {}

  // ── users ──
  async users(): Promise<UserRow[]> {
    return (await this.db.run((sql) => sql<PgUser[]>`SELECT * FROM users ORDER BY name`)).map(userOf);
  }

  async user(name: string): Promise<UserRow | undefined> {
    const [raw] = await this.db.run((sql) => sql<PgUser[]>`SELECT * FROM users WHERE name = ${name}`);
    return raw === undefined ? undefined : userOf(raw);
  }

  async insertUser(u: Omit<UserRow, 'lastLoginAt'>): Promise<boolean> {
    const inserted = await this.db.run((sql) => sql`
      INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at)
      VALUES (${u.name}, ${u.role}, ${u.passwordHash}, ${u.disabled}, ${u.createdAt}, ${u.updatedAt})
      ON CONFLICT (name) DO NOTHING`);
    return inserted.count === 1;
  }

  updateUser(name: string, change: UserUpdate, now: number): Promise<UserRow | 'not-found' | LastAdmin> {
    return this.keepingAnAdmin(now, async (tx) => {
      const [raw] = await tx<PgUser[]>`
        UPDATE users SET
          role = coalesce(${change.role ?? null}::text, role),
          password_hash = coalesce(${change.passwordHash ?? null}::text, password_hash),
          disabled = coalesce(${change.disabled ?? null}::boolean, disabled),
          updated_at = ${change.updatedAt}
        WHERE name = ${name} RETURNING *`;
      if (raw === undefined) return 'not-found';
      if (change.endSessions) await tx`DELETE FROM sessions WHERE user_name = ${name}`;
      return userOf(raw);
    });
  }

  deleteUser(name: string, now: number): Promise<'deleted' | 'not-found' | LastAdmin> {
    return this.keepingAnAdmin(now, async (tx) => ((await tx`DELETE FROM users WHERE name = ${name}`).count > 0 ? 'deleted' : 'not-found'));
  }

  // ── tokens ──
  async tokens(): Promise<TokenRow[]> {
    return (await this.db.run((sql) => sql<PgToken[]>`SELECT * FROM api_tokens ORDER BY id`)).map(tokenOf);
  }

  async token(id: number): Promise<TokenRow | undefined> {
    const [raw] = await this.db.run((sql) => sql<PgToken[]>`SELECT * FROM api_tokens WHERE id = ${id}`);
    return raw === undefined ? undefined : tokenOf(raw);
  }

  async activeTokensWithPrefix(prefix: string): Promise<TokenRow[]> {
    return (await this.db.run((sql) => sql<PgToken[]>`SELECT * FROM api_tokens WHERE prefix = ${prefix} AND revoked_at IS NULL`)).map(tokenOf);
  }

  async insertToken(t: NewToken): Promise<TokenRow | 'name-taken'> {
    // The partial unique index on active names is the arbiter: another node's token of the same name makes this a no-op.
    const [raw] = await this.db.run((sql) => sql<PgToken[]>`
      INSERT INTO api_tokens (name, role, prefix, hash, created_at, created_by, expires_at)
      VALUES (${t.name}, ${t.role}, ${t.prefix}, ${t.hash}, ${t.createdAt}, ${t.createdBy}, ${t.expiresAt})
      ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
      RETURNING *`);
    return raw === undefined ? 'name-taken' : tokenOf(raw);
  }

  revokeToken(id: number, at: number): Promise<TokenRow | 'not-found' | LastAdmin> {
    return this.keepingAnAdmin(at, async (tx) => {
      const [raw] = await tx<PgToken[]>`
        UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ${at}) WHERE id = ${id} RETURNING *`;
      return raw === undefined ? 'not-found' : tokenOf(raw);
    });
  }

  adminExists(now: number): Promise<boolean> {
    return this.db.run((sql) => adminExists(sql, now));
  }

  // ── sessions ──
  async session(idHash: Buffer): Promise<SessionOfUser | undefined> {
    const [raw] = await this.db.run((sql) => sql<PgSession[]>`
      SELECT s.user_name, s.created_at, s.last_seen_at, s.expires_at, u.role, u.disabled
      FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = ${idHash}`);
    return raw === undefined ? undefined : sessionOf(raw);
  }

  async openSession(idHash: Buffer, s: SessionRow, limits: SessionLimits): Promise<void> {
    await this.db.run((sql) => sql.begin(async (tx) => {
      await tx`DELETE FROM sessions WHERE expires_at <= ${s.createdAt} OR last_seen_at <= ${s.createdAt - limits.idleMs}`;
      await tx`INSERT INTO sessions (id_hash, user_name, created_at, last_seen_at, expires_at)
        VALUES (${idHash}, ${s.userName}, ${s.createdAt}, ${s.lastSeenAt}, ${s.expiresAt})`;
      await tx`DELETE FROM sessions WHERE user_name = ${s.userName} AND id_hash NOT IN (
        SELECT id_hash FROM sessions WHERE user_name = ${s.userName} ORDER BY created_at DESC LIMIT ${limits.keep})`;
      await tx`UPDATE users SET last_login_at = ${s.createdAt} WHERE name = ${s.userName}`;
    }));
  }

  async deleteSession(idHash: Buffer): Promise<void> {
    await this.db.run((sql) => sql`DELETE FROM sessions WHERE id_hash = ${idHash}`);
  }

  async recordUses(uses: readonly CredentialUse[]): Promise<void> {
    // One row per credential (the latest use), so each UPDATE … FROM matches a row once.
    const tokens = new Map<number, number>();
    const sessions = new Map<string, number>();
    for (const u of uses) {
      if (u.kind === 'token') tokens.set(u.id, Math.max(u.at, tokens.get(u.id) ?? 0));
      else sessions.set(u.idHash.toString('hex'), Math.max(u.at, sessions.get(u.idHash.toString('hex')) ?? 0));
    }
    // GREATEST: a use written late (another node's, a retry) never moves the time back; retrying the batch is harmless.
    await this.db.run(async (sql) => {
      if (tokens.size > 0) {
        await sql`UPDATE api_tokens t SET last_used_at = greatest(t.last_used_at, v.at)
          FROM unnest(${[...tokens.keys()]}::int8[], ${[...tokens.values()]}::int8[]) AS v(id, at) WHERE t.id = v.id`;
      }
      if (sessions.size > 0) {
        await sql`UPDATE sessions s SET last_seen_at = greatest(s.last_seen_at, v.at)
          FROM unnest(${[...sessions.keys()]}::text[], ${[...sessions.values()]}::int8[]) AS v(id_hex, at) WHERE s.id_hash = decode(v.id_hex, 'hex')`;
      }
    });
  }

  /** Runs `change` in a transaction under the admin lock, rolled back ('last-admin') when afterwards no admin could act at `now`. */
  private async keepingAnAdmin<T>(now: number, change: (tx: Queryable) => Promise<T | 'not-found'>): Promise<T | 'not-found' | LastAdmin> {
    try {
      return await this.db.run((sql) => sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_SPACE}, ${LOCK_AUTH_ADMINS})`;
        const outcome = await change(tx);
        if (outcome !== 'not-found' && !(await adminExists(tx, now))) throw new LastAdminRollback();
        return outcome;
      }));
    } catch (err) {
      if (err instanceof LastAdminRollback || (err instanceof Error && err.cause instanceof LastAdminRollback)) return 'last-admin';
      throw err;
    }
  }
}

async function adminExists(sql: Queryable, now: number): Promise<boolean> {
  const [row] = await sql<{ present: boolean }[]>`SELECT
    EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled) OR
    EXISTS (SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})) AS present`;
  return row?.present === true;
}
