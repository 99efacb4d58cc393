/**
 * Placement: which node acts on a terminal now (polls it, executes its commands, runs the
 * rules of its area), and under which fencing token.
 *
 * - `single`: this node, unfenced (`null`): there is nobody to fence against.
 * - `active-standby`: the active node, under the leader lease's token.
 * - `sharded`: the owner of the terminal's transformer area (台区), under that area's lease
 *   token (areaShards.ts). A terminal is in the transformer area of its meters: the meter's
 *   area itself when it is a transformer area, else the nearest transformer area above it. A
 *   terminal none of whose meters sits in a transformer area is placed on the leader, under
 *   the leader's token, so it is still collected by exactly one node. A terminal whose meters
 *   sit in several transformer areas (a concentrator wired across a boundary, or a registry
 *   mistake) goes with the first of them by id, the same on every node, and is counted.
 *
 * The terminal-to-area map is built lazily and dropped on every registry change; a lookup is
 * then one map read, plus one walk over the terminal's meters after a change.
 */
import type { Area, AreaId, Meter } from '../domain/index.js';
import type { AreaShards } from './areaShards.js';
import type { FencingToken } from './fencing.js';
import type { Lease } from './lease.js';
import type { ClusterMode } from './settings.js';

/** What placement reads from the registry. */
export interface PlacementTopology {
  findArea(id: string): Pick<Area, 'id' | 'kind' | 'parentId'> | undefined;
  metersOfTerminal(id: string): readonly Pick<Meter, 'areaId'>[];
  onChange(listener: () => void): () => void;
}

/** The leader lease as placement uses it. */
export type LeaderLease = Pick<Lease, 'fence' | 'isHolder' | 'on'>;

/** The area shards as placement uses them. */
export type OwnedAreas = Pick<AreaShards, 'fence' | 'on'>;

export interface Placement {
  /**
   * The token a side effect on `terminalId` carries now: `null` to act unfenced (`single`
   * mode), undefined when another node acts on it (or none does until a lease is taken).
   */
  fenceFor(terminalId: string): FencingToken | null | undefined;
  /** Whether this node acts on `terminalId` now. */
  owns(terminalId: string): boolean;
  /**
   * Whether this node runs the area rules of `areaId` now (every area on a node that is not
   * sharded, while it acts). In `sharded` mode: a transformer area's owner; an area above the
   * transformer areas (a feeder, a region) goes with the leader, as a terminal outside every
   * transformer area does, so that exactly one node judges it.
   */
  ownsArea(areaId: string): boolean;
  /** The transformer area a terminal is placed by; null when it has none (then the leader acts on it). */
  areaOf(terminalId: string): AreaId | null;
  /** What this node acts on changed (areas taken or given up, leadership gained or lost, the registry changed): look again. */
  on(event: 'changed', listener: () => void): () => void;
  /** Terminals whose meters span several transformer areas, as last counted. */
  straddling(): number;
}

export interface PlacementOptions {
  readonly mode: ClusterMode;
  readonly topology: PlacementTopology;
  /** Undefined in `single` mode. */
  readonly leader: LeaderLease | undefined;
  /** The area shards in `sharded` mode; undefined otherwise. */
  readonly shards: OwnedAreas | undefined;
}

export function createPlacement({ mode, topology, leader, shards }: PlacementOptions): Placement {
  const listeners = new Set<() => void>();
  const changed = (): void => { for (const l of listeners) l(); };
  const areas = new TerminalAreas(topology);
  topology.onChange(() => { areas.forget(); changed(); });
  leader?.on('gained', changed);
  leader?.on('lost', changed);
  shards?.on('owned', changed);
  shards?.on('released', changed);

  const leaderFence = (): FencingToken | null | undefined => (leader === undefined ? null : leader.fence());
  const fenceFor = (terminalId: string): FencingToken | null | undefined => {
    if (mode !== 'sharded' || shards === undefined) return leaderFence();
    const area = areas.of(terminalId);
    return area === null ? leaderFence() : shards.fence(area);
  };
  return {
    fenceFor,
    owns: (terminalId) => fenceFor(terminalId) !== undefined,
    ownsArea: (areaId) => {
      if (mode !== 'sharded' || shards === undefined) return leaderFence() !== undefined;
      const area = areas.transformerOf(areaId);
      return (area === null ? leaderFence() : shards.fence(area)) !== undefined;
    },
    areaOf: (terminalId) => areas.of(terminalId),
    on: (_event, listener) => {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    straddling: () => areas.straddling,
  };
}

/** A placement for one node doing everything, unfenced (`single` mode, tests). */
export function wholeStation(topology: PlacementTopology): Placement {
  return createPlacement({ mode: 'single', topology, leader: undefined, shards: undefined });
}

/** Each terminal's (and area's) transformer area, worked out on first use after a registry change. */
class TerminalAreas {
  readonly #map = new Map<string, AreaId | null>();
  readonly #ofArea = new Map<string, AreaId | null>();
  readonly #straddlers = new Set<string>();

  constructor(private readonly topology: PlacementTopology) {}

  get straddling(): number {
    return this.#straddlers.size;
  }

  forget(): void {
    this.#map.clear();
    this.#ofArea.clear();
    this.#straddlers.clear();
  }

  of(terminalId: string): AreaId | null {
    const known = this.#map.get(terminalId);
    if (known !== undefined) return known;
    let first: AreaId | null = null;
    let several = false;
    for (const m of this.topology.metersOfTerminal(terminalId)) {
      const t = m.areaId === null ? null : this.transformerOf(m.areaId);
      if (t === null || t === first) continue;
      if (first !== null) several = true;
      if (first === null || t < first) first = t;
    }
    if (several) this.#straddlers.add(terminalId);
    this.#map.set(terminalId, first);
    return first;
  }

  /** The area itself when it is a transformer area, else the nearest one above it; null when there is none (or the parents loop). */
  transformerOf(areaId: string): AreaId | null {
    const known = this.#ofArea.get(areaId);
    if (known !== undefined) return known;
    const seen = new Set<string>();
    let id: string | null = areaId;
    let found: AreaId | null = null;
    while (id !== null && !seen.has(id)) {
      seen.add(id);
      const area = this.topology.findArea(id);
      if (area === undefined) break;
      if (area.kind === 'transformer') {
        found = area.id;
        break;
      }
      id = area.parentId;
    }
    this.#ofArea.set(areaId, found);
    return found;
  }
}
