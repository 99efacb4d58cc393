/**
 * Area shards at scale: 10,000 transformer areas over three nodes with the default timings
 * (leaseMs 5,000, a beat every 1,000 ms), each node with its own pool on one PostgreSQL 15.
 *
 * Printed: the time for the areas to settle on their owners when a third node joins two, when
 * a node stops cleanly, and when one crashes (its leases must expire first); and, idle, the
 * database statements per second per node (heartbeat, member list, lease set) and the
 * server's CPU share, which the renewal of every held area each beat dominates.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AreaShards } from '../../src/cluster/areaShards.js';
import { Membership } from '../../src/cluster/membership.js';
import type { NodeIdentity } from '../../src/cluster/settings.js';
import { shardsOf } from '../../src/cluster/shards.js';
import { openPostgres, type PostgresDatabase } from '../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../helpers/postgresStore.js';

const LEASE_MS = 5_000;
const BEAT_MS = 1_000;
const IDLE_MS = 10_000;
const AREAS = Array.from({ length: 10_000 }, (_, i) => `TA-${String(i).padStart(5, '0')}`);

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the area shards benchmark: ${unavailable}`);

interface Node { id: string; db: PostgresDatabase; raw: PostgresDatabase; statements: number; membership: Membership; shards: AreaShards }

let server: TestPostgres | undefined;
let url = '';
const nodes: Node[] = [];

beforeAll(async () => {
  if (unavailable !== undefined) return;
  server = await startPostgres();
  url = await server.createDatabase();
  const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
  await migratePostgres(db);
  await db.close();
}, 60_000);
afterAll(async () => {
  for (const n of nodes) await n.raw.sql.end({ timeout: 0 });
  await server?.dispose();
});

async function start(id: string): Promise<Node> {
  const raw = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
  // Every statement of the membership and the shards goes through run(): counted here.
  const node = { id, raw, statements: 0 } as Node;
  const db: PostgresDatabase = { ...raw, run: (work) => { node.statements++; return raw.run(work); } };
  const identity: NodeIdentity = { id, mode: 'sharded', roles: ['collect'], heartbeatMs: BEAT_MS, leaseMs: LEASE_MS, advertiseUrl: undefined };
  const membership = new Membership(db, { node: identity, apiUrl: null, version: 'bench' });
  await membership.join();
  const shards = new AreaShards(db, { node: id, leaseMs: LEASE_MS, beatMs: BEAT_MS, members: () => membership.members(), areas: () => AREAS });
  Object.assign(node, { db, membership, shards });
  nodes.push(node);
  shards.start();
  return node;
}

/** Milliseconds from now until every node of `live` owns exactly its share. */
async function settle(live: readonly Node[]): Promise<number> {
  const started = performance.now();
  const ids = live.map((n) => n.id);
  const want = new Map(live.map((n) => [n.id, shardsOf(n.id, AREAS, ids).size]));
  const shares = new Map(live.map((n) => [n.id, shardsOf(n.id, AREAS, ids)]));
  for (;;) {
    if (live.every((n) => { const owned = n.shards.owned(); return owned.length === want.get(n.id) && owned.every((a) => shares.get(n.id)?.has(a)); })) {
      return performance.now() - started;
    }
    if (performance.now() - started > 120_000) throw new Error('the areas did not settle within 2 minutes');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it.skipIf(unavailable !== undefined)('area shards: move times and idle coordination cost, 10,000 areas, 3 nodes', async () => {
  const a = await start('node-a');
  const b = await start('node-b');
  const initial = await settle([a, b]);
  console.log(`bench: area-shards first assignment (2 nodes, 10000 areas) = ${initial.toFixed(0)} ms`);

  const joinStarted = performance.now();
  const c = await start('node-c');
  await settle([a, b, c]);
  console.log(`bench: area-shards move on join (3rd node) = ${(performance.now() - joinStarted).toFixed(0)} ms`);

  for (const n of nodes) n.statements = 0;
  const cpu0 = server?.serverCpuSeconds() ?? 0;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const cpu = (server?.serverCpuSeconds() ?? 0) - cpu0;
  for (const n of [a, b, c]) {
    console.log(`bench: area-shards idle statements/s ${n.id} (${n.shards.owned().length} areas) = ${(n.statements / (IDLE_MS / 1000)).toFixed(2)} statements/s`);
  }
  console.log(`bench: area-shards idle server CPU (3 nodes) = ${((cpu / (IDLE_MS / 1000)) * 100).toFixed(1)} %`);

  const leaveStarted = performance.now();
  await c.shards.close();
  await c.membership.leave();
  await settle([a, b]);
  console.log(`bench: area-shards move on clean leave = ${(performance.now() - leaveStarted).toFixed(0)} ms`);

  const c2 = await start('node-c2');
  await settle([a, b, c2]);
  const crashStarted = performance.now();
  await c2.raw.sql.end({ timeout: 0 });
  await settle([a, b]);
  console.log(`bench: area-shards move on crash (leaseMs ${LEASE_MS}) = ${(performance.now() - crashStarted).toFixed(0)} ms`);
  await c2.shards.close();
  for (const n of [a, b]) {
    await n.shards.close();
    await n.membership.leave();
  }
  expect(a.shards.owned()).toEqual([]);
}, 300_000);
