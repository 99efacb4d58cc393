/**
 * The leader lease on a real PostgreSQL: one holder at a time, a dead holder replaced with the
 * token plus one once its lease has expired by the server's clock (never before), renewals
 * that keep the token, and nodes whose own clocks are far off that still agree, because only
 * the server's clock decides.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Lease, leaseRecord, type LeaseOptions } from '../../../src/cluster/lease.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { eventually } from '../../helpers/headend.js';
import { postgresUnavailable, queryPostgres, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
const LEASE_MS = 600;
const RENEW_MS = 200;
const HOUR = 3_600_000;

interface Row { holder: string; token: string; acquired: number; expires: number }

describe.skipIf(unavailable !== undefined)('the leader lease on PostgreSQL', () => {
  let cluster: TestPostgres;
  let url: string;
  const open: { db: PostgresDatabase; leases: Lease[] }[] = [];

  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster.dispose();
  });
  beforeEach(async () => {
    url = await cluster.createDatabase();
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    await db.close();
  });
  afterEach(async () => {
    for (const node of open.splice(0)) {
      await Promise.all(node.leases.map((l) => l.close()));
      await node.db.close();
    }
  });

  /** A node with its own pool, campaigning for `leader`. */
  const node = async (holder: string, options: Partial<LeaseOptions> = {}): Promise<{ db: PostgresDatabase; lease: Lease; events: string[] }> => {
    const db = await openPostgres({ url, config: { ...POSTGRES_TEST_CONFIG, connectTimeoutMs: 500, reconnectMaxMs: 200 } });
    const lease = new Lease(db, { name: 'leader', holder, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, onError: () => undefined, ...options });
    const events: string[] = [];
    lease.on('gained', (t) => { events.push(`gained ${t}`); });
    lease.on('lost', (t, why) => { events.push(`lost ${t} ${why}`); });
    open.push({ db, leases: [lease] });
    lease.start();
    return { db, lease, events };
  };
  const row = async (): Promise<Row | undefined> => (await queryPostgres<Row>(url,
    `SELECT holder, token::text, (extract(epoch FROM acquired_at) * 1000)::float8 AS acquired, (extract(epoch FROM expires_at) * 1000)::float8 AS expires
     FROM cluster_leases WHERE name = 'leader'`))[0];
  const holderOf = (...nodes: { lease: Lease }[]): Lease[] => nodes.map((n) => n.lease).filter((l) => l.isHolder());

  it('grants the lease to exactly one of two nodes, token 1', async () => {
    const a = await node('a');
    const b = await node('b');
    const [holder] = await eventually(() => Promise.resolve(holderOf(a, b).length > 0 ? holderOf(a, b) : undefined), 5_000, 'a holder');
    // Several renewal rounds later there is still one, the same, under the same token.
    await eventually(async () => (Number((await row())?.token) === 1 && (await row())?.holder === (holder === a.lease ? 'a' : 'b') ? true : undefined), 5_000, 'the row');
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, RENEW_MS));
      expect(holderOf(a, b)).toEqual([holder]);
    }
    expect(holder?.token).toBe(1);
    expect((await row())?.token).toBe('1');
  });

  it('keeps the token across renewals and pushes the expiry forward', async () => {
    const a = await node('a');
    await eventually(() => Promise.resolve(a.lease.isHolder() ? true : undefined), 5_000, 'a holds');
    const first = await row();
    await eventually(async () => {
      const now = await row();
      return now !== undefined && first !== undefined && now.expires > first.expires + 2 * RENEW_MS ? now : undefined;
    }, 5_000, 'renewals');
    expect(await row()).toMatchObject({ holder: 'a', token: '1', acquired: first?.acquired });
    expect(a.lease.token).toBe(1);
    expect(a.events).toEqual(['gained 1']);
  });

  it('hands the lease of a holder that died to the other node, token + 1, only once it expired by the server clock', async () => {
    const a = await node('a');
    await eventually(() => Promise.resolve(a.lease.isHolder() ? true : undefined), 5_000, 'a holds');
    const b = await node('b');
    // Node a dies: its connections end, nothing is released.
    await a.db.sql.end({ timeout: 0 });
    const before = await row();
    await eventually(() => Promise.resolve(b.lease.isHolder() ? true : undefined), LEASE_MS + RENEW_MS + 3_000, 'b takes over');
    const after = await row();
    expect(after).toMatchObject({ holder: 'b', token: '2' });
    expect(b.lease.token).toBe(2);
    // Safety: b was granted the lease no sooner than a's last expiry on the server's clock.
    expect(after?.acquired).toBeGreaterThanOrEqual(before?.expires ?? Number.POSITIVE_INFINITY);
    // And a knows, though it could not reach the database to learn it.
    await eventually(() => Promise.resolve(a.events.includes('lost 1 late') ? true : undefined), 3_000, 'a learns it lost');
    expect(a.lease.isHolder()).toBe(false);
  });

  it('lets the other node take over at once when the holder stops cleanly', async () => {
    const a = await node('a');
    await eventually(() => Promise.resolve(a.lease.isHolder() ? true : undefined), 5_000, 'a holds');
    const b = await node('b', { leaseMs: 60_000, renewEveryMs: 200, marginMs: 1_000 });
    await a.lease.close();
    expect(a.events).toEqual(['gained 1', 'lost 1 closed']);
    await eventually(() => Promise.resolve(b.lease.isHolder() ? true : undefined), 5_000, 'b takes over');
    expect(await row()).toMatchObject({ holder: 'b', token: '2' });
  });

  it('ignores the nodes\' own clocks: one an hour fast, one an hour slow, still one holder and a takeover on time', async () => {
    const fast = await node('fast', { clock: () => Date.now() + HOUR });
    await eventually(() => Promise.resolve(fast.lease.isHolder() ? true : undefined), 5_000, 'the fast node holds');
    const slow = await node('slow', { clock: () => Date.now() - HOUR });
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, RENEW_MS));
      expect(holderOf(fast, slow)).toEqual([fast.lease]);
    }
    await fast.db.sql.end({ timeout: 0 });
    // Were expiries written from the fast node's clock, the slow one would wait an hour.
    await eventually(() => Promise.resolve(slow.lease.isHolder() ? true : undefined), LEASE_MS + RENEW_MS + 3_000, 'the slow node takes over');
    expect(await row()).toMatchObject({ holder: 'slow', token: '2' });
  });

  it('reports what the server records', async () => {
    const a = await node('a');
    await eventually(() => Promise.resolve(a.lease.isHolder() ? true : undefined), 5_000, 'a holds');
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    open.push({ db, leases: [] });
    expect(await leaseRecord(db, 'leader')).toEqual({ holder: 'a', token: 1, live: true });
    expect(await leaseRecord(db, 'area:x')).toBeUndefined();
    await a.lease.close();
    expect(await leaseRecord(db, 'leader')).toEqual({ holder: 'a', token: 1, live: false });
  });
});
