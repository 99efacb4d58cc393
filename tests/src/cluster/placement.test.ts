/**
 * Placement: in `single` mode this node acts on everything unfenced; in `active-standby` the
 * leader acts under its token; in `sharded` the owner of a terminal's transformer area acts
 * under that area's token, and a terminal outside every transformer area goes to the leader.
 * Registry changes, leadership and area moves are announced as `changed`.
 */
import { describe, expect, it } from 'vitest';
import { createPlacement, type LeaderLease, type OwnedAreas, type PlacementTopology } from '../../../src/cluster/placement.js';
import type { FencingToken } from '../../../src/cluster/fencing.js';
import type { Area, AreaId } from '../../../src/domain/index.js';

type AreaRow = Pick<Area, 'id' | 'kind' | 'parentId'>;

class Topology implements PlacementTopology {
  readonly areas = new Map<string, AreaRow>();
  readonly meters = new Map<string, { areaId: AreaId | null }[]>();
  readonly #listeners = new Set<() => void>();
  area(id: string, kind: Area['kind'], parentId: string | null): this {
    this.areas.set(id, { id: id as AreaId, kind, parentId: parentId as AreaId | null });
    return this;
  }
  terminal(id: string, ...meterAreas: (string | null)[]): this {
    this.meters.set(id, meterAreas.map((a) => ({ areaId: a as AreaId | null })));
    return this;
  }
  findArea(id: string): AreaRow | undefined { return this.areas.get(id); }
  metersOfTerminal(id: string): readonly { areaId: AreaId | null }[] { return this.meters.get(id) ?? []; }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }
  changed(): void { for (const l of this.#listeners) l(); }
}

class Leader implements LeaderLease {
  token: number | undefined;
  readonly #listeners = { gained: new Set<(t: number) => void>(), lost: new Set<(t: number, r: 'refused') => void>() };
  isHolder(): boolean { return this.token !== undefined; }
  fence(): FencingToken | undefined { return this.token === undefined ? undefined : { lease: 'leader', token: this.token }; }
  on(event: 'gained' | 'lost', listener: (t: number) => void): () => void {
    this.#listeners[event].add(listener);
    return () => { this.#listeners[event].delete(listener); };
  }
  gain(token: number): void { this.token = token; for (const l of this.#listeners.gained) l(token); }
  lose(): void { const t = this.token ?? 0; this.token = undefined; for (const l of this.#listeners.lost) l(t, 'refused'); }
}

class Shards implements OwnedAreas {
  readonly held = new Map<string, number>();
  readonly #listeners = { owned: new Set<() => void>(), released: new Set<() => void>() };
  fence(area: string): FencingToken | undefined {
    const token = this.held.get(area);
    return token === undefined ? undefined : { lease: `area:${area}`, token };
  }
  on(event: 'owned' | 'released', listener: () => void): () => void {
    this.#listeners[event].add(listener);
    return () => { this.#listeners[event].delete(listener); };
  }
  own(area: string, token: number): void { this.held.set(area, token); for (const l of this.#listeners.owned) l(); }
  release(area: string): void { this.held.delete(area); for (const l of this.#listeners.released) l(); }
}

const fleet = (): Topology => new Topology()
  .area('north', 'feeder', null).area('t1', 'transformer', 'north').area('t2', 'transformer', 'north')
  .terminal('in-t1', 't1', 't1').terminal('in-t2', 't2').terminal('on-feeder', 'north').terminal('no-area', null)
  .terminal('across', 't2', 't1');

describe('placement', () => {
  it('places everything on a single node, unfenced', () => {
    const p = createPlacement({ mode: 'single', topology: fleet(), leader: undefined, shards: undefined });
    expect(p.fenceFor('in-t1')).toBeNull();
    expect(p.owns('no-area')).toBe(true);
    expect(p.ownsArea('t2')).toBe(true);
  });

  it('places everything on the active node of a standby pair, under the leader token, and nothing on the standby', () => {
    const leader = new Leader();
    const p = createPlacement({ mode: 'active-standby', topology: fleet(), leader, shards: undefined });
    expect(p.owns('in-t1')).toBe(false);
    expect(p.ownsArea('t1')).toBe(false);
    leader.gain(7);
    expect(p.fenceFor('in-t1')).toEqual({ lease: 'leader', token: 7 });
    expect(p.ownsArea('t1')).toBe(true);
  });

  it('places a sharded terminal with the owner of its transformer area, and one outside every transformer area with the leader', () => {
    const leader = new Leader();
    const shards = new Shards();
    const p = createPlacement({ mode: 'sharded', topology: fleet(), leader, shards });
    shards.own('t1', 3);
    expect(p.fenceFor('in-t1')).toEqual({ lease: 'area:t1', token: 3 });
    expect(p.owns('in-t2')).toBe(false);
    expect(p.ownsArea('t1')).toBe(true);
    expect(p.ownsArea('t2')).toBe(false);
    expect(p.areaOf('on-feeder')).toBeNull();
    expect(p.owns('on-feeder')).toBe(false);
    expect(p.owns('no-area')).toBe(false);
    leader.gain(9);
    expect(p.fenceFor('on-feeder')).toEqual({ lease: 'leader', token: 9 });
    expect(p.fenceFor('no-area')).toEqual({ lease: 'leader', token: 9 });
    // The leader does not thereby own other nodes' areas.
    expect(p.owns('in-t2')).toBe(false);
  });

  it('runs the area rules of an area above the transformer areas on the leader, not on the owners of the areas below it', () => {
    const leader = new Leader();
    const shards = new Shards();
    const p = createPlacement({ mode: 'sharded', topology: fleet(), leader, shards });
    shards.own('t1', 4);
    expect(p.ownsArea('t1')).toBe(true);
    expect(p.ownsArea('north')).toBe(false);
    leader.gain(5);
    expect(p.ownsArea('north')).toBe(true);
    expect(p.ownsArea('t2')).toBe(false);
  });

  it('places a terminal whose meters straddle two transformer areas with the first by id, and counts it', () => {
    const shards = new Shards();
    const p = createPlacement({ mode: 'sharded', topology: fleet(), leader: new Leader(), shards });
    expect(p.areaOf('across')).toBe('t1');
    expect(p.straddling()).toBe(1);
    shards.own('t2', 1);
    expect(p.owns('across')).toBe(false);
  });

  it('announces area moves, leadership and registry changes, and places a terminal again after its meters move', () => {
    const topology = fleet();
    const leader = new Leader();
    const shards = new Shards();
    const p = createPlacement({ mode: 'sharded', topology, leader, shards });
    let changes = 0;
    p.on('changed', () => { changes++; });
    expect(p.areaOf('in-t2')).toBe('t2');
    shards.own('t1', 1);
    shards.release('t1');
    leader.gain(2);
    leader.lose();
    expect(changes).toBe(4);
    topology.terminal('in-t2', 't1');
    topology.changed();
    expect(changes).toBe(5);
    expect(p.areaOf('in-t2')).toBe('t1');
  });
});
