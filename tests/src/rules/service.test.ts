/**
 * The rule service over its store, one suite run against every driver: the embedded store
 * (SQLite) and the PostgreSQL store on a throw-away cluster (skipped, with the reason printed,
 * where PostgreSQL is not installed). A second service on the same database stands for a
 * restart, or for another node.
 *
 * A transformer-overload rule may not carry its own freshness or power factor against the
 * station's one area-load definition: stored and seeded rules that agree (the old defaults
 * were written out) keep running; one that disagrees is refused, naming the station key.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/domain/errors.js';
import { RuleEngine } from '../../../src/rules/engine.js';
import { RuleValidationError, parseRule } from '../../../src/rules/model.js';
import { PostgresRuleStore } from '../../../src/rules/postgresStore.js';
import { RuleService } from '../../../src/rules/service.js';
import { SqliteRuleStore, type RuleStore } from '../../../src/rules/store.js';
import { openDatabase } from '../../../src/storage/db.js';
import { openPostgres } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { FakeTopology, T0, area, meter, reading, rule } from './fixture.js';

/** One database of one driver: `store()` opens another store on it (another node, or the same after a restart). */
interface Database {
  store(): Promise<RuleStore>;
  close(): Promise<void>;
}

interface Driver {
  readonly name: string;
  readonly unavailable: string | undefined;
  create(): Promise<Database>;
}

const embedded: Driver = {
  name: 'embedded (SQLite)',
  unavailable: undefined,
  create: () => {
    const db = openDatabase(':memory:');
    return Promise.resolve({
      store: () => Promise.resolve(new SqliteRuleStore(db)),
      close: () => { db.close(); return Promise.resolve(); },
    });
  },
};

let cluster: TestPostgres | undefined;

const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: postgresUnavailable(),
  create: async () => {
    cluster ??= await startPostgres();
    const db = await openPostgres({ url: await cluster.createDatabase(), config: POSTGRES_TEST_CONFIG });
    await migratePostgres(db);
    return { store: () => Promise.resolve(new PostgresRuleStore(db)), close: () => db.close() };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

const overload = (params: Record<string, unknown>) => ({ id: 'tx', name: 'overload', subject: { all: true }, detector: 'transformer-overload', params });
const power = { id: 'p1', name: 'Power', subject: { meter: 'm1' }, detector: 'power-over-limit', params: { limitKw: 10 } };

describe.each([embedded, postgresDriver])('rule service on $name', (driver) => {
  let database: Database | undefined;

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    database = await driver.create();
  }, 30_000);
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  async function service() {
    if (database === undefined) throw new Error('no database');
    const topology = new FakeTopology([area('tx1', null, 400)], [meter('m1', 'tx1')]);
    const engine = new RuleEngine({ topology, onSignal: () => undefined, now: () => T0 });
    return new RuleService({
      store: await database.store(), engine, now: () => T0, areaLoad: { freshMs: 180_000, powerFactor: 0.9 },
      refs: { meterExists: (id) => topology.meterMap.has(id), areaExists: (id) => topology.areaMap.has(id) },
    });
  }

  describe('transformer-overload parameters the station now holds', () => {
    it('refuses a rule whose freshMs or powerFactor differs from the station, and names the station key', async () => {
      const rules = await service();
      let caught: unknown;
      try {
        await rules.create(overload({ freshMs: 900_000, powerFactor: 0.8 }));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RuleValidationError);
      expect((caught as RuleValidationError).issues).toEqual([
        { path: 'params.freshMs', message: 'superseded by station.areaLoadFreshMs (180000), which every area load uses: set it there, or remove this parameter' },
        { path: 'params.powerFactor', message: 'superseded by station.transformerPowerFactor (0.9), which every area load uses: set it there, or remove this parameter' },
      ]);
      expect((await rules.create(overload({ powerFactor: 0.9, freshMs: 180_000 }))).id).toBe('tx');
    });

    it('keeps a stored rule that agrees running, and reports one that disagrees as invalid', async () => {
      if (database === undefined) throw new Error('no database');
      const store = await database.store();
      await store.create(rule(overload({ powerFactor: 0.9 })), 'yaml', T0);
      await store.create(rule({ ...overload({ freshMs: 900_000 }), id: 'old' }), 'api', T0);
      const { loaded, invalid } = await (await service()).load();
      expect(loaded).toBe(1);
      expect(invalid.map((i) => [i.id, i.error.issues.map((e) => e.path)])).toEqual([['old', ['params.freshMs']]]);
    });
  });

  describe('rules stored', () => {
    it('keeps created, changed, disabled and deleted rules across a restart', async () => {
      const before = await service();
      await before.create(power);
      await before.create({ ...power, id: 'p2' });
      await before.create({ ...power, id: 'p3', description: 'to go' });
      await before.update('p2', { ...power, id: undefined, params: { limitKw: 20 }, description: 'feeder 2' });
      await before.setEnabled('p1', false);
      await before.delete('p3');
      const after = await service();
      expect(await after.load()).toEqual({ loaded: 2, invalid: [] });
      expect(after.list().map((r) => r.id)).toEqual(['p1', 'p2']);
      expect(after.get('p1')).toEqual(before.get('p1'));
      expect(after.get('p2')).toMatchObject({ params: { limitKw: 20 }, description: 'feeder 2', subject: { meter: 'm1' } });
    });

    it('loaded again (the node becoming active), closes no alarm of a rule that did not change, and clears those of one that did', async () => {
      if (database === undefined) throw new Error('no database');
      const signals: string[] = [];
      const topology = new FakeTopology([area('tx1', null, 400)], [meter('m1', 'tx1')]);
      const engine = new RuleEngine({ topology, onSignal: (x) => signals.push(`${x.kind}:${x.ruleId}`), now: () => T0 });
      const store = await database.store();
      const rules = new RuleService({ store, engine, now: () => T0, refs: { meterExists: () => true, areaExists: () => true } });
      await rules.create(power);
      await rules.create({ ...power, id: 'p2' });
      await rules.load();
      engine.write([reading('m1', 'power.active', 50, T0)]);
      expect(signals.splice(0)).toEqual(['raise:p1', 'raise:p2']);
      await (await database.store()).update(parseRule({ ...power, id: 'p2', params: { limitKw: 60 } }), T0);
      await rules.load();
      expect(signals.splice(0)).toEqual(['clear:p2']);
      expect(rules.get('p2').params).toMatchObject({ limitKw: 60 });
    });

    it('gives one rule and one conflict when two nodes create the same id, and seeds past a rule another node stored', async () => {
      const [a, b] = [await service(), await service()];
      const outcomes = await Promise.allSettled([a.create(power), b.create({ ...power, params: { limitKw: 99 } })]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      expect(refused).toHaveLength(1);
      expect(refused[0]).toBeInstanceOf(ConflictError);
      const c = await service();
      await c.load();
      expect(await b.seed([c.get('p1'), rule({ ...power, id: 'p9' })])).toEqual({ added: ['p9'], kept: ['p1'] });
    });
  });
});
