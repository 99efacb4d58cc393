import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connectionLost, harness, modbusTerminal, profile, START } from './harness.js';

afterEach(closeAll);

const loadProfile = profile({ quantities: [], profile: 'load', intervalSeconds: 900, align: false, backfillHours: 2 });

describe('stored-profile collection', () => {
  it('backfills on the first read, then asks only for entries after the newest one collected', async () => {
    const h = harness({ profiles: { lp: loadProfile } });
    h.topology.put(modbusTerminal('T1', { profiles: ['lp'] }));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * 900_000 + 1_000);
    const calls = h.adapter.profileCalls;
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls[0]).toMatchObject({ terminalId: 'T1', profile: 'load', address: '1', from: START - 2 * 3_600_000 });
    // 10:07:30 start: the newest entry then was 10:00; the next read starts right after it.
    const firstNewest = Math.floor(START / 900_000) * 900_000;
    expect(calls[1]?.from).toBe(firstNewest + 1);
    expect(calls[2]?.from).toBe(firstNewest + 900_000 + 1);
    const delivered = h.batches.filter((b) => b.terminalId === 'T1').reduce((n, b) => n + b.count, 0);
    expect(delivered).toBe(8 + 1 + 1); // 2 h of quarter hours, then one new entry per cycle
  });

  it('keeps the cursor where it was when a read fails, so the next cycle catches up without a gap', async () => {
    const h = harness({ profiles: { lp: loadProfile } });
    h.topology.put(modbusTerminal('T1', { profiles: ['lp'] }));
    h.adapter.script('T1').profileError = (n) => (n === 2 || n === 3 ? connectionLost('T1') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(3 * 900_000 + 1_000);
    const calls = h.adapter.profileCalls;
    const firstNewest = Math.floor(START / 900_000) * 900_000;
    expect(calls.map((c) => c.from).slice(1, 4)).toEqual([firstNewest + 1, firstNewest + 1, firstNewest + 1]);
    expect(h.scheduler.counters().itemsFailed).toBe(2);
  });
});
