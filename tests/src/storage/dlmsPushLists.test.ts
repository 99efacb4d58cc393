import { describe, expect, it } from 'vitest';
import { INTERVAL_PUSH_LIST, EVENT_PUSH_LIST } from '../../../protocols/dlms/push/pushObjects.js';
import { openDatabase } from '../../../src/storage/db.js';
import { SqlitePushListStore } from '../../../src/storage/dlmsPushLists.js';

describe('push object list store', () => {
  it('keeps learnt lists in the embedded store, for the newest maxMeters meters', () => {
    const db = openDatabase(':memory:');
    let now = 1;
    const store = new SqlitePushListStore(db, { maxMeters: 2, now: () => now++ });
    store.set('a/1', [INTERVAL_PUSH_LIST]);
    store.set('b/1', [EVENT_PUSH_LIST]);
    store.set('c/1', [INTERVAL_PUSH_LIST, EVENT_PUSH_LIST]);
    expect(store.evicted).toBe(1);
    // A new store on the same database (a restart) sees what the first kept.
    const reopened = new SqlitePushListStore(db);
    expect(reopened.get('a/1')).toBeUndefined();
    expect(reopened.get('b/1')).toEqual([EVENT_PUSH_LIST]);
    expect(reopened.get('c/1')).toEqual([INTERVAL_PUSH_LIST, EVENT_PUSH_LIST]);
    db.prepare("UPDATE dlms_push_lists SET lists = '{not json' WHERE meter_key = 'b/1'").run();
    expect(new SqlitePushListStore(db).get('b/1')).toBeUndefined();
    db.close();
  });
});
