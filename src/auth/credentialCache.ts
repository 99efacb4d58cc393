/**
 * Credentials this node verified a moment ago, so the access check on every API request
 * does not wait for a database round trip each time (PostgreSQL is a network hop away; the
 * embedded store answers in microseconds either way).
 *
 * Bounded in time and size: an entry answers for `ttlMs` after it was read from the store
 * (`auth.credentialCacheTtlMs`), and at most `maxEntries` are kept
 * (`auth.credentialCacheMaxEntries`), the oldest dropped first. Only positive answers are
 * kept: an unknown credential is looked up every time, so a token created on another node
 * works at once.
 *
 * A change on this node (revocation, logout, a user disabled, deleted, given a new role or
 * password) forgets the entries it touches at once, and a lookup that was already running
 * when it happened does not put its (stale) answer back: every forget moves `epoch` on, and
 * `put` refuses an answer read under an older epoch. A change on another node is not seen
 * here until the entry ages out: another node's revocation costs at most `ttlMs`.
 */
import type { Principal } from './roles.js';

export interface VerifiedCredential {
  readonly principal: Principal;
  /** Which stored credential it is: what a use updates and a change forgets. */
  readonly of: { readonly kind: 'token'; readonly id: number } | { readonly kind: 'session'; readonly idHash: Buffer; readonly userName: string };
  /** The credential's own end (token expiry, session lifetime); null for none. */
  readonly expiresAt: number | null;
  /** The last use stored or queued for storing; the service moves it on as it records uses. */
  lastUsedAt: number | null;
}

interface Entry {
  readonly credential: VerifiedCredential;
  readonly readAt: number;
}

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private currentEpoch = 0;

  constructor(private readonly ttlMs: number, private readonly maxEntries: number, private readonly now: () => number) {}

  /** Moves on with every forget; read it before a store lookup and hand it to `put`. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** The credential verified under `key` less than `ttlMs` ago, if any. */
  get(key: string): VerifiedCredential | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.readAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.credential;
  }

  /** Keeps `credential`, read from the store at `readAt` under `epoch`, unless something was forgotten since. */
  put(key: string, credential: VerifiedCredential, epoch: number, readAt: number): void {
    if (this.ttlMs <= 0 || epoch !== this.currentEpoch) return;
    this.entries.delete(key);
    this.entries.set(key, { credential, readAt });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  forget(key: string): void {
    this.currentEpoch += 1;
    this.entries.delete(key);
  }

  forgetToken(id: number): void {
    this.forgetWhere((c) => c.of.kind === 'token' && c.of.id === id);
  }

  forgetUser(name: string): void {
    this.forgetWhere((c) => c.of.kind === 'session' && c.of.userName === name);
  }

  get size(): number {
    return this.entries.size;
  }

  private forgetWhere(matches: (c: VerifiedCredential) => boolean): void {
    this.currentEpoch += 1;
    for (const [key, entry] of this.entries) if (matches(entry.credential)) this.entries.delete(key);
  }
}
