/**
 * Fencing end to end on a real PostgreSQL: a leader in a process of its own marks a command
 * `sent` under its token; paused (SIGSTOP) while another node takes the lease, it wakes up
 * (SIGCONT), still holding its old token, and the command store refuses the write with
 * `StaleFencingToken`: the target stays pending for the new leader, which may send it. The
 * old leader also knows, from its own clock, that it no longer leads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease } from '../../../src/cluster/lease.js';
import { StaleFencingToken, fenced } from '../../../src/cluster/fencing.js';
import { PostgresCommandStore } from '../../../src/control/postgresCommandStore.js';
import type { NewCommand } from '../../../src/control/commandStore.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { forkTypeScript, nextMessage, type ForkedModule } from '../../bench/forkTs.js';
import { eventually } from '../../helpers/headend.js';
import { HOLDER_LEASE_MS, isReply, type SendRequest } from '../../helpers/leaseHolderProcess.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping the fencing tests: ${unavailable}`);

const command = (id: string): NewCommand => ({
  id, type: 'disconnect', params: {}, scope: { meterIds: ['m1'] }, reason: null, overrideReason: null,
  origin: { kind: 'operator', actor: 'op' }, source: null, idempotencyKey: null, bodyHash: null, createdAt: Date.now(),
  targets: [{ meterId: 'm1', terminalId: 't1', address: '1', status: 'pending' }],
});

describe.skipIf(unavailable !== undefined)('fencing a leader\'s side effects', () => {
  let cluster: TestPostgres;
  let url: string;
  let db: PostgresDatabase;

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await cluster.dispose();
  });

  it('refuses the write of a paused old leader that wakes up, and that leader knows it lost', async () => {
    const store = new PostgresCommandStore(db);
    await store.insert(command('c1'));
    await store.insert(command('c2'));
    let old: ForkedModule | undefined;
    const standby = new Lease(db, { name: 'leader', holder: 'standby', leaseMs: HOLDER_LEASE_MS, renewEveryMs: 200 });
    try {
      old = await forkTypeScript('tests/helpers/leaseHolderProcess.ts', ['--lease-holder', url, 'old']);
      const { child } = old;
      expect(await nextMessage(child, isReply('gained'))).toEqual({ type: 'gained', token: 1 });
      const ask = (commandId: string): void => { child.send({ type: 'send', commandId, meterId: 'm1' } satisfies SendRequest); };

      // Leading, it sends under its token.
      const first = nextMessage(child, (m): m is unknown => isReply('sent')(m) || isReply('refused')(m));
      ask('c1');
      expect(await first).toEqual({ type: 'sent', wasHolder: true });
      expect((await store.target('c1', 'm1'))?.status).toBe('sent');

      // Paused: the standby takes over once the lease expires, under token 2.
      child.kill('SIGSTOP');
      standby.start();
      await eventually(() => Promise.resolve(standby.isHolder() ? true : undefined), 10_000, 'the standby takes over');
      expect(standby.token).toBe(2);

      // Awake, it tries to send with the token it had: refused, nothing written.
      const lost = nextMessage(child, isReply('lost'));
      const second = nextMessage(child, (m): m is unknown => isReply('sent')(m) || isReply('refused')(m));
      child.kill('SIGCONT');
      ask('c2');
      expect(await second).toEqual({ type: 'refused', code: 'STALE_FENCING_TOKEN', wasHolder: false });
      expect(await lost).toEqual({ type: 'lost', token: 1 });
      const target = await store.target('c2', 'm1');
      expect(target?.status).toBe('pending');
      expect(target?.transitions.map((t) => t.status)).toEqual(['pending']);

      // The new leader's token is current: its send is written.
      const fence = standby.fence();
      expect(fence).toEqual({ lease: 'leader', token: 2 });
      expect((await store.transition('c2', 'm1', 'sent', Date.now(), fence === undefined ? {} : { fence })).status).toBe('sent');
    } finally {
      old?.child.kill('SIGCONT');
      await old?.dispose();
      await standby.close();
    }
  }, 30_000);

  it('refuses a token for a lease no one was ever given, and runs the write under the current one', async () => {
    await expect(fenced(db, { lease: 'area:nowhere', token: 1 }, (tx) => tx`SELECT 1`)).rejects.toBeInstanceOf(StaleFencingToken);
    await db.sql`INSERT INTO cluster_leases (name, holder, token, acquired_at, expires_at) VALUES ('area:a1', 'n1', 7, now(), now() + interval '1 hour')`;
    expect(await fenced(db, { lease: 'area:a1', token: 7 }, async (tx) => (await tx<{ v: number }[]>`SELECT 41 + 1 AS v`)[0]?.v)).toBe(42);
    await expect(fenced(db, { lease: 'area:a1', token: 6 }, (tx) => tx`SELECT 1`)).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN', lease: 'area:a1', token: 6, current: 7 });
  });
});
