/**
 * Login throttling: failed attempts are counted per user name and per source address in
 * a sliding window. Both maps are bounded: when full, the key whose last failure is oldest
 * is forgotten first.
 *
 * Past the per-user limit, attempts for that name are refused (429) until the oldest failure
 * ages out, without even checking the password: guessing one account stops there.
 *
 * Past the per-address limit, attempts from that address are slowed, not refused: each waits
 * `addressSlowdownMs` and only one at a time is checked (a second one meanwhile gets 429).
 * Many people share one address (an office NAT, a reverse proxy without `http.trustProxy`):
 * a hard lock let twenty typos by anyone there lock everyone out, even with the right
 * password. The slowdown still bounds a password spray from one address to one guess per
 * `addressSlowdownMs`, and the per-user limit still holds for every name it tries.
 */

export interface LoginLimits {
  /** Failures of one user name within the window before its logins are refused. */
  readonly maxFailuresPerUser: number;
  /** Failures from one address within the window (higher: many users may share a NAT). */
  readonly maxFailuresPerAddress: number;
  readonly windowMs: number;
  /** Keys remembered per map, at most. */
  readonly maxKeys: number;
  /** Past the address limit, each attempt from the address waits this long, one at a time. */
  readonly addressSlowdownMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { maxFailuresPerUser: 5, maxFailuresPerAddress: 20, windowMs: 15 * 60_000, maxKeys: 10_000, addressSlowdownMs: 2_000 };

/**
 * May the attempt be checked: after waiting `delayMs` (0 unless the address is slowed), and
 * calling `release` when done; or refused, with the wait a retry needs.
 */
export type LoginGate =
  | { readonly allowed: true; readonly delayMs: number; readonly release: () => void }
  | { readonly allowed: false; readonly retryAfterMs: number; readonly by: 'user' | 'address' };

const NOTHING_TO_RELEASE = () => undefined;

export class LoginLimiter {
  private readonly byUser: FailureWindow;
  private readonly byAddress: FailureWindow;
  /** Slowed addresses with an attempt being checked now; bounded by the requests in flight. */
  private readonly slowedInFlight = new Set<string>();

  constructor(readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS, private readonly now: () => number = Date.now) {
    this.byUser = new FailureWindow(limits.maxFailuresPerUser, limits.windowMs, limits.maxKeys);
    this.byAddress = new FailureWindow(limits.maxFailuresPerAddress, limits.windowMs, limits.maxKeys);
  }

  /** Whether a login for `user` from `address` may be tried now; an allowed gate must be released. */
  check(user: string, address: string): LoginGate {
    const t = this.now();
    const userWait = this.byUser.waitMs(user, t);
    if (userWait > 0) return { allowed: false, retryAfterMs: userWait, by: 'user' };
    if (this.byAddress.waitMs(address, t) === 0) return { allowed: true, delayMs: 0, release: NOTHING_TO_RELEASE };
    const delayMs = this.limits.addressSlowdownMs;
    if (this.slowedInFlight.has(address)) return { allowed: false, retryAfterMs: delayMs, by: 'address' };
    this.slowedInFlight.add(address);
    return { allowed: true, delayMs, release: () => { this.slowedInFlight.delete(address); } };
  }

  failed(user: string, address: string): void {
    const t = this.now();
    this.byUser.add(user, t);
    this.byAddress.add(address, t);
  }

  /** A success forgets the user's failures (not the address's: one good password must not reset a spray). */
  succeeded(user: string): void {
    this.byUser.clear(user);
  }

  /** Keys tracked now (for tests and metrics). */
  get size(): { users: number; addresses: number } {
    return { users: this.byUser.size, addresses: this.byAddress.size };
  }
}

class FailureWindow {
  /** Failure times per key, oldest first; Map order = order of the last failure. */
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly max: number, private readonly windowMs: number, private readonly maxKeys: number) {}

  get size(): number {
    return this.failures.size;
  }

  waitMs(key: string, t: number): number {
    const times = this.recent(key, t);
    if (times.length < this.max) return 0;
    const oldest = times[times.length - this.max] ?? t;
    return Math.max(1, oldest + this.windowMs - t);
  }

  add(key: string, t: number): void {
    const times = this.recent(key, t);
    times.push(t);
    // Never more than `max` kept: the limit only needs the newest `max` failures.
    if (times.length > this.max) times.splice(0, times.length - this.max);
    this.failures.delete(key);
    this.failures.set(key, times);
    while (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next();
      if (oldest.done === true) break;
      this.failures.delete(oldest.value);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, t: number): number[] {
    const times = this.failures.get(key);
    if (times === undefined) return [];
    const kept = times.filter((x) => t - x < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    return kept;
  }
}
