/**
 * Many named leases held by one node and kept in one statement per beat: the per-area leases
 * of sharded collection, where a node may hold thousands and one statement (and one timer) per
 * lease would cost thousands of round trips a beat. The rows and their rules are lease.ts's
 * (`cluster_leases`, the server's now(), a new holder gets the token plus one, a renewal keeps
 * it), so `checkFence` fences a side effect under any of them as under the leader's.
 *
 * `step(wanted)` is the beat: one statement that releases the held leases no longer wanted,
 * renews the others, and takes the wanted ones not held where they are free or expired. The
 * leases given up are reported lost before the statement is sent, so their holder has stopped
 * acting before another node can take them. Every lease renewed or taken by the statement is
 * trusted until sentAt + leaseMs − margin on this process's monotonic clock, as in lease.ts;
 * one timer drops them all as `late` when no beat succeeded by then.
 *
 * Deadlocks: the statement locks only rows it may change. The rows it takes are first filtered
 * on its snapshot to those no other node holds live, so it never waits on another node's
 * renewal of a row that node keeps; two nodes whose member lists disagree for a beat can
 * still, rarely, lock one another's rows, and the server then aborts one statement (the beat
 * fails, nothing changed, the next one tries again).
 *
 * Bounds: one statement in flight; one deadline timer; a release that failed is sent again
 * with the next beat until it succeeds or its lease would have expired anyway.
 */
import type { PostgresDatabase } from '../storage/postgres/connection.js';
import type { FencingToken } from './fencing.js';
import { trustMarginMs, type LeaseLossReason } from './lease.js';

export interface LeaseSetOptions {
  /** The node id that holds the leases. */
  readonly holder: string;
  /** How long a grant or renewal lasts, by the server's clock. */
  readonly leaseMs: number;
  /** Trust ends this long before the leases would expire; default leaseMs / 5. */
  readonly marginMs?: number;
  /** This process's clock in ms, used only to measure durations; default `performance.now()`. */
  readonly clock?: () => number;
}

/** Why a lease of the set is no longer held: lease.ts's reasons, or `released` when it was no longer wanted. */
export type LeaseSetLossReason = LeaseLossReason | 'released';

export interface HeldLease {
  readonly name: string;
  readonly token: number;
}

export interface LeaseSetEvents {
  /** These leases are held from now on, each under its token. */
  gained: (leases: readonly HeldLease[]) => void;
  /** These are no longer held: act no more under their tokens. */
  lost: (leases: readonly HeldLease[], reason: LeaseSetLossReason) => void;
}

interface Outcome { op: 'renewed' | 'acquired' | 'released'; name: string; token: number }

export class LeaseSet {
  readonly #o: Required<LeaseSetOptions>;
  readonly #listeners: { [K in keyof LeaseSetEvents]: Set<LeaseSetEvents[K]> } = { gained: new Set(), lost: new Set() };
  /** Held leases by name → token, all trusted until #validUntil. */
  #held = new Map<string, number>();
  #validUntil = 0;
  /** Given up but not yet expired on the server: name → [token, local time its lease would end anyway]. */
  readonly #unreleased = new Map<string, [number, number]>();
  #deadline: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  constructor(private readonly db: PostgresDatabase, options: LeaseSetOptions) {
    this.#o = { marginMs: trustMarginMs(options.leaseMs), clock: () => performance.now(), ...options };
    if (this.#o.marginMs >= options.leaseMs) throw new RangeError('lease set: marginMs must stay below leaseMs');
  }

  on<K extends keyof LeaseSetEvents>(event: K, listener: LeaseSetEvents[K]): () => void {
    this.#listeners[event].add(listener);
    return () => { this.#listeners[event].delete(listener); };
  }

  /** The token of `name` while it is held and trusted; undefined otherwise. */
  token(name: string): number | undefined {
    return this.#trusted() ? this.#held.get(name) : undefined;
  }

  /** What a side effect under `name` carries now; undefined when it is not held. */
  fence(name: string): FencingToken | undefined {
    const token = this.token(name);
    return token === undefined ? undefined : { lease: name, token };
  }

  /** The held, trusted leases: name → token. */
  held(): ReadonlyMap<string, number> {
    return this.#trusted() ? this.#held : new Map();
  }

  /**
   * One beat: gives up what is held and not in `wanted`, renews the rest, takes what is wanted
   * and free. Rejects with the database's error when the statement fails; nothing is then
   * gained, and what is held stays trusted only until its deadline.
   */
  step(wanted: ReadonlySet<string>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#inFlight !== undefined) return this.#inFlight;
    const run = this.#step(wanted).finally(() => { this.#inFlight = undefined; });
    this.#inFlight = run;
    return run;
  }

  /** Gives every lease up (reported lost `closed`) and expires them on the server, so others take them at once. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#inFlight?.catch(() => undefined);
    clearTimeout(this.#deadline);
    this.#giveUp([...this.#held.keys()], 'closed');
    if (this.#unreleased.size > 0) await this.#send([], []);
  }

  async #step(wanted: ReadonlySet<string>): Promise<void> {
    const sentAt = this.#o.clock();
    if (this.#held.size > 0 && sentAt >= this.#validUntil) this.#giveUp([...this.#held.keys()], 'late');
    this.#giveUp([...this.#held.keys()].filter((n) => !wanted.has(n)), 'released');
    const renew = [...this.#held];
    const acquire = [...wanted].filter((n) => !this.#held.has(n));
    if (renew.length === 0 && acquire.length === 0 && this.#unreleased.size === 0) return;
    const rows = await this.#send(renew, acquire);
    if (this.#closed) return;
    const renewed = new Set<string>();
    const gained: HeldLease[] = [];
    for (const r of rows) {
      if (r.op === 'renewed') renewed.add(r.name);
      else if (r.op === 'acquired') gained.push({ name: r.name, token: r.token });
    }
    // A lease given up as late while the statement ran stays given up: the next beat takes it
    // again as a new term rather than reviving this one.
    this.#giveUp(renew.filter(([n]) => this.#held.has(n) && !renewed.has(n)).map(([n]) => n), 'refused');
    for (const g of gained) this.#held.set(g.name, g.token);
    if (this.#held.size > 0) {
      this.#validUntil = sentAt + this.#o.leaseMs - this.#o.marginMs;
      this.#armDeadline();
    }
    if (gained.length > 0) for (const l of this.#listeners.gained) l(gained);
  }

  /**
   * The one statement: release, renew and acquire, each a set of rows of its own (the three
   * name sets are disjoint, so no row is changed twice). Returns a row per lease renewed,
   * acquired or released.
   */
  async #send(renew: readonly (readonly [string, number])[], acquire: readonly string[]): Promise<Outcome[]> {
    const { holder, leaseMs } = this.#o;
    const now = this.#o.clock();
    // One row changed once per statement: a lease wanted again is taken as a new term, not released.
    for (const name of acquire) this.#unreleased.delete(name);
    for (const [name, [, until]] of this.#unreleased) if (now >= until) this.#unreleased.delete(name);
    const release = [...this.#unreleased];
    const secs = leaseMs / 1000;
    const rows = await this.db.run((sql) => sql<Outcome[]>`
      WITH released AS (
        UPDATE cluster_leases AS l SET expires_at = now()
        FROM unnest(${release.map(([n]) => n)}::text[], ${release.map(([, [t]]) => t)}::bigint[]) AS r(name, token)
        WHERE l.name = r.name AND l.holder = ${holder} AND l.token = r.token AND l.expires_at > now()
        RETURNING l.name
      ), renewed AS (
        UPDATE cluster_leases AS l SET expires_at = now() + make_interval(secs => ${secs})
        FROM unnest(${renew.map(([n]) => n)}::text[], ${renew.map(([, t]) => t)}::bigint[]) AS r(name, token)
        WHERE l.name = r.name AND l.holder = ${holder} AND l.token = r.token AND l.expires_at > now()
        RETURNING l.name, l.token
      ), acquired AS (
        INSERT INTO cluster_leases AS l (name, holder, token, acquired_at, expires_at)
        SELECT w.name, ${holder}, 1, now(), now() + make_interval(secs => ${secs})
        FROM unnest(${acquire}::text[]) AS w(name)
        WHERE NOT EXISTS (SELECT 1 FROM cluster_leases c WHERE c.name = w.name AND c.expires_at > now() AND c.holder <> ${holder})
        ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, token = l.token + 1, acquired_at = now(), expires_at = EXCLUDED.expires_at
          WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
        RETURNING l.name, l.token
      )
      SELECT 'renewed' AS op, name, token FROM renewed
      UNION ALL SELECT 'acquired', name, token FROM acquired
      UNION ALL SELECT 'released', name, 0 FROM released`);
    for (const [name] of release) this.#unreleased.delete(name);
    return rows;
  }

  /** Stops holding `names` and reports them lost; their rows are expired by the next statement. */
  #giveUp(names: readonly string[], reason: LeaseSetLossReason): void {
    if (names.length === 0) return;
    const lost: HeldLease[] = [];
    for (const name of names) {
      const token = this.#held.get(name);
      if (token === undefined) continue;
      this.#held.delete(name);
      lost.push({ name, token });
      // Expired already when trust ran out (late), or refused by the server: nothing to release.
      if (reason === 'released' || reason === 'closed') this.#unreleased.set(name, [token, this.#validUntil + this.#o.marginMs]);
    }
    if (this.#held.size === 0) clearTimeout(this.#deadline);
    if (lost.length > 0) for (const l of this.#listeners.lost) l(lost, reason);
  }

  #trusted(): boolean {
    return this.#o.clock() < this.#validUntil;
  }

  /** A timer at the end of trust, so `lost` comes even when no beat returns. */
  #armDeadline(): void {
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => {
      if (this.#o.clock() >= this.#validUntil) this.#giveUp([...this.#held.keys()], 'late');
      else this.#armDeadline();
    }, Math.max(0, this.#validUntil - this.#o.clock()));
    this.#deadline.unref();
  }
}
