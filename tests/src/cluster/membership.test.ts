/**
 * The member list on a real PostgreSQL: nodes register and heartbeat; one that stops beating
 * is no longer live once its heartbeat is older than its leaseMs by the server's clock; a
 * clean stop shows at once; a restart takes its row over.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Membership } from '../../../src/cluster/membership.js';
import type { NodeIdentity } from '../../../src/cluster/settings.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { eventually } from '../../helpers/headend.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';

const unavailable = postgresUnavailable();
const identity = (id: string): NodeIdentity => ({ id, mode: 'active-standby', roles: ['api', 'collect'], heartbeatMs: 100, leaseMs: 500, advertiseUrl: undefined });

describe.skipIf(unavailable !== undefined)('the member list on PostgreSQL', () => {
  let cluster: TestPostgres;
  const pools: PostgresDatabase[] = [];

  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster.dispose();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  const database = async (): Promise<{ url: string; pool: () => Promise<PostgresDatabase> }> => {
    const url = await cluster.createDatabase();
    const pool = async (): Promise<PostgresDatabase> => {
      const db = await openPostgres({ url, config: { ...POSTGRES_TEST_CONFIG, connectTimeoutMs: 500 } });
      pools.push(db);
      return db;
    };
    await migratePostgres(await pool());
    return { url, pool };
  };
  const liveIds = async (m: Membership): Promise<string[]> => (await m.members()).filter((x) => x.live).map((x) => x.id);

  it('lists two heartbeating nodes live, and one that stops beating as not live after its leaseMs', async () => {
    const { pool } = await database();
    const aDb = await pool();
    const a = new Membership(aDb, { node: identity('a'), apiUrl: null, version: '0.1.0' });
    const b = new Membership(await pool(), { node: identity('b'), apiUrl: 'http://10.0.0.2:8080', version: '0.1.0' });
    await a.join();
    await b.join();
    await a.advertise('http://10.0.0.1:8080');
    expect(await b.members()).toMatchObject([
      { id: 'a', roles: ['api', 'collect'], mode: 'active-standby', apiUrl: 'http://10.0.0.1:8080', version: '0.1.0', live: true },
      { id: 'b', apiUrl: 'http://10.0.0.2:8080', live: true },
    ]);
    // Several leases later both are still live: the heartbeats keep them so.
    const since = Date.now();
    await eventually(async () => (Date.now() - since > 1_500 && (await liveIds(b)).length === 2 ? true : undefined), 5_000, 'two leases of heartbeats');
    expect(await liveIds(b)).toEqual(['a', 'b']);

    // a's process dies: no more heartbeats, no clean stop.
    await aDb.sql.end({ timeout: 0 });
    const gone = await eventually(async () => {
      const members = await b.members();
      return members.find((m) => m.id === 'a')?.live === false ? members : undefined;
    }, 5_000, 'a no longer live');
    expect(gone.map((m) => [m.id, m.live])).toEqual([['b', true], ['a', false]]);
    await b.leave();
  });

  it('shows a clean stop at once, and a restart with the same id takes its row back', async () => {
    const { pool } = await database();
    const a = new Membership(await pool(), { node: identity('a'), apiUrl: null, version: '0.1.0' });
    const b = new Membership(await pool(), { node: identity('b'), apiUrl: null, version: '0.1.0' });
    await a.join();
    await b.join();
    await a.leave();
    expect(await liveIds(b)).toEqual(['b']);
    const again = new Membership(await pool(), { node: { ...identity('a'), roles: ['api'] }, apiUrl: null, version: '0.2.0' });
    await again.join();
    const members = await b.members();
    expect(members.map((m) => [m.id, m.live, m.roles, m.version])).toEqual([['a', true, ['api'], '0.2.0'], ['b', true, ['api', 'collect'], '0.1.0']]);
    await again.leave();
    await b.leave();
  });
});
