/**
 * DLMS push dead letters, one suite run against every driver (embedded SQLite and PostgreSQL,
 * see tests/helpers/storeDrivers.ts): the newest maxRows kept with their bytes, kept across a
 * restart, and a store that cannot take them never throws into the receiver.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { PushDeadLetter } from '../../../protocols/dlms/push/receiver.js';
import { PushDeadLetters, type PushDeadLettersOptions } from '../../../src/storage/dlmsPushDeadLetters.js';
import { STORE_DRIVERS, connectEachTest, disconnect, disposeStoreDrivers, pushDeadLetterStoreOf } from '../../helpers/storeDrivers.js';

afterAll(async () => {
  await disposeStoreDrivers();
});

function letter(i: number, o: Partial<PushDeadLetter> = {}): PushDeadLetter {
  return { origin: 'tcp', from: '10.0.0.9:4711', sender: `m${i}`, code: 'decode', reason: 'x'.repeat(2_000), receivedAt: i, apdu: Uint8Array.from([0x0f, i]), ...o };
}

describe.each(STORE_DRIVERS)('DLMS push dead letters on $name', (driver) => {
  const db = connectEachTest(driver);
  const open: PushDeadLetters[] = [];
  const letters = (o: Partial<PushDeadLettersOptions> = {}): PushDeadLetters => {
    const l = new PushDeadLetters(pushDeadLetterStoreOf(db().connection), { maxRows: 3, maxQueued: 100, retryMinMs: 5, retryMaxMs: 5, ...o });
    open.push(l);
    return l;
  };

  // Before the helper's dispose: its afterEach was registered first, so it runs last.
  afterEach(async () => {
    for (const l of open.splice(0)) await l.flush(0).catch(() => undefined);
  });

  it('keeps the newest maxRows with their bytes, counts the dropped, answers newest first', async () => {
    const dead = letters();
    for (let i = 0; i < 5; i++) expect(dead.add(letter(i, i % 2 === 0 ? { terminalId: 't1' } : {}))).toBe(true);
    const all = await dead.list({ limit: 10 });
    expect(dead.counters).toEqual({ stored: 5, dropped: 2, failed: 0 });
    expect(all.map((d) => d.sender)).toEqual(['m4', 'm3', 'm2']);
    expect([...(all[0]?.apdu ?? [])]).toEqual([0x0f, 4]);
    expect(all[0]).toMatchObject({ origin: 'tcp', from: '10.0.0.9:4711', terminalId: 't1', receivedAt: 4 });
    expect(all[0]?.reason.length).toBe(500);
    expect((await dead.list({ terminalId: 't1', limit: 10 })).map((d) => d.sender)).toEqual(['m4', 'm2']);
  });

  it('holds the row cap over many batches, and keeps the letters across a restart', async () => {
    const dead = letters({ maxRows: 50, maxQueued: 1_000 });
    for (let i = 0; i < 240; i++) dead.add(letter(i));
    await dead.flush();
    expect(dead.counters).toEqual({ stored: 240, dropped: 190, failed: 0 });
    await db().reconnect();
    const kept = await letters({ maxRows: 50 }).list({ limit: 1000 });
    expect(kept).toHaveLength(50);
    expect(kept[0]?.sender).toBe('m239');
    expect(kept.at(-1)?.sender).toBe('m190');
  });

  it('never throws into the receiver when the store cannot take a letter: queued up to maxQueued, then counted', async () => {
    const dead = letters({ maxQueued: 1 });
    await disconnect(db().connection);
    // The store is gone: the first letter waits (retried), the next finds the queue full.
    expect(dead.add(letter(1))).toBe(true);
    expect(dead.add(letter(2))).toBe(false);
    expect(dead.counters.failed).toBe(1);
    // Shutdown gives up what the store never took: counted, not thrown at the receiver.
    await expect(dead.flush(50)).rejects.toMatchObject({ code: 'WRITES_ABANDONED', count: 1 });
    expect(dead.counters).toEqual({ stored: 0, dropped: 0, failed: 2 });
  });
});
