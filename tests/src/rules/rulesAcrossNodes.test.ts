/**
 * Rule definitions between nodes on PostgreSQL: two rule services, each with its own engine and
 * its own pool (so its own listening connection), on one database. A rule created, changed,
 * disabled or deleted on one node changes what the other's engine raises, without a restart; a
 * node whose listener was cut off by a restart of PostgreSQL reloads and catches a change it was
 * never told of; a notification that is not a rule change is reported and ignored. PostgreSQL
 * only: the embedded store has one process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlarmSignal } from '../../../src/domain/index.js';
import { RuleEngine } from '../../../src/rules/engine.js';
import { PostgresRuleStore, RULE_CHANNEL } from '../../../src/rules/postgresStore.js';
import { RuleService, type RuleFollowProblem } from '../../../src/rules/service.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { FakeTopology, T0, area, meter, reading } from './fixture.js';

/** Long enough for a restarted PostgreSQL and the listener's backoff; a wait, never an assertion on time. */
const ARRIVAL = { timeout: 30_000, interval: 20 };
const POWER = { id: 'p1', name: 'Power', subject: { meter: 'm1' }, detector: 'power-over-limit', params: { limitKw: 10, forMs: 0 } };

const unavailable = postgresUnavailable();
let cluster: TestPostgres | undefined;

afterAll(async () => {
  await cluster?.dispose();
});

interface Node {
  readonly db: PostgresDatabase;
  readonly rules: RuleService;
  readonly problems: RuleFollowProblem[];
  /** Hands the engine one power reading of m1 and returns the signals since the last call, as `kind:ruleId`. */
  power(kw: number): string[];
  /** The signals since the last call, with their explanations. */
  take(): AlarmSignal[];
}

describe('rule definitions between nodes on PostgreSQL', () => {
  let url = '';
  const opened: { close(): Promise<void> }[] = [];

  const node = async (): Promise<Node> => {
    const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    opened.push(db);
    await migratePostgres(db);
    const topology = new FakeTopology([area('tx1', null, 400)], [meter('m1', 'tx1')]);
    const signals: AlarmSignal[] = [];
    let ts = T0;
    const engine = new RuleEngine({ topology, onSignal: (s) => signals.push(s), now: () => ts });
    const rules = new RuleService({
      store: new PostgresRuleStore(db), engine, now: () => T0,
      refs: { meterExists: (id) => topology.meterMap.has(id), areaExists: (id) => topology.areaMap.has(id) },
    });
    await rules.load();
    const problems: RuleFollowProblem[] = [];
    await rules.follow((p) => problems.push(p));
    opened.push(rules);
    const take = () => signals.splice(0);
    return {
      db, rules, problems, take,
      power: (kw) => {
        ts += 1000;
        engine.write([reading('m1', 'power.active', kw, ts)]);
        return take().map((s) => `${s.kind}:${s.ruleId}`);
      },
    };
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
    // Services before their pools: last opened, first closed.
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  it('changes what the other node\'s engine raises as a rule is created, changed, disabled, enabled and deleted on one node', async () => {
    const [a, b] = [await node(), await node()];
    expect(b.power(50)).toEqual([]);

    await a.rules.create(POWER);
    await expect.poll(() => b.rules.list().map((r) => r.id), ARRIVAL).toEqual(['p1']);
    expect(b.power(50)).toEqual(['raise:p1']);

    await a.rules.update('p1', { ...POWER, id: undefined, params: { limitKw: 100, forMs: 0 } });
    await expect.poll(() => b.rules.get('p1').params.limitKw, ARRIVAL).toBe(100);
    // The old version's alarm clears with the change; the new limit is not passed.
    expect(b.take().map((s) => `${s.kind}:${s.ruleId}`)).toEqual(['clear:p1']);
    expect(b.power(50)).toEqual([]);
    expect(b.power(150)).toEqual(['raise:p1']);

    await a.rules.setEnabled('p1', false);
    await expect.poll(() => b.rules.get('p1').enabled, ARRIVAL).toBe(false);
    expect(b.take().map((s) => [s.kind, s.explanation])).toEqual([['clear', expect.stringContaining('was disabled')]]);
    expect(b.power(150)).toEqual([]);

    await a.rules.setEnabled('p1', true);
    await expect.poll(() => b.rules.get('p1').enabled, ARRIVAL).toBe(true);
    expect(b.power(150)).toEqual(['raise:p1']);

    await a.rules.delete('p1');
    await expect.poll(() => b.rules.list(), ARRIVAL).toEqual([]);
    expect(b.take().map((s) => [s.kind, s.explanation])).toEqual([['clear', expect.stringContaining('was deleted')]]);
    expect(b.power(150)).toEqual([]);
    // A's own changes were applied when its writes returned, never again from its notifications.
    expect(a.take()).toEqual([]);
    expect([...a.problems, ...b.problems]).toEqual([]);
  });

  it('reloads once PostgreSQL is back after a restart, catching a deletion it was never told of', async () => {
    const [a, b] = [await node(), await node()];
    await a.rules.create(POWER);
    await a.rules.create({ ...POWER, id: 'p2' });
    await expect.poll(() => b.rules.list().map((r) => r.id), ARRIVAL).toEqual(['p1', 'p2']);
    expect(b.power(50)).toEqual(['raise:p1', 'raise:p2']);
    // A deletion that sent no notification, as one committed while B's listener was down would reach B.
    await a.db.sql`DELETE FROM rules WHERE id = 'p1'`;
    if (cluster === undefined) throw new Error('no cluster');
    await cluster.restart();

    await expect.poll(() => b.rules.list().map((r) => r.id), ARRIVAL).toEqual(['p2']);
    expect(b.take().map((s) => `${s.kind}:${s.ruleId}`)).toEqual(['clear:p1']);

    // Listening again: a change made through A after the restart arrives as any other.
    await expect.poll(() => a.rules.delete('p2').then(() => true, () => false), ARRIVAL).toBe(true);
    await expect.poll(() => b.rules.list(), ARRIVAL).toEqual([]);
  }, 90_000);

  it('reports a notification on the rule channel that is not a rule change and keeps following', async () => {
    const [a, b] = [await node(), await node()];
    await a.db.sql`SELECT pg_notify(${RULE_CHANNEL}, 'not json'), pg_notify(${RULE_CHANNEL}, '{"o":"x","id":42}')`;
    await expect.poll(() => b.problems.length, ARRIVAL).toBe(2);
    expect(b.problems.map((p) => p.code)).toEqual(['BROKEN_NOTIFICATION', 'BROKEN_NOTIFICATION']);

    await a.rules.create(POWER);
    await expect.poll(() => b.rules.list().map((r) => r.id), ARRIVAL).toEqual(['p1']);
  });
});
