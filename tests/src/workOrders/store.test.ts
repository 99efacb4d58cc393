/**
 * The work order store's behaviour, one suite run against every driver (embedded SQLite and
 * PostgreSQL, tests/helpers/storeDrivers.ts): numbers, idempotent inserts by key, changes with
 * their history and comments, keyset pages under every filter, and the station-wide change
 * numbers a follower reads, also with two nodes writing at once.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { WorkOrder, WorkOrderState } from '../../../src/workOrders/model.js';
import type { NewWorkOrder, WorkOrderQuery, WorkOrderStore } from '../../../src/workOrders/store.js';
import { prng } from '../../helpers/prng.js';
import { postgresPlanNodes, postgresRangeOnly, recordingPostgres, recordingSqlite, sqlitePlan, sqliteRangeOnly } from '../../helpers/queryPlans.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, workOrderStoreOf, type StoreConnection } from '../../helpers/storeDrivers.js';

const T0 = Date.UTC(2026, 0, 5, 8);

function newOrder(id: string, o: Partial<NewWorkOrder> = {}): NewWorkOrder {
  return {
    id, key: null, type: 'repair', title: `Order ${id}`, meterId: null, customer: null, areaId: null, role: null, assignee: null,
    dueAt: null, state: 'open', alarmId: null, source: null, createdAt: T0, ...o,
  };
}

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('work order store on $name', (driver) => {
  const db = connectEachTest(driver);
  let store: WorkOrderStore;
  beforeEach(() => {
    store = workOrderStoreOf(db().connection);
  });

  it('numbers orders WO-000001, WO-000002… and answers a key used before with the order it made', async () => {
    const source = { instanceId: 'i-1', processKey: 'suspected-theft', elementId: 'check' };
    const first = await store.insert(newOrder('a', { key: 'i-1:e-1', type: 'field-check', meterId: 'm1', areaId: 'tx1', role: 'field', dueAt: T0 + 3_600_000, alarmId: '17', source }), 'workflow:suspected-theft/i-1');
    expect(first.created).toBe(true);
    expect(first.order).toMatchObject({
      id: 'a', number: 'WO-000001', type: 'field-check', meterId: 'm1', areaId: 'tx1', role: 'field', assignee: null, state: 'open',
      result: null, resultText: null, escalations: 0, alarmId: '17', source, createdAt: T0, updatedAt: T0, closedAt: null, dueAt: T0 + 3_600_000,
    });
    const again = await store.insert(newOrder('b', { key: 'i-1:e-1', type: 'field-check' }), 'workflow:suspected-theft/i-1');
    expect(again).toEqual({ order: first.order, created: false });
    expect(await store.get('b')).toBeUndefined();
    const second = await store.insert(newOrder('c'), 'user:li');
    expect(second.order.number).toBe('WO-000002');
    expect(second.order.changeSeq).toBeGreaterThan(first.order.changeSeq);
    expect(await store.byKey('i-1:e-1')).toEqual(first.order);
    expect(await store.byKey('nope')).toBeUndefined();
    expect((await store.detail('a'))?.history).toEqual([{ at: T0, by: 'workflow:suspected-theft/i-1', event: 'created', detail: null }]);
  });

  it('applies a change with its history line and comment in one write, and leaves the order as it is when the decision is none', async () => {
    const { order } = await store.insert(newOrder('a'), 'user:li');
    const assigned = await store.change('a', () => ({ patch: { assignee: 'zhang', state: 'assigned' }, event: { at: T0 + 1, by: 'user:li', event: 'assigned', detail: 'zhang' } }));
    expect(assigned).toMatchObject({ assignee: 'zhang', state: 'assigned', updatedAt: T0 + 1 });
    expect(assigned?.changeSeq).toBeGreaterThan(order.changeSeq);
    const done = await store.change('a', (current, comments) => {
      expect([current.state, comments]).toEqual(['assigned', 0]);
      return { patch: { state: 'done', result: { outcome: 'repaired', cause: 'loose wire' }, resultText: 'ok', closedAt: T0 + 2 }, event: { at: T0 + 2, by: 'user:zhang', event: 'completed', detail: null } };
    });
    await store.change('a', (_, comments) => {
      expect(comments).toBe(0);
      return { patch: {}, event: { at: T0 + 3, by: 'user:zhang', event: 'commented', detail: null }, comment: { text: 'photos on the share' } };
    });
    const unchanged = await store.change('a', () => null);
    expect(unchanged?.changeSeq).toBeGreaterThan(done?.changeSeq ?? Infinity);
    expect(await store.get('a')).toEqual(unchanged);
    const detail = await store.detail('a');
    expect(detail).toMatchObject({ state: 'done', result: { outcome: 'repaired', cause: 'loose wire' }, resultText: 'ok', closedAt: T0 + 2, updatedAt: T0 + 3 });
    expect(detail?.comments).toEqual([{ at: T0 + 3, by: 'user:zhang', text: 'photos on the share' }]);
    expect(detail?.history.map((h) => h.event)).toEqual(['created', 'assigned', 'completed', 'commented']);
    expect(await store.change('nope', () => null)).toBeUndefined();
  });

  it('rolls a change back when its decision refuses, and the refusal comes out as itself', async () => {
    await store.insert(newOrder('a'), 'user:li');
    class Refused extends Error { readonly code = 'REFUSED'; }
    await expect(store.change('a', () => { throw new Refused('no'); })).rejects.toBeDefined();
    const { NotFoundError } = await import('../../../src/domain/errors.js');
    await expect(store.change('a', () => { throw new NotFoundError('work order', 'a'); })).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect((await store.detail('a'))?.history).toHaveLength(1);
  });

  it('pages newest first through every filter without losing or repeating an order', async () => {
    const random = prng(19);
    const states: WorkOrderState[] = ['open', 'assigned', 'in-progress', 'done', 'cancelled'];
    const all: WorkOrder[] = [];
    for (let i = 0; i < 60; i++) {
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
      // Several orders share a creation time: the id breaks the tie.
      const { order } = await store.insert(newOrder(`o${String(i).padStart(2, '0')}`, {
        createdAt: T0 + Math.floor(i / 3) * 1000, areaId: pick(['tx1', 'tx2', null]), state: pick(states), assignee: pick(['zhang', 'wang', null]),
        role: pick(['field', 'operator', null]), type: pick(['repair', 'field-check']), meterId: pick(['m1', 'm2']),
      }), 'user:li');
      all.push(order);
    }
    const newestFirst = [...all].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const filters: Omit<WorkOrderQuery, 'limit'>[] = [{}, { areaId: 'tx1' }, { state: 'open' }, { assignee: 'zhang' }, { role: 'field' }, { type: 'field-check' }, { meterId: 'm2' }, { areaId: 'tx2', state: 'done', type: 'repair' }];
    for (const filter of filters) {
      const seen: string[] = [];
      let page = await store.list({ ...filter, limit: 7 });
      seen.push(...page.items.map((o) => o.id));
      while (page.next !== null) {
        page = await store.list({ ...filter, limit: 7, after: page.next });
        seen.push(...page.items.map((o) => o.id));
      }
      const expected = newestFirst.filter((o) => Object.entries(filter).every(([k, v]) => o[k as keyof WorkOrder] === v)).map((o) => o.id);
      expect({ filter, seen }).toEqual({ filter, seen: expected });
    }
  });

  it('reads changes after a change number in order, each order once at its last change, across many changes', async () => {
    for (let i = 0; i < 30; i++) await store.insert(newOrder(`o${i}`), 'user:li');
    const random = prng(7);
    for (let n = 0; n < 120; n++) {
      await store.change(`o${Math.floor(random() * 30)}`, (o) => ({ patch: { escalations: o.escalations + 1 }, event: { at: T0 + n, by: 'system', event: 'escalated', detail: null } }));
    }
    const read: WorkOrder[] = [];
    let seq = 0;
    for (;;) {
      const batch = await store.changesSince(seq, 8);
      if (batch.length === 0) break;
      read.push(...batch);
      seq = batch.at(-1)?.changeSeq ?? seq;
    }
    const seqs = read.map((o) => o.changeSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(read.map((o) => o.id)).size).toBe(30);
    expect(read.reduce((sum, o) => sum + o.escalations, 0)).toBe(120);
  });

  it('gives unique numbers and change numbers when two nodes write at once', async () => {
    const other = workOrderStoreOf(await db().connect());
    const writes = Array.from({ length: 40 }, (_, i) => ((i % 2 === 0 ? store : other).insert(newOrder(`n${i}`, { key: `k${i % 20}` }), 'system')));
    const results = await Promise.all(writes);
    const orders = new Map(results.map((r) => [r.order.id, r.order]));
    expect(orders.size).toBe(20);
    expect(new Set([...orders.values()].map((o) => o.number)).size).toBe(20);
    expect(new Set([...orders.values()].map((o) => o.changeSeq)).size).toBe(20);
    expect((await other.changesSince(0, 100)).map((o) => o.id).sort()).toEqual([...orders.keys()].sort());
  });

  it('reads a deep page under each filter as one index range, without a scan or a sort', async () => {
    const c = db().connection;
    const after = { createdAt: T0, id: 'o50' };
    const pages: Omit<WorkOrderQuery, 'limit'>[] = [
      { after }, { areaId: 'tx1', after }, { state: 'open', after }, { assignee: 'zhang', after }, { role: 'field', after }, { type: 'repair', after }, { meterId: 'm1', after },
    ];
    const plans: string[][] = [];
    const read = async (conn: StoreConnection): Promise<void> => {
      for (const q of pages) await workOrderStoreOf(conn).list({ ...q, limit: 100 });
    };
    if (c.sqlite !== undefined) {
      const rec = recordingSqlite(c.sqlite);
      await read({ sqlite: rec.db });
      for (const q of rec.taken()) plans.push(sqlitePlan(c.sqlite, q));
      expect(plans.filter((p) => !sqliteRangeOnly(p))).toEqual([]);
    } else {
      const rec = recordingPostgres(c.postgres);
      try {
        await read({ postgres: rec.db });
        for (const q of rec.taken()) plans.push(await postgresPlanNodes(c.postgres, q));
      } finally {
        await rec.close();
      }
      expect(plans.filter((p) => !postgresRangeOnly(p))).toEqual([]);
    }
    expect(plans).toHaveLength(pages.length);
  });
});
