/**
 * The definition store on every driver (embedded SQLite and PostgreSQL,
 * tests/helpers/storeDrivers.ts): versions counted per key, the same hash answered without a
 * new version, the deploy condition, versions never rewritten, and two nodes deploying the
 * same key at once each getting a version of their own.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewDefinition, WorkflowDefinitionStore } from '../../../../src/workflows/definitions/store.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, execute, workflowDefinitionStoreOf } from '../../../helpers/storeDrivers.js';

const T0 = Date.UTC(2026, 2, 10);

function definition(key: string, hash: string, o: Partial<NewDefinition> = {}): NewDefinition {
  return { key, name: `Process ${key}`, xml: `<definitions id="${hash}"/>`, hash, deployedAt: T0, deployedBy: 'user:alice', shipped: false, ...o };
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('workflow definition store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: WorkflowDefinitionStore;
  beforeEach(() => {
    store = workflowDefinitionStoreOf(db().connection);
  });

  it('counts versions per key, answers the latest for the same hash, and reads every version back', async () => {
    expect(await store.deploy(definition('theft', 'h1', { shipped: true, deployedBy: 'system' }))).toEqual({
      outcome: 'created', definition: { key: 'theft', version: 1, name: 'Process theft', hash: 'h1', deployedAt: T0, deployedBy: 'system', shipped: true },
    });
    expect(await store.deploy(definition('theft', 'h1', { deployedAt: T0 + 5 }))).toMatchObject({ outcome: 'unchanged', definition: { version: 1, deployedAt: T0 } });
    expect(await store.deploy(definition('theft', 'h2', { deployedAt: T0 + 10 }))).toMatchObject({ outcome: 'created', definition: { version: 2, shipped: false } });
    await store.deploy(definition('comm-loss', 'c1'));

    expect(await store.latest('theft')).toEqual({
      key: 'theft', version: 2, name: 'Process theft', hash: 'h2', deployedAt: T0 + 10, deployedBy: 'user:alice', shipped: false, xml: '<definitions id="h2"/>',
    });
    expect((await store.get('theft', 1))?.xml).toBe('<definitions id="h1"/>');
    expect(await store.get('theft', 3)).toBeUndefined();
    expect(await store.latest('nope')).toBeUndefined();
    expect((await store.versions('theft')).map((v) => [v.version, v.hash, v.shipped])).toEqual([[2, 'h2', false], [1, 'h1', true]]);
    expect(await store.versions('nope')).toEqual([]);
    expect((await store.list()).map((l) => [l.key, l.version, l.versions])).toEqual([['comm-loss', 1, 1], ['theft', 2, 2]]);
  });

  it('adds over the latest only when the condition accepts it, and always takes a first version', async () => {
    const onlyOverShipped = (latest: { shipped: boolean }) => latest.shipped;
    expect((await store.deploy(definition('fee', 'f1', { shipped: true }), onlyOverShipped)).outcome).toBe('created');
    expect((await store.deploy(definition('fee', 'f2'), onlyOverShipped)).definition.version).toBe(2);
    const declined = await store.deploy(definition('fee', 'f3', { shipped: true }), onlyOverShipped);
    expect(declined).toMatchObject({ outcome: 'declined', definition: { version: 2, hash: 'f2' } });
    expect((await store.versions('fee')).length).toBe(2);
  });

  it('never rewrites nor removes a version', async () => {
    await store.deploy(definition('theft', 'h1'));
    await expect(execute(db().connection, "UPDATE workflow_definitions SET xml = '<x/>'")).rejects.toThrow(/never/);
    await expect(execute(db().connection, 'DELETE FROM workflow_definitions')).rejects.toThrow(/never/);
    expect((await store.latest('theft'))?.xml).toBe('<definitions id="h1"/>');
  });

  it('gives two nodes deploying different XML of one key at once a version each', async () => {
    const other = workflowDefinitionStoreOf(await db().connect());
    const deploys = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).deploy(definition('race', `r${i}`)));
    const outcomes = await Promise.all(deploys);
    expect(outcomes.map((o) => o.definition.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await store.versions('race')).map((v) => v.hash).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
  });

  it('answers the same version to two nodes deploying the same XML at once', async () => {
    const other = workflowDefinitionStoreOf(await db().connect());
    const outcomes = await Promise.all([store.deploy(definition('same', 's1')), other.deploy(definition('same', 's1'))]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['created', 'unchanged']);
    expect(outcomes.map((o) => o.definition.version)).toEqual([1, 1]);
  });
});
