/**
 * A transformer-overload rule may not carry its own freshness or power factor against the
 * station's one area-load definition: stored and seeded rules that agree (the old defaults
 * were written out) keep running; one that disagrees is refused, naming the station key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RuleEngine } from '../../../src/rules/engine.js';
import { RuleValidationError } from '../../../src/rules/model.js';
import { RuleService } from '../../../src/rules/service.js';
import { RuleStore } from '../../../src/rules/store.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { FakeTopology, T0, area, meter, rule } from './fixture.js';

const dbs: Db[] = [];
afterEach(() => { for (const db of dbs.splice(0)) db.close(); });

function service(db: Db) {
  const topology = new FakeTopology([area('tx1', null, 400)], [meter('m1', 'tx1')]);
  const engine = new RuleEngine({ topology, onSignal: () => undefined, now: () => T0 });
  return new RuleService({
    db, engine, now: () => T0, areaLoad: { freshMs: 180_000, powerFactor: 0.9 },
    refs: { meterExists: (id) => topology.meterMap.has(id), areaExists: (id) => topology.areaMap.has(id) },
  });
}
const overload = (params: Record<string, unknown>) => ({ id: 'tx', name: 'overload', subject: { all: true }, detector: 'transformer-overload', params });

describe('transformer-overload parameters the station now holds', () => {
  it('refuses a rule whose freshMs or powerFactor differs from the station, and names the station key', () => {
    const db = openDatabase(':memory:');
    dbs.push(db);
    const rules = service(db);
    let caught: unknown;
    try {
      rules.create(overload({ freshMs: 900_000, powerFactor: 0.8 }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RuleValidationError);
    expect((caught as RuleValidationError).issues).toEqual([
      { path: 'params.freshMs', message: 'superseded by station.areaLoadFreshMs (180000), which every area load uses: set it there, or remove this parameter' },
      { path: 'params.powerFactor', message: 'superseded by station.transformerPowerFactor (0.9), which every area load uses: set it there, or remove this parameter' },
    ]);
    expect(rules.create(overload({ powerFactor: 0.9, freshMs: 180_000 })).id).toBe('tx');
  });

  it('keeps a stored rule that agrees running, and reports one that disagrees as invalid', () => {
    const db = openDatabase(':memory:');
    dbs.push(db);
    const store = new RuleStore(db);
    store.create(rule(overload({ powerFactor: 0.9 })), 'yaml', T0);
    store.create(rule({ ...overload({ freshMs: 900_000 }), id: 'old' }), 'api', T0);
    const { loaded, invalid } = service(db).load();
    expect(loaded).toBe(1);
    expect(invalid.map((i) => [i.id, i.error.issues.map((e) => e.path)])).toEqual([['old', ['params.freshMs']]]);
  });
});
