/**
 * Which node collects which transformer area: rendezvous (highest random weight) hashing.
 * Every node computes, for each area, a weight per live collecting member from the pair
 * (area, member) alone, and the area goes to the member with the highest weight. No table of
 * assignments is stored or agreed on: every node that sees the same member list computes the
 * same owners, and the leases (areaShards.ts) keep two nodes from acting on a disagreement.
 *
 * What HRW gives, and what the tests check exactly rather than statistically: adding a member
 * moves exactly the areas the newcomer now wins (each from its old owner to the newcomer,
 * none between old members); removing one moves only its own areas. With well-mixed weights
 * each member wins about 1/N of the areas.
 *
 * The weight is the first 64 bits of SHA-256 over `areaId NUL nodeId`. SHA-256 because every
 * node, whatever its Node version, platform or process, must compute the same number: a
 * runtime's own string hash is seeded per process, and a home-made mixing function would need
 * its own vectors to prove it is well spread; SHA-256 is in node:crypto, fixed by FIPS 180-4,
 * and its bits are uniform for any inputs, so similar ids (`T-0001`, `T-0002`) spread as well
 * as random ones. Its cost (about a microsecond a pair) is paid only when the member list or
 * the area list changes. The NUL separates the ids unambiguously: ids never contain it
 * (letters, digits, `_ . : -`), so `a1`+`0` and `a`+`10` cannot hash alike.
 */
import { createHash } from 'node:crypto';

/** The weight of `nodeId` for `areaId`: a stable, uniformly spread 64-bit number. */
export function shardWeight(areaId: string, nodeId: string): bigint {
  return createHash('sha256').update(areaId).update('\0').update(nodeId).digest().readBigUInt64BE(0);
}

/** The member that owns `areaId` among `nodeIds`; undefined when there is none. Ties (never seen in practice) go to the smaller id. */
export function shardOwner(areaId: string, nodeIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const node of nodeIds) {
    const w = shardWeight(areaId, node);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** Every area's owner among `nodeIds`: area id → node id (empty when there are no nodes). */
export function assignShards(areaIds: Iterable<string>, nodeIds: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>();
  if (nodeIds.length === 0) return owners;
  for (const area of areaIds) {
    const owner = shardOwner(area, nodeIds);
    if (owner !== undefined) owners.set(area, owner);
  }
  return owners;
}

/** The areas among `areaIds` that `nodeId` owns when `nodeIds` are the members; none when it is not one of them. */
export function shardsOf(nodeId: string, areaIds: Iterable<string>, nodeIds: readonly string[]): Set<string> {
  const mine = new Set<string>();
  if (!nodeIds.includes(nodeId)) return mine;
  for (const area of areaIds) if (shardOwner(area, nodeIds) === nodeId) mine.add(area);
  return mine;
}
