/**
 * Rendezvous hashing of transformer areas over the collecting members: one owner per area,
 * the same answer on every node, and moves limited to what HRW promises, checked exactly
 * over 10,000 areas: a join moves precisely the areas the newcomer now wins, a leave only the
 * leaver's areas.
 */
import { describe, expect, it } from 'vitest';
import { assignShards, shardOwner, shardsOf, shardWeight } from '../../../src/cluster/shards.js';

const AREAS = Array.from({ length: 10_000 }, (_, i) => `TA-${String(i).padStart(5, '0')}`);

/** The areas whose owner differs between two assignments. */
function moved(before: Map<string, string>, after: Map<string, string>): Set<string> {
  return new Set(AREAS.filter((a) => before.get(a) !== after.get(a)));
}

describe('rendezvous hashing of areas', () => {
  it('gives every area exactly one owner among the members, spread about evenly', () => {
    const nodes = ['node-a', 'node-b', 'node-c'];
    const owners = assignShards(AREAS, nodes);
    expect(owners.size).toBe(AREAS.length);
    const counts = new Map<string, number>();
    for (const a of AREAS) {
      const owner = owners.get(a);
      expect(nodes).toContain(owner);
      counts.set(owner ?? '', (counts.get(owner ?? '') ?? 0) + 1);
    }
    // Each node's own view partitions the areas: disjoint, and together all of them.
    const views = nodes.map((n) => shardsOf(n, AREAS, nodes));
    expect(views.reduce((sum, v) => sum + v.size, 0)).toBe(AREAS.length);
    expect(new Set(views.flatMap((v) => [...v])).size).toBe(AREAS.length);
    // 3,333 expected; a binomial's standard deviation is 47, so ±300 is over 6 sigma.
    for (const n of nodes) expect(Math.abs((counts.get(n) ?? 0) - AREAS.length / 3)).toBeLessThan(300);
  });

  it('answers the same whatever order the members are listed in', () => {
    const a = assignShards(AREAS, ['node-a', 'node-b', 'node-c']);
    const b = assignShards(AREAS, ['node-c', 'node-a', 'node-b']);
    expect(b).toEqual(a);
  });

  it('is a fixed function of the ids, the same in every process', () => {
    // The first 8 bytes of SHA-256("TA-00001\0node-a") (sha256sum), big-endian: a change of hash or of encoding breaks this.
    expect(shardWeight('TA-00001', 'node-a')).toBe(0xf9365b5d342eef76n);
    expect(shardWeight('a1', '0')).not.toBe(shardWeight('a', '10'));
  });

  it('moves, on a join, exactly the areas the new node now wins, each from its old owner to the newcomer', () => {
    const before = assignShards(AREAS, ['node-a', 'node-b', 'node-c']);
    const after = assignShards(AREAS, ['node-a', 'node-b', 'node-c', 'node-d']);
    const won = new Set(AREAS.filter((a) => after.get(a) === 'node-d'));
    expect(moved(before, after)).toEqual(won);
    // About a quarter: 2,500 expected, standard deviation 43.
    expect(Math.abs(won.size - AREAS.length / 4)).toBeLessThan(300);
  });

  it('moves, on a leave, only the leaver\'s areas', () => {
    const before = assignShards(AREAS, ['node-a', 'node-b', 'node-c']);
    const after = assignShards(AREAS, ['node-a', 'node-c']);
    const hadB = new Set(AREAS.filter((a) => before.get(a) === 'node-b'));
    expect(moved(before, after)).toEqual(hadB);
    for (const a of hadB) expect(['node-a', 'node-c']).toContain(after.get(a));
  });

  it('has no owner without members, and none for a node that is not one', () => {
    expect(shardOwner('TA-00001', [])).toBeUndefined();
    expect(assignShards(AREAS, []).size).toBe(0);
    expect(shardsOf('node-z', AREAS, ['node-a', 'node-b']).size).toBe(0);
  });
});

