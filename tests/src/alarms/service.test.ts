/**
 * The alarm service over its store, one suite run against every driver: the embedded store
 * (SQLite) and the PostgreSQL store on a throw-away cluster (skipped, with the reason printed,
 * where PostgreSQL is not installed). "Restart" is a new service over a new store on the same
 * database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresAlarmStore } from '../../../src/alarms/postgresStore.js';
import { AlarmService, type AlarmChange, type AlarmProblem, type AlarmServiceOptions } from '../../../src/alarms/service.js';
import { SqliteAlarmStore, type AlarmStore } from '../../../src/alarms/store.js';
import { ConflictError, NotFoundError, ValidationError, areaId } from '../../../src/domain/index.js';
import { openDatabase, type Db } from '../../../src/storage/db.js';
import { openPostgres, type PostgresDatabase } from '../../../src/storage/postgres/connection.js';
import { migratePostgres } from '../../../src/storage/postgres/migrations.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { POSTGRES_TEST_CONFIG } from '../../helpers/postgresStore.js';
import { seededRegistry, signal } from './fixtures.js';

/** One database of one driver: `store()` opens a store on it, as a station (re)starting would. */
interface Database {
  store(): Promise<AlarmStore>;
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
    const dir = mkdtempSync(join(tmpdir(), 'gridhead-alarms-'));
    const file = join(dir, 'gridhead.db');
    const open: Db[] = [];
    return Promise.resolve({
      store: () => {
        // The previous "process" is gone: its file handle closes, as at a restart.
        for (const db of open.splice(0)) db.close();
        const db = openDatabase(file);
        open.push(db);
        return Promise.resolve(new SqliteAlarmStore(db));
      },
      close: () => {
        for (const db of open.splice(0)) db.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
};

let cluster: TestPostgres | undefined;
const pgUnavailable = postgresUnavailable();

const postgresDriver: Driver = {
  name: 'PostgreSQL',
  unavailable: pgUnavailable,
  create: async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const pools: PostgresDatabase[] = [];
    const first = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
    await migratePostgres(first);
    await first.close();
    return {
      store: async () => {
        for (const db of pools.splice(0)) await db.close();
        const db = await openPostgres({ url, config: POSTGRES_TEST_CONFIG });
        pools.push(db);
        return new PostgresAlarmStore(db);
      },
      close: async () => {
        for (const db of pools.splice(0)) await db.close();
      },
    };
  },
};

afterAll(async () => {
  await cluster?.dispose();
});

describe.each([embedded, postgresDriver])('alarm service on $name', (driver) => {
  let database: Database | undefined;
  const services: AlarmService[] = [];

  beforeAll(() => {
    if (driver.unavailable !== undefined) console.warn(`skipped: ${driver.unavailable}`);
  });
  beforeEach(async (ctx) => {
    if (driver.unavailable !== undefined) ctx.skip();
    database = await driver.create();
  }, 30_000);
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    await database?.close();
    database = undefined;
  });

  /** A service over a fresh store of this test's database; the areas come from an embedded registry. */
  type Extra = Partial<Pick<AlarmServiceOptions, 'maxOpenPerRule' | 'onProblem' | 'storeQueueMax' | 'storeRetryMinMs' | 'storeRetryMaxMs'>>;

  async function service(extra: Extra = {}, wrap: (store: AlarmStore) => AlarmStore = (store) => store) {
    if (database === undefined) throw new Error('no database');
    const registry = await seededRegistry(openDatabase(':memory:'));
    let t = 1_750_000_100_000;
    const alarms = await AlarmService.open(wrap(await database.store()), { areaSubtree: (id) => registry.areaSubtree(id), now: () => t++, ...extra });
    services.push(alarms);
    const changes: AlarmChange[] = [];
    alarms.onChange((c) => changes.push(c));
    return { alarms, changes };
  }

  /** The previous service stores what it queued and goes, as at a shutdown; a new one starts on the same database. */
  async function restart(before: AlarmService, extra: Extra = {}) {
    await before.close();
    services.splice(services.indexOf(before), 1);
    return service(extra);
  }

  describe('alarm lifecycle', () => {
    it('opens an alarm on a raise, with the signal explanation and value', async () => {
      const { alarms, changes } = await service();
      const a = alarms.onSignal(signal());
      expect(a).toMatchObject({ state: 'raised', ruleId: 'over-limit', value: 12.4, explanation: 'power 12.4 kW over the 10 kW limit for 60 s', raisedAt: 1_750_000_000_000 });
      expect(changes.map((c) => c.kind)).toEqual(['raised']);
      expect(await alarms.get(a?.id ?? '')).toEqual(a);
    });

    it('clears an alarm whose rule was removed (a clear with no value) with its last value, and keeps storing what follows', async () => {
      const { alarms } = await service({ storeRetryMinMs: 1, storeRetryMaxMs: 2 });
      const a = alarms.onSignal(signal());
      // The engine clears a removed rule's alarms with NaN: there is no measurement to report.
      alarms.onSignal(signal({ kind: 'clear', value: Number.NaN, explanation: 'rule removed' }));
      alarms.onSignal(signal({ meter: 'm2' }));
      const page = await alarms.list();
      expect(page.items.map((x) => [x.subject.id, x.state])).toEqual([['m2', 'raised'], ['m1', 'cleared']]);
      expect(await alarms.get(a?.id ?? '')).toMatchObject({ state: 'cleared', value: 12.4 });
      expect(alarms.stats()).toMatchObject({ storeWaiting: 0, storeWriteFailures: 0 });
    });

    it('updates the open alarm on a repeated raise instead of opening a second one', async () => {
      const { alarms, changes } = await service();
      const first = alarms.onSignal(signal());
      const second = alarms.onSignal(signal({ value: 14, explanation: 'power 14 kW over the 10 kW limit', severity: 'critical' }));
      expect(second?.id).toBe(first?.id);
      expect((await alarms.list()).items).toHaveLength(1);
      expect(await alarms.get(first?.id ?? '')).toMatchObject({ value: 14, severity: 'critical', explanation: 'power 14 kW over the 10 kW limit', state: 'raised' });
      expect(changes.map((c) => c.kind)).toEqual(['raised', 'updated']);
    });

    it('keeps one alarm per rule and subject: another meter or rule opens its own', async () => {
      const { alarms } = await service();
      alarms.onSignal(signal());
      alarms.onSignal(signal({ meter: 'm2' }));
      alarms.onSignal(signal({ ruleId: 'voltage' }));
      expect((await alarms.list()).items).toHaveLength(3);
    });

    it('acknowledges with the actor and an optional comment, and refuses to acknowledge a cleared alarm', async () => {
      const { alarms, changes } = await service();
      const a = alarms.onSignal(signal());
      const id = a?.id ?? '';
      const acked = await alarms.acknowledge(id, 'operator-7', 'crew dispatched');
      expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'operator-7' });
      expect(acked.comments).toMatchObject([{ by: 'operator-7', text: 'crew dispatched' }]);
      expect((await alarms.acknowledge(id, 'someone-else')).acknowledgedBy).toBe('operator-7');
      alarms.onSignal(signal({ kind: 'clear', explanation: 'power back to 8 kW', value: 8, at: 1_750_000_300_000 }));
      await expect(alarms.acknowledge(id, 'operator-7')).rejects.toThrow(ConflictError);
      expect(changes.map((c) => c.kind)).toEqual(['raised', 'acknowledged', 'cleared']);
    });

    it('clears a raised or acknowledged alarm with the clear explanation and keeps the raise explanation', async () => {
      const { alarms } = await service();
      const a = alarms.onSignal(signal());
      await alarms.acknowledge(a?.id ?? '', 'op');
      const cleared = alarms.onSignal(signal({ kind: 'clear', explanation: 'power back to 8 kW', value: 8, at: 1_750_000_300_000 }));
      expect(cleared).toMatchObject({
        state: 'cleared', clearedAt: 1_750_000_300_000, clearExplanation: 'power back to 8 kW',
        explanation: 'power 12.4 kW over the 10 kW limit for 60 s', acknowledgedBy: 'op',
      });
    });

    it('never reopens a cleared alarm: the next raise opens a new one', async () => {
      const { alarms } = await service();
      const first = alarms.onSignal(signal());
      alarms.onSignal(signal({ kind: 'clear' }));
      const second = alarms.onSignal(signal({ at: 1_750_000_500_000 }));
      expect(second?.id).not.toBe(first?.id);
      expect((await alarms.get(first?.id ?? '')).state).toBe('cleared');
      expect((await alarms.list({ state: 'raised' })).items.map((a) => a.id)).toEqual([second?.id]);
    });

    it('counts a clear with no open alarm and changes nothing', async () => {
      const { alarms, changes } = await service();
      expect(alarms.onSignal(signal({ kind: 'clear' }))).toBeUndefined();
      expect(alarms.stats().clearsWithoutOpen).toBe(1);
      expect(changes).toEqual([]);
    });

    it('keeps comments in order, on open and cleared alarms alike', async () => {
      const { alarms } = await service();
      const id = alarms.onSignal(signal())?.id ?? '';
      await alarms.comment(id, 'a', 'first');
      alarms.onSignal(signal({ kind: 'clear' }));
      await alarms.comment(id, 'b', 'second');
      expect((await alarms.get(id)).comments.map((c) => [c.by, c.text])).toEqual([['a', 'first'], ['b', 'second']]);
      await expect(alarms.comment(id, 'b', '   ')).rejects.toThrow(ValidationError);
      await expect(alarms.comment('999', 'b', 'x')).rejects.toThrow(NotFoundError);
      await expect(alarms.get('not-a-number')).rejects.toThrow(NotFoundError);
    });

    it('caps open alarms per rule, reports the overflow once, and accepts raises again after a clear', async () => {
      const problems: AlarmProblem[] = [];
      const { alarms } = await service({ maxOpenPerRule: 2, onProblem: (p) => problems.push(p) });
      alarms.onSignal(signal({ meter: 'm1' }));
      alarms.onSignal(signal({ meter: 'm2' }));
      expect(alarms.onSignal(signal({ meter: 'm3' }))).toBeUndefined();
      expect(alarms.onSignal(signal({ meter: 'm4' }))).toBeUndefined();
      expect(alarms.onSignal(signal({ ruleId: 'other', meter: 'm3' }))).toBeDefined();
      expect(alarms.stats()).toMatchObject({ overflow: 2, open: 3 });
      expect(problems.map((p) => p.code)).toEqual(['OPEN_LIMIT']);
      alarms.onSignal(signal({ meter: 'm1', kind: 'clear' }));
      expect(alarms.onSignal(signal({ meter: 'm3' }))?.state).toBe('raised');
    });

    it('reports a throwing listener without failing the signal', async () => {
      const problems: AlarmProblem[] = [];
      const { alarms } = await service({ onProblem: (p) => problems.push(p) });
      alarms.onChange(() => { throw new Error('listener broke'); });
      expect(alarms.onSignal(signal())?.state).toBe('raised');
      expect(problems).toMatchObject([{ code: 'LISTENER_FAILED', message: 'listener broke' }]);
    });
  });

  describe('alarm persistence', () => {
    it('reloads open alarms after a restart: a repeated raise updates, a clear clears, nothing is duplicated', async () => {
      const before = (await service()).alarms;
      const open = before.onSignal(signal());
      const acked = before.onSignal(signal({ meter: 'm2' }));
      await before.acknowledge(acked?.id ?? '', 'op', 'seen');
      const gone = before.onSignal(signal({ ruleId: 'voltage' }));
      before.onSignal(signal({ ruleId: 'voltage', kind: 'clear' }));

      const after = (await restart(before)).alarms;
      expect(after.stats().open).toBe(2);
      expect(after.onSignal(signal({ value: 20 }))?.id).toBe(open?.id);
      expect(await after.get(acked?.id ?? '')).toMatchObject({ state: 'acknowledged', comments: [{ by: 'op', text: 'seen' }] });
      expect(after.onSignal(signal({ meter: 'm2', kind: 'clear' }))?.state).toBe('cleared');
      const again = after.onSignal(signal({ ruleId: 'voltage' }));
      expect(again?.id).not.toBe(gone?.id);
      expect(Number(again?.id)).toBeGreaterThan(Number(gone?.id));
      expect((await after.list({ limit: 1000 })).items).toHaveLength(4);
      expect((await after.list({ limit: 1000 })).items[0]?.id).toBe(again?.id);
    });

    it('keeps raising while the store is down, refuses beyond alarms.storeQueueMax, and stores every change once it is back', async () => {
      const problems: AlarmProblem[] = [];
      let down = true;
      const fail = () => Promise.reject(new Error('database unreachable'));
      const { alarms, changes } = await service({ storeQueueMax: 3, storeRetryMinMs: 1, storeRetryMaxMs: 5, onProblem: (p) => problems.push(p) }, (real) => ({
        reserveIds: () => real.reserveIds(),
        insert: (a, now) => (down ? fail() : real.insert(a, now)),
        update: (a, now) => (down ? fail() : real.update(a, now)),
        addComment: (id, seq, c) => (down ? fail() : real.addComment(id, seq, c)),
        get: (id) => real.get(id),
        openAlarms: () => real.openAlarms(),
        list: (q) => real.list(q),
      }));
      const a = alarms.onSignal(signal());
      alarms.onSignal(signal({ value: 15 }));
      const b = alarms.onSignal(signal({ meter: 'm2' }));
      expect(alarms.onSignal(signal({ ruleId: 'voltage' }))).toBeUndefined();
      expect(alarms.stats()).toMatchObject({ open: 2, storeErrors: 1, storeWaiting: 3 });
      expect(changes.map((c) => c.kind)).toEqual(['raised', 'updated', 'raised']);
      expect(problems.some((p) => p.code === 'STORE_FAILED' && p.ruleId === 'voltage')).toBe(true);
      down = false;
      const after = (await restart(alarms)).alarms;
      expect(after.stats().open).toBe(2);
      expect(await after.get(a?.id ?? '')).toMatchObject({ value: 15, state: 'raised' });
      expect((await after.get(b?.id ?? '')).subject.id).toBe('m2');
      expect(problems.some((p) => p.code === 'STORE_FAILED' && p.message.includes('retried'))).toBe(true);
    });

    it('reserves the next block of ids when half of one is used, and refuses (counted) a burst beyond the ids it holds', async () => {
      const reservations: Promise<unknown>[] = [];
      const { alarms } = await service({}, (real) => ({
        // Blocks of 4, each from the store's own reservation, so the ids stay the driver's.
        reserveIds: () => {
          const block = real.reserveIds().then((b) => ({ first: b.first, count: 4 }));
          reservations.push(block);
          return block;
        },
        insert: (a, now) => real.insert(a, now),
        update: (a, now) => real.update(a, now),
        addComment: (id, seq, c) => real.addComment(id, seq, c),
        get: (id) => real.get(id),
        openAlarms: () => real.openAlarms(),
        list: (q) => real.list(q),
      }));
      const burst = ['m1', 'm2', 'm3', 'm4', 'm5'].map((m) => alarms.onSignal(signal({ meter: m })));
      expect(burst.map((a) => a === undefined)).toEqual([false, false, false, false, true]);
      expect(alarms.stats()).toMatchObject({ open: 4, storeErrors: 1 });
      expect(reservations).toHaveLength(2);
      await Promise.all(reservations);
      const later = alarms.onSignal(signal({ meter: 'm5' }));
      expect(Number(later?.id)).toBeGreaterThan(Math.max(...burst.map((a) => Number(a?.id ?? 0))));
      const after = (await restart(alarms)).alarms;
      expect(after.stats().open).toBe(5);
      expect(new Set((await after.list()).items.map((a) => a.id)).size).toBe(5);
    });

    it('stores the raises and clears the rules made before a shutdown, with their explanations as data', async () => {
      const before = (await service()).alarms;
      const explanationData = { ref: 0, parts: [{ id: 'power-over-limit.raise', en: ['power ', ' is over the limit ', ''], args: [{ v: 12, d: 1, u: 'kW' }, { v: 10, d: 1, u: 'kW' }] }] };
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push(before.onSignal(signal({ meter: `m${i}`, explanationData }))?.id ?? '');
      for (let i = 0; i < 50; i += 2) before.onSignal(signal({ meter: `m${i}`, kind: 'clear' }));
      const after = (await restart(before)).alarms;
      expect(after.stats().open).toBe(25);
      expect(new Set(ids).size).toBe(50);
      expect(await after.get(ids[1] ?? '')).toMatchObject({ state: 'raised', explanationData });
      expect((await after.get(ids[0] ?? '')).state).toBe('cleared');
    });
  });

  describe('alarm list', () => {
    async function populated() {
      const s = await service();
      s.alarms.onSignal(signal({ meter: 'm1', at: 1_000_000_000_000 }));
      s.alarms.onSignal(signal({ meter: 'm2', at: 1_000_000_100_000, severity: 'critical' }));
      s.alarms.onSignal(signal({ ruleId: 'area-loss', subject: { kind: 'area', id: areaId('sub') }, areaId: areaId('sub'), at: 1_000_000_200_000 }));
      s.alarms.onSignal(signal({ ruleId: 'comm', subject: { kind: 'meter', id: 'm9' as never }, areaId: null, at: 1_000_000_300_000, severity: 'warning' }));
      return s.alarms;
    }

    it('filters by area including descendant areas', async () => {
      const alarms = await populated();
      const subjects = async (area: string) => (await alarms.list({ areaId: area })).items.map((a) => a.subject.id).sort();
      expect(await subjects('region')).toEqual(['m1', 'm2', 'sub']);
      expect(await subjects('sub')).toEqual(['m1', 'sub']);
      expect(await subjects('tx1')).toEqual(['m1']);
      await expect(alarms.list({ areaId: 'nowhere' })).rejects.toThrow(ValidationError);
    });

    it('pages an area subtree newest first across its areas with a cursor', async () => {
      const alarms = await populated();
      const first = await alarms.list({ areaId: 'region', limit: 2 });
      expect(first.items.map((a) => a.subject.id)).toEqual(['sub', 'm2']);
      const second = await alarms.list({ areaId: 'region', limit: 2, cursor: first.next ?? '' });
      expect(second.items.map((a) => a.subject.id)).toEqual(['m1']);
      expect(second.next).toBeNull();
    });

    it('filters by severity, meter, rule, state and raise time', async () => {
      const alarms = await populated();
      expect((await alarms.list({ severity: 'critical' })).items.map((a) => a.subject.id)).toEqual(['m2']);
      expect((await alarms.list({ meterId: 'm1' })).items.map((a) => a.ruleId)).toEqual(['over-limit']);
      expect((await alarms.list({ ruleId: 'comm' })).items.map((a) => a.subject.id)).toEqual(['m9']);
      expect((await alarms.list({ state: 'cleared' })).items).toEqual([]);
      expect((await alarms.list({ from: 1_000_000_100_000, to: 1_000_000_300_000 })).items.map((a) => a.subject.id)).toEqual(['sub', 'm2']);
      await expect(alarms.list({ from: 5, to: 5 })).rejects.toThrow(ValidationError);
    });

    it('pages newest first with a cursor until the last page', async () => {
      const alarms = await populated();
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 5; i++) {
        const page = await alarms.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.items.map((a) => a.subject.id));
        if (page.next === null) break;
        cursor = page.next;
      }
      expect(seen).toEqual(['m9', 'sub', 'm2', 'm1']);
      await expect(alarms.list({ cursor: 'abc' })).rejects.toThrow(ValidationError);
    });
  });
});
