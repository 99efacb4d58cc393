/**
 * Alarm changes between nodes on PostgreSQL: two alarm services, each on its own pool (so its
 * own listening connection), one database. What one node raises, updates, acknowledges,
 * comments and clears reaches the other's index of open alarms and its listeners as a change
 * marked heard, which the hearing node never writes or notifies again. A node that had not yet
 * heard of an acknowledgement cannot set it back, nor reopen a cleared alarm; a node whose
 * listener was cut off by a restart of PostgreSQL reloads; a notification that is not an alarm
 * change is reported and ignored. PostgreSQL only: the embedded store has one process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALARM_CHANNEL, PostgresAlarmStore } from '../../../src/alarms/postgresStore.js';
import { AlarmService, type AlarmChange, type AlarmProblem } from '../../../src/alarms/service.js';
import type { Alarm } from '../../../src/domain/index.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { signal } from './fixtures.js';

/** Long enough for a restarted PostgreSQL and the listener's backoff; a wait, never an assertion on time. */
const ARRIVAL = { timeout: 30_000, interval: 20 };

const unavailable = postgresUnavailable();
let cluster: TestPostgres | undefined;

afterAll(async () => {
  await cluster?.dispose();
});

interface Node {
  readonly db: PostgresDatabase;
  readonly alarms: AlarmService;
  readonly changes: AlarmChange[];
  readonly problems: AlarmProblem[];
}

describe('alarm changes between nodes on PostgreSQL', () => {
  let url = '';
  const opened: { close(): Promise<unknown> }[] = [];

  const node = async (follow = true): Promise<Node> => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    opened.push(db);
    await migratePostgres(db);
    const problems: AlarmProblem[] = [];
    const alarms = await AlarmService.open(new PostgresAlarmStore(db), { areaSubtree: () => new Set(), onProblem: (p) => problems.push(p) });
    opened.push(alarms);
    if (follow) await alarms.follow();
    const changes: AlarmChange[] = [];
    alarms.onChange((c) => changes.push(c));
    return { db, alarms, changes, problems };
  };
  /** The changes a node heard, as `kind:id:state`, then forgotten. */
  const heard = (n: Node): string[] => n.changes.splice(0).map((c) => `${c.heard === true ? 'heard' : 'own'} ${c.kind}:${c.alarm.id}:${c.alarm.state}`);
  const row = async (n: Node, id: string) => {
    const [r] = await n.db.sql<{ state: string; value: number; acknowledged_by: string | null }[]>`SELECT state, value, acknowledged_by FROM alarms WHERE id = ${Number(id)}`;
    return r;
  };
  const raise = (n: Node, value: number): Alarm => {
    const a = n.alarms.onSignal(signal({ value }));
    if (a === undefined) throw new Error('the raise was refused');
    return a;
  };

  beforeAll(() => {
    if (unavailable !== undefined) console.warn(`skipped: ${unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (unavailable !== undefined) ctx.skip();
    cluster ??= await startPostgres();
    url = await cluster.createDatabase();
  }, 60_000);
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  it('shows each step of an alarm on one node on the other, marked heard, and sends nothing again', async () => {
    const [a, b] = [await node(), await node()];
    const wire: string[] = [];
    const listening = await a.db.sql.listen(ALARM_CHANNEL, (p) => wire.push(p));
    opened.push({ close: () => listening.unlisten() });

    const x = raise(a, 12.4);
    await expect.poll(() => b.alarms.openFor(x.ruleId, x.subject)?.id, ARRIVAL).toBe(x.id);
    raise(a, 15);
    await expect.poll(() => b.alarms.openFor(x.ruleId, x.subject)?.value, ARRIVAL).toBe(15);

    await b.alarms.acknowledge(x.id, 'operator-b');
    await expect.poll(() => a.alarms.openFor(x.ruleId, x.subject)?.state, ARRIVAL).toBe('acknowledged');
    // A's next update keeps the acknowledgement it heard of.
    expect(raise(a, 16).state).toBe('acknowledged');
    await expect.poll(() => b.alarms.openFor(x.ruleId, x.subject)?.value, ARRIVAL).toBe(16);

    await b.alarms.comment(x.id, 'operator-b', 'crew on the way');
    await expect.poll(() => a.alarms.openFor(x.ruleId, x.subject)?.comments.length, ARRIVAL).toBe(1);

    a.alarms.onSignal(signal({ kind: 'clear', value: 12.4, explanation: 'back under the limit' }));
    await expect.poll(() => b.alarms.openAlarms(), ARRIVAL).toEqual([]);

    expect(heard(b)).toEqual([
      `heard raised:${x.id}:raised`, `heard updated:${x.id}:raised`, `own acknowledged:${x.id}:acknowledged`,
      `heard updated:${x.id}:acknowledged`, `own commented:${x.id}:acknowledged`, `heard cleared:${x.id}:cleared`,
    ]);
    expect(heard(a)).toEqual([
      `own raised:${x.id}:raised`, `own updated:${x.id}:raised`, `heard acknowledged:${x.id}:acknowledged`,
      `own updated:${x.id}:acknowledged`, `heard commented:${x.id}:acknowledged`, `own cleared:${x.id}:cleared`,
    ]);
    expect(b.alarms.stats()).toMatchObject({ open: 0, raised: 0, updated: 0, cleared: 0 });
    expect(await row(a, x.id)).toEqual({ state: 'cleared', value: 12.4, acknowledged_by: 'operator-b' });

    // Six writes, six notifications: one more write, and nothing either node heard was sent again before it.
    const y = raise(a, 30);
    await expect.poll(() => wire.length, ARRIVAL).toBe(7);
    expect(JSON.parse(wire[6] ?? '{}')).toMatchObject({ id: y.id });
    expect([...a.problems, ...b.problems]).toEqual([]);
  });

  it('keeps an acknowledgement, and a clear, stored when a node that had not heard of it updates the alarm', async () => {
    const a = await node();
    const x = raise(a, 12.4);
    await a.alarms.list();
    // A node that loaded the alarm open and raised, and hears nothing since.
    const deaf = await node(false);
    expect(deaf.alarms.openFor(x.ruleId, x.subject)?.state).toBe('raised');
    await a.alarms.acknowledge(x.id, 'operator-a');

    raise(deaf, 20);
    await deaf.alarms.list();
    expect(await row(a, x.id)).toEqual({ state: 'acknowledged', value: 20, acknowledged_by: 'operator-a' });

    a.alarms.onSignal(signal({ kind: 'clear', value: 5, explanation: 'back under the limit' }));
    await a.alarms.list();
    raise(deaf, 25);
    await deaf.alarms.list();
    expect(await row(a, x.id)).toEqual({ state: 'cleared', value: 5, acknowledged_by: 'operator-a' });
  });

  it('reloads once PostgreSQL is back after a restart, catching a clear it was never told of and announcing only that', async () => {
    const [a, b] = [await node(), await node()];
    const x = raise(a, 12.4);
    const z = a.alarms.onSignal(signal({ meter: 'm2' }));
    if (z === undefined) throw new Error('refused');
    await expect.poll(() => b.alarms.openAlarms().length, ARRIVAL).toBe(2);
    heard(b);
    // A clear that sent no notification, as one committed while B's listener was down would reach B.
    await a.alarms.list();
    await a.db.sql`UPDATE alarms SET state = 'cleared', cleared_at = 1 WHERE id = ${Number(x.id)}`;
    if (cluster === undefined) throw new Error('no cluster');
    await cluster.restart();

    await expect.poll(() => b.alarms.openAlarms().map((o) => o.id), ARRIVAL).toEqual([z.id]);
    expect(heard(b)).toEqual([`heard cleared:${x.id}:cleared`]);
  }, 90_000);

  it('reports a notification on the alarm channel that is not an alarm change and keeps following', async () => {
    const [a, b] = [await node(), await node()];
    await a.db.sql`SELECT pg_notify(${ALARM_CHANNEL}, 'not json'), pg_notify(${ALARM_CHANNEL}, '{"o":"x"}')`;
    await expect.poll(() => b.problems.length, ARRIVAL).toBe(2);
    expect(b.problems.map((p) => p.code)).toEqual(['BROKEN_NOTIFICATION', 'BROKEN_NOTIFICATION']);

    const x = raise(a, 12.4);
    await expect.poll(() => b.alarms.openFor(x.ruleId, x.subject)?.id, ARRIVAL).toBe(x.id);
  });
});
