/**
 * The transformer areas this node collects in `sharded` mode. Every beat it reads the member
 * list, works out by rendezvous hashing (shards.ts) which areas it should own among the live
 * collecting members, and steps one lease set (leaseSet.ts) holding a lease `area:<id>` per
 * owned area: one statement gives up the areas it should no longer own, renews the others and
 * takes the new ones. An area is taken only once its previous owner released it or its lease
 * expired, so a terminal is never polled by two nodes at once, even while the nodes' member
 * lists disagree for a beat; the area's token fences what is done under it (fencing.ts).
 *
 * A move, then: on a join, the old owner reads the new member list at its next beat and
 * releases, and the newcomer takes at its next beat after that; on a clean stop, the leaver
 * releases everything and marks itself left; on a crash, the others see the member dead and
 * its leases expired after leaseMs, and take its areas at their next beat.
 *
 * Bounds: two statements per beat (the member list, the lease set), one beat in flight, two
 * timers whatever the number of areas; the owners are computed again only when the member list
 * or the area list changed.
 */
import type { FencingToken } from './fencing.js';
import { trustMarginMs } from './lease.js';
import { LeaseSet, type HeldLease, type LeaseSetLossReason } from './leaseSet.js';
import type { Member } from './membership.js';
import { shardsOf } from './shards.js';
import type { PostgresDatabase } from '../storage/postgres/connection.js';

/** The lease of an area is named `area:<area id>`. */
export function areaLeaseName(areaId: string): string {
  return `${AREA_LEASE_PREFIX}${areaId}`;
}

const AREA_LEASE_PREFIX = 'area:';

export interface AreaShardsOptions {
  /** This node's id, as in the member list. */
  readonly node: string;
  /** How long an area lease lasts after its last renewal, by the server's clock. */
  readonly leaseMs: number;
  /** One beat (member list read, lease statement) this often. */
  readonly beatMs: number;
  /** Trust in the leases ends this long before they would expire; default leaseMs / 5. */
  readonly marginMs?: number;
  /** The member list (Membership.members). */
  readonly members: () => Promise<readonly Member[]>;
  /** The transformer areas to share out, read at every beat. */
  readonly areas: () => Iterable<string>;
  /** This process's clock in ms, for durations only; default `performance.now()`. */
  readonly clock?: () => number;
  /** A beat failed (the database unreachable, say); the next one tries again. Log it throttled. */
  readonly onError?: (err: unknown) => void;
}

/** An area and the token this node holds its lease under. */
export interface OwnedArea {
  readonly area: string;
  readonly token: number;
}

export interface AreaShardsEvents {
  /** This node owns these areas from now on: poll their terminals under these tokens. */
  owned: (areas: readonly OwnedArea[]) => void;
  /** No longer: stop polling them at once. `released` when another node should own them now. */
  released: (areas: readonly OwnedArea[], reason: LeaseSetLossReason) => void;
}

/** The members that share the areas: live, in `sharded` mode (a node in another mode never takes its share), with the `collect` role. */
export function collectingMembers(members: readonly Member[]): string[] {
  return members.filter((m) => m.live && m.mode === 'sharded' && m.roles.includes('collect')).map((m) => m.id);
}

export class AreaShards {
  readonly #o: AreaShardsOptions;
  readonly #leases: LeaseSet;
  readonly #listeners: { [K in keyof AreaShardsEvents]: Set<AreaShardsEvents[K]> } = { owned: new Set(), released: new Set() };
  #membersKey: string | undefined;
  #areas = new Set<string>();
  #wanted = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(db: PostgresDatabase, options: AreaShardsOptions) {
    this.#o = options;
    const clock = options.clock ?? (() => performance.now());
    const marginMs = options.marginMs ?? trustMarginMs(options.leaseMs);
    this.#leases = new LeaseSet(db, { holder: options.node, leaseMs: options.leaseMs, marginMs, clock });
    if (options.beatMs + marginMs >= options.leaseMs) {
      throw new RangeError('area shards: beatMs + marginMs must stay below leaseMs, or the leases lapse between beats');
    }
    this.#leases.on('gained', (leases) => { this.#emit('owned', areasOf(leases)); });
    this.#leases.on('lost', (leases, reason) => { this.#emit('released', areasOf(leases), reason); });
  }

  /** Starts the beats: one now, then one every beatMs. */
  start(): void {
    if (this.#timer !== undefined || this.#inFlight !== undefined || this.#stopped) return;
    this.#beat();
  }

  on<K extends keyof AreaShardsEvents>(event: K, listener: AreaShardsEvents[K]): () => void {
    this.#listeners[event].add(listener);
    return () => { this.#listeners[event].delete(listener); };
  }

  /** The areas this node owns now, sorted. */
  owned(): string[] {
    return [...this.#leases.held().keys()].map((name) => name.slice(AREA_LEASE_PREFIX.length)).sort();
  }

  /** What a side effect in `areaId` carries now (a poll, a command); undefined when this node does not own it. */
  fence(areaId: string): FencingToken | undefined {
    return this.#leases.fence(areaLeaseName(areaId));
  }

  /** Stops the beats and releases every area, so the others take them at their next beat. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    await this.#leases.close().catch((err: unknown) => { this.#o.onError?.(err); });
  }

  #beat(): void {
    this.#timer = undefined;
    const startedAt = performance.now();
    this.#inFlight = this.#step()
      .catch((err: unknown) => { this.#o.onError?.(err); })
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#stopped) return;
        this.#timer = setTimeout(() => { this.#beat(); }, Math.max(0, startedAt + this.#o.beatMs - performance.now()));
        this.#timer.unref();
      });
  }

  async #step(): Promise<void> {
    const members = collectingMembers(await this.#o.members()).sort();
    const membersKey = members.join('\n');
    const areas = new Set(this.#o.areas());
    if (membersKey !== this.#membersKey || !sameSet(areas, this.#areas)) {
      this.#membersKey = membersKey;
      this.#areas = areas;
      this.#wanted = new Set([...shardsOf(this.#o.node, areas, members)].map(areaLeaseName));
    }
    if (this.#stopped) return;
    await this.#leases.step(this.#wanted);
  }

  #emit<K extends keyof AreaShardsEvents>(event: K, ...args: Parameters<AreaShardsEvents[K]>): void {
    for (const l of this.#listeners[event]) (l as (...a: Parameters<AreaShardsEvents[K]>) => void)(...args);
  }
}

function areasOf(leases: readonly HeldLease[]): OwnedArea[] {
  return leases.map((l) => ({ area: l.name.slice(AREA_LEASE_PREFIX.length), token: l.token }));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
