/**
 * Guard rails of the command service that hold state: per-terminal rate limits (token
 * buckets) and the single-use confirmation tokens of bulk commands.
 */
import { randomBytes } from 'node:crypto';

/**
 * One token bucket per terminal: `ratePerMinute` tokens a minute, holding at most `burst`.
 * A terminal not seen for a while costs nothing: buckets are created on use and dropped when
 * full again (a full bucket is the same as no bucket).
 */
export class TerminalRateLimit {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #perMs: number;

  constructor(private readonly ratePerMinute: number, private readonly burst: number, private readonly now: () => number) {
    this.#perMs = ratePerMinute / 60_000;
  }

  /** Takes a token for `terminalId`: 0 when granted, else the ms until one is available (nothing taken). */
  take(terminalId: string): number {
    const now = this.now();
    const b = this.#buckets.get(terminalId);
    const tokens = b === undefined ? this.burst : Math.min(this.burst, b.tokens + (now - b.at) * this.#perMs);
    if (tokens >= 1) {
      this.#buckets.set(terminalId, { tokens: tokens - 1, at: now });
      return 0;
    }
    return Math.ceil((1 - tokens) / this.#perMs);
  }

  /** Drops full buckets; call now and then to keep the map to busy terminals. */
  sweep(): void {
    const now = this.now();
    for (const [id, b] of this.#buckets) if (b.tokens + (now - b.at) * this.#perMs >= this.burst) this.#buckets.delete(id);
  }

  get size(): number {
    return this.#buckets.size;
  }
}

export type ConfirmationCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'CONFIRMATION_UNKNOWN' | 'CONFIRMATION_EXPIRED' | 'CONFIRMATION_MISMATCH'; readonly message: string };

/**
 * Confirmation tokens of bulk commands: random, single-use, expiring, bound to the actor and
 * to the hash of the exact request body (everything but the token itself). At most `max`
 * outstanding: the oldest is dropped first, so a client cannot grow the map.
 */
export class ConfirmationTokens {
  readonly #tokens = new Map<string, { readonly actor: string; readonly bodyHash: string; readonly expiresAt: number }>();

  constructor(private readonly ttlMs: number, private readonly max: number, private readonly now: () => number) {}

  issue(actor: string, bodyHash: string): { readonly token: string; readonly expiresAt: number } {
    this.#purge();
    while (this.#tokens.size >= this.max) {
      const oldest = this.#tokens.keys().next();
      if (oldest.done === true) break;
      this.#tokens.delete(oldest.value);
    }
    const token = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.#tokens.set(token, { actor, bodyHash, expiresAt });
    return { token, expiresAt };
  }

  /** Checks and consumes the token: whatever the answer, it cannot be presented again. */
  redeem(token: string, actor: string, bodyHash: string): ConfirmationCheck {
    const entry = this.#tokens.get(token);
    this.#tokens.delete(token);
    if (entry === undefined) return { ok: false, code: 'CONFIRMATION_UNKNOWN', message: 'the confirmation token is unknown or was already used; ask for a new preview' };
    if (entry.expiresAt < this.now()) return { ok: false, code: 'CONFIRMATION_EXPIRED', message: 'the confirmation token expired; ask for a new preview' };
    if (entry.actor !== actor || entry.bodyHash !== bodyHash) {
      return { ok: false, code: 'CONFIRMATION_MISMATCH', message: 'the confirmation token was issued for a different request or principal; ask for a new preview' };
    }
    return { ok: true };
  }

  #purge(): void {
    const now = this.now();
    for (const [t, e] of this.#tokens) if (e.expiresAt < now) this.#tokens.delete(t);
  }
}
