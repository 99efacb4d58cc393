/**
 * The push object list store, one suite run against every driver (embedded SQLite and
 * PostgreSQL, see tests/helpers/storeDrivers.ts): lists kept across a restart, the newest
 * `maxMeters` meters only, a damaged row read as none.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { INTERVAL_PUSH_LIST, EVENT_PUSH_LIST } from '../../../protocols/dlms/push/pushObjects.js';
import { STORE_DRIVERS, connectEachTest, disposeStoreDrivers, execute, pushListStoreOf } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

describe.each(STORE_DRIVERS)('push object list store on $name', (driver) => {
  const db = connectEachTest(driver);

  it('keeps learnt lists for the newest maxMeters meters, across a restart', async () => {
    let now = 1;
    const store = pushListStoreOf(db().connection, { maxMeters: 2, now: () => now++ });
    await store.set('a/1', [INTERVAL_PUSH_LIST]);
    await store.set('b/1', [EVENT_PUSH_LIST]);
    await store.set('c/1', [INTERVAL_PUSH_LIST, EVENT_PUSH_LIST]);
    expect(store.evicted).toBe(1);
    // A new store on a new connection (a restart) sees what the first kept.
    const reopened = pushListStoreOf(await db().reconnect());
    expect(await reopened.get('a/1')).toBeUndefined();
    expect(await reopened.get('b/1')).toEqual([EVENT_PUSH_LIST]);
    expect(await reopened.get('c/1')).toEqual([INTERVAL_PUSH_LIST, EVENT_PUSH_LIST]);
  });

  it('answers with lists just set before their write is done, and a relearnt meter with its new lists', async () => {
    const conn = db().connection;
    const store = pushListStoreOf(conn);
    const write = store.set('a/1', [INTERVAL_PUSH_LIST]);
    expect(await store.get('a/1')).toEqual([INTERVAL_PUSH_LIST]);
    await write;
    expect(await store.get('b/1')).toBeUndefined();
    await store.set('b/1', [EVENT_PUSH_LIST]);
    await store.set('a/1', [EVENT_PUSH_LIST]);
    expect(await pushListStoreOf(conn).get('a/1')).toEqual([EVENT_PUSH_LIST]);
    expect(await pushListStoreOf(conn).get('b/1')).toEqual([EVENT_PUSH_LIST]);
  });

  it('reads a row that holds no lists (a future version, damage) as none', async () => {
    const conn = db().connection;
    await pushListStoreOf(conn).set('b/1', [EVENT_PUSH_LIST]);
    await execute(conn, `UPDATE dlms_push_lists SET lists = '{"pushSetup":1}' WHERE meter_key = 'b/1'`);
    expect(await pushListStoreOf(conn).get('b/1')).toBeUndefined();
    if (conn.sqlite !== undefined) {
      // Only SQLite can hold text that is not JSON at all.
      await execute(conn, "UPDATE dlms_push_lists SET lists = '{not json' WHERE meter_key = 'b/1'");
      expect(await pushListStoreOf(conn).get('b/1')).toBeUndefined();
    }
  });
});
