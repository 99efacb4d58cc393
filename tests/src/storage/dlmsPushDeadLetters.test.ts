import { describe, expect, it } from 'vitest';
import { SqlitePushDeadLetters } from '../../../src/storage/dlmsPushDeadLetters.js';
import { openDatabase } from '../../../src/storage/db.js';

describe('DLMS push dead letters', () => {
  it('keeps the newest maxRows with their bytes, counts the dropped, answers newest first', () => {
    const db = openDatabase(':memory:');
    const letters = new SqlitePushDeadLetters(db, 3);
    for (let i = 0; i < 5; i++) {
      letters.add({ origin: 'tcp', from: '10.0.0.9:4711', sender: `m${i}`, code: 'decode', reason: 'x'.repeat(2_000), receivedAt: i, apdu: Uint8Array.from([0x0f, i]), ...(i % 2 === 0 ? { terminalId: 't1' } : {}) });
    }
    expect(letters.counters).toEqual({ stored: 5, dropped: 2, failed: 0 });
    const all = letters.list({ limit: 10 });
    expect(all.map((d) => d.sender)).toEqual(['m4', 'm3', 'm2']);
    expect([...(all[0]?.apdu ?? [])]).toEqual([0x0f, 4]);
    expect(all[0]).toMatchObject({ origin: 'tcp', from: '10.0.0.9:4711', terminalId: 't1', receivedAt: 4 });
    expect(all[0]?.reason.length).toBe(500);
    expect(letters.list({ terminalId: 't1', limit: 10 }).map((d) => d.sender)).toEqual(['m4', 'm2']);
    db.close();
    // A closed store refuses: counted, never thrown into the receiver.
    expect(letters.add({ origin: 'tcp', from: '-', sender: '-', code: 'decode', reason: '', receivedAt: 0, apdu: new Uint8Array(1) })).toBe(false);
    expect(letters.counters.failed).toBe(1);
  });
});
