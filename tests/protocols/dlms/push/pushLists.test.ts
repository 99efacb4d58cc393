import { describe, expect, it } from 'vitest';
import { PushListLearner, type PushListReadOutcome } from '../../../../protocols/dlms/push/pushLists.js';
import { INTERVAL_PUSH_LIST, EVENT_PUSH_LIST, type PushObjectList } from '../../../../protocols/dlms/push/pushObjects.js';
import { openDatabase } from '../../../../src/storage/db.js';
import { SqlitePushListStore } from '../../../../src/storage/dlmsPushLists.js';

/** A meter read the test answers by hand: each read waits until `answer` settles it. */
function meterReads() {
  const reads: { terminalId: string; address: string; settle: (r: { lists?: readonly PushObjectList[]; error?: Error }) => void }[] = [];
  const read = (terminalId: string, address: string) => new Promise<readonly PushObjectList[]>((resolve, reject) => {
    reads.push({ terminalId, address, settle: (r) => { if (r.error !== undefined) reject(r.error); else resolve(r.lists ?? []); } });
  });
  return { reads, read };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('push object list learner', () => {
  it('reads a meter once for all pushes waiting on it, and hands each the lists read', async () => {
    const db = openDatabase(':memory:');
    const m = meterReads();
    const learner = new PushListLearner({ store: new SqlitePushListStore(db), read: m.read });
    const got: PushListReadOutcome[] = [];
    for (let i = 0; i < 3; i++) expect(learner.wait('t1', '1', async (o) => { got.push(o); await Promise.resolve(); })).toBeUndefined();
    await tick();
    expect(m.reads).toHaveLength(1);
    expect(learner.waiting).toBe(3);
    m.reads[0]?.settle({ lists: [INTERVAL_PUSH_LIST, EVENT_PUSH_LIST] });
    await learner.idle();
    expect(got.map((o) => o.ok && o.lists.length)).toEqual([2, 2, 2]);
    expect(learner.waiting).toBe(0);
    expect(await learner.lists('t1', '1')).toEqual([INTERVAL_PUSH_LIST, EVENT_PUSH_LIST]);
    db.close();
  });

  it('refuses pushes beyond the per-meter and total bounds, and a new read of a meter read recently', async () => {
    const db = openDatabase(':memory:');
    const m = meterReads();
    let now = 0;
    const learner = new PushListLearner({ store: new SqlitePushListStore(db), read: m.read, maxWaiting: 3, maxWaitingPerMeter: 2, readRetryMs: 1_000, now: () => now });
    const then = () => Promise.resolve();
    expect([learner.wait('t1', '1', then), learner.wait('t1', '1', then), learner.wait('t1', '1', then)]).toEqual([undefined, undefined, 'full']);
    expect([learner.wait('t2', '1', then), learner.wait('t3', '1', then)]).toEqual([undefined, 'full']);
    expect(learner.counters.refused).toBe(2);
    await tick();
    for (const r of m.reads) r.settle({ error: new Error('no answer') });
    await learner.idle();
    expect(learner.counters).toMatchObject({ reads: 2, readFailures: 2 });
    expect(learner.wait('t1', '1', then)).toBe('read-recently');
    now = 1_000;
    expect(learner.wait('t1', '1', then)).toBeUndefined();
    await tick();
    m.reads[2]?.settle({ lists: [] });
    await learner.close();
    expect(learner.wait('t1', '1', then)).toBe('stopping');
    db.close();
  });
});
