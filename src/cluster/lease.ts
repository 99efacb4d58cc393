/**
 * A named lease in PostgreSQL (`cluster_leases`), held by one node at a time: the leader's
 * lease, and later one per area. Acquiring and renewing are single atomic statements whose
 * times are the server's `now()`, so the nodes' clocks never meet and clock skew between nodes
 * does not matter. Every new holder gets the token plus one; a renewal keeps it. The token
 * fences the holder's side effects (fencing.ts).
 *
 * The holder stops acting before the server can hand the lease to another node: a renewal
 * sent at local time t, if it succeeds, is trusted until t + leaseMs − margin on this
 * process's monotonic clock. The server's expiry is its own now() + leaseMs at a moment after
 * t, so it is later than that in real time; only durations on one clock are compared. A
 * renewal refused (another holder, or expired) loses the lease at once; one that fails or
 * hangs loses it when that deadline passes. `isHolder()` reads the clock at each call, so a
 * process that was paused knows it lost as soon as it runs again.
 *
 * Bounds: one statement in flight per lease; one attempt every `renewEveryMs`.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { FencingToken, Leadership } from './fencing.js';

export interface LeaseOptions {
  /** The lease's name: `leader`, later `area:<id>`. */
  readonly name: string;
  /** The node id that holds it. */
  readonly holder: string;
  /** How long a grant or renewal lasts, by the server's clock. */
  readonly leaseMs: number;
  /** One acquisition attempt or renewal this often; default leaseMs / 3. */
  readonly renewEveryMs?: number;
  /** Trust ends this long before the lease would expire, for timer delays and clock rates; default leaseMs / 5. */
  readonly marginMs?: number;
  /** This process's clock in ms, used only to measure durations; default the monotonic `performance.now()`. */
  readonly clock?: () => number;
  /** A statement failed (the database unreachable, say); the loop keeps trying. Log it throttled. */
  readonly onError?: (err: unknown) => void;
}

export type LeaseLossReason = 'refused' | 'late' | 'closed';

/** The default margin: trust in a lease (the leader's, an area's) ends this long before it would expire. */
export function trustMarginMs(leaseMs: number): number {
  return Math.floor(leaseMs / 5);
}

export interface LeaseEvents {
  /** This node holds the lease under `token` from now on. */
  gained: (token: number) => void;
  /** This node no longer holds it: act no more under `token`. */
  lost: (token: number, reason: LeaseLossReason) => void;
}

/** What the server says about a lease, for /health. */
export interface LeaseRecord {
  readonly holder: string;
  readonly token: number;
  /** Whether the server's clock has not passed its expiry yet. */
  readonly live: boolean;
}

interface Held { readonly token: number; validUntil: number }

export class Lease implements Leadership {
  readonly name: string;
  readonly #o: Required<Omit<LeaseOptions, 'onError'>> & Pick<LeaseOptions, 'onError'>;
  readonly #listeners: { [K in keyof LeaseEvents]: Set<LeaseEvents[K]> } = { gained: new Set(), lost: new Set() };
  #held: Held | undefined;
  #tick: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(private readonly db: PostgresDatabase, options: LeaseOptions) {
    this.name = options.name;
    this.#o = {
      renewEveryMs: Math.floor(options.leaseMs / 3),
      marginMs: trustMarginMs(options.leaseMs),
      clock: () => performance.now(),
      ...options,
    };
    if (this.#o.renewEveryMs + this.#o.marginMs >= options.leaseMs) throw new RangeError(`lease ${this.name}: renewEveryMs + marginMs must stay below leaseMs`);
  }

  /** Starts campaigning: an attempt now, then one every `renewEveryMs`. */
  start(): void {
    if (this.#tick !== undefined || this.#inFlight !== undefined || this.#stopped) return;
    this.#attempt();
  }

  /** True while this node holds the lease and its last grant is still trusted. */
  isHolder(): boolean {
    const h = this.#held;
    return h !== undefined && this.#o.clock() < h.validUntil;
  }

  /** The token of the current holding, undefined when not the holder. */
  get token(): number | undefined {
    return this.isHolder() ? this.#held?.token : undefined;
  }

  /** What a side effect done now carries; undefined when not the holder. */
  fence(): FencingToken | undefined {
    const token = this.token;
    return token === undefined ? undefined : { lease: this.name, token };
  }

  on<K extends keyof LeaseEvents>(event: K, listener: LeaseEvents[K]): () => void {
    this.#listeners[event].add(listener);
    return () => { this.#listeners[event].delete(listener); };
  }

  /** Stops campaigning; a held lease is released so another node takes it at once rather than after it expires. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#tick);
    await this.#inFlight;
    const held = this.#held;
    this.#lose('closed');
    if (held !== undefined) await this.#release(held.token).catch((err: unknown) => { this.#o.onError?.(err); });
  }

  #attempt(): void {
    this.#tick = undefined;
    const sentAt = this.#o.clock();
    // Trust already ended (the process was paused, say): that term is over, whatever the server says.
    if (this.#held !== undefined && sentAt >= this.#held.validUntil) this.#lose('late');
    this.#inFlight = (this.#held === undefined ? this.#acquire(sentAt) : this.#renew(this.#held, sentAt))
      .catch((err: unknown) => { this.#o.onError?.(err); })
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#stopped) return;
        this.#tick = setTimeout(() => { this.#attempt(); }, Math.max(0, sentAt + this.#o.renewEveryMs - this.#o.clock()));
        this.#tick.unref();
      });
  }

  /**
   * Takes the lease when it is free, expired, or still recorded for this node (a restart of
   * this node, or a holding it gave up as late): always a new term, token + 1, so whatever
   * acted under the previous token is fenced out.
   */
  async #acquire(sentAt: number): Promise<void> {
    const { holder, leaseMs } = this.#o;
    const [row] = await this.db.run((sql) => sql<{ token: number }[]>`
      INSERT INTO cluster_leases AS l (name, holder, token, acquired_at, expires_at)
      VALUES (${this.name}, ${holder}, 1, now(), now() + make_interval(secs => ${leaseMs / 1000}))
      ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, token = l.token + 1, acquired_at = now(), expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
      RETURNING l.token`);
    if (row === undefined || this.#stopped) {
      if (row !== undefined) await this.#release(row.token);
      return;
    }
    this.#held = { token: row.token, validUntil: sentAt + leaseMs - this.#o.marginMs };
    this.#armDeadline();
    for (const l of this.#listeners.gained) l(row.token);
  }

  /** Extends the holding by leaseMs from the server's now(), only while it is still this node's, under this token, unexpired. */
  async #renew(held: Held, sentAt: number): Promise<void> {
    const { holder, leaseMs } = this.#o;
    const result = await this.db.run((sql) => sql`
      UPDATE cluster_leases SET expires_at = now() + make_interval(secs => ${leaseMs / 1000})
      WHERE name = ${this.name} AND holder = ${holder} AND token = ${held.token} AND expires_at > now()`);
    // Lost meanwhile (late): the next attempt starts a new term rather than reviving this one.
    if (this.#held !== held) return;
    if (result.count === 0) {
      this.#lose('refused');
      return;
    }
    held.validUntil = sentAt + leaseMs - this.#o.marginMs;
    this.#armDeadline();
  }

  async #release(token: number): Promise<void> {
    await this.db.run((sql) => sql`UPDATE cluster_leases SET expires_at = now() WHERE name = ${this.name} AND holder = ${this.#o.holder} AND token = ${token}`);
  }

  /** A timer at the end of trust, so the `lost` event comes even when no renewal returns. */
  #armDeadline(): void {
    clearTimeout(this.#deadline);
    const held = this.#held;
    if (held === undefined) return;
    this.#deadline = setTimeout(() => {
      if (this.#held === held && this.#o.clock() >= held.validUntil) this.#lose('late');
      else this.#armDeadline();
    }, Math.max(0, held.validUntil - this.#o.clock()));
    this.#deadline.unref();
  }

  #lose(reason: LeaseLossReason): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    for (const l of this.#listeners.lost) l(held.token, reason);
  }
}

/** The lease as the server records it now, undefined when it was never taken. */
export async function leaseRecord(db: PostgresDatabase, name: string): Promise<LeaseRecord | undefined> {
  const [row] = await db.run((sql) => sql<LeaseRecord[]>`SELECT holder, token, expires_at > now() AS live FROM cluster_leases WHERE name = ${name}`);
  return row;
}
