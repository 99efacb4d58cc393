/**
 * The scheduler polls only the terminals placed on this node (src/cluster/placement.ts) and
 * follows the placement as it changes: a terminal placed elsewhere gets no further request
 * (the one on the wire finishes within the handover time or is cut), one placed here joins
 * the next cycles once the handover time has passed, and a stored profile goes on from the
 * shared cursor where the previous node left it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CollectPlacement } from '../../../src/collect/scheduler.js';
import { MemoryProfileCursors } from '../../../src/collect/profileCursors.js';
import { closeAll, harness, modbusTerminal, profile, START, type Harness } from './harness.js';

afterEach(closeAll);

/** First 60 s boundary after START (10:08:00 UTC). */
const FIRST = START + 30_000;

class Placed implements CollectPlacement {
  readonly here = new Set<string>();
  constructor(...ids: string[]) { for (const id of ids) this.here.add(id); }
  owns(terminalId: string): boolean { return this.here.has(terminalId); }
  move(h: Harness, away: readonly string[], to: readonly string[]): void {
    for (const id of away) this.here.delete(id);
    for (const id of to) this.here.add(id);
    h.scheduler.placementChanged();
  }
}

describe('CollectionScheduler following the placement', () => {
  it('polls only the terminals placed on this node and says how many of how many', async () => {
    const placement = new Placed('T1', 'T3');
    const h = harness({ placement });
    for (const id of ['T1', 'T2', 'T3', 'T4']) h.topology.put(modbusTerminal(id));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 2 * 60_000 + 100);
    expect(h.adapter.calls.map((c) => c.terminalId).sort()).toEqual(['T1', 'T1', 'T1', 'T3', 'T3', 'T3']);
    expect(h.scheduler.coverage()).toEqual({ polled: 2, placedElsewhere: 2 });
    await expect(h.scheduler.pollNow('T2')).rejects.toMatchObject({ code: 'COLLECT_PLACED_ELSEWHERE' });
  });

  it('stops polling a terminal placed elsewhere and takes one placed here from its next cycle after the handover time', async () => {
    const placement = new Placed('T1');
    const h = harness({ placement, handoverMs: 1_000 });
    h.topology.put(modbusTerminal('T1'));
    h.topology.put(modbusTerminal('T2'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    placement.move(h, ['T1'], ['T2']);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(h.adapter.callsOf('T1').map((c) => c.at - FIRST)).toEqual([0]);
    expect(h.adapter.callsOf('T2').map((c) => c.at - FIRST)).toEqual([60_000, 120_000]);
    expect(h.scheduler.coverage()).toEqual({ polled: 1, placedElsewhere: 1 });
    // The terminal given up has its session closed.
    expect(h.adapter.closes).toEqual(['T1']);
  });

  it('leaves a cycle due within the handover time to the node the terminal came from', async () => {
    const placement = new Placed();
    const h = harness({ placement, handoverMs: 1_000 });
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    // Placed here 0.5 s before the next cycle: that cycle is still the previous node's.
    await vi.advanceTimersByTimeAsync(30_000 + 59_500);
    placement.move(h, [], ['T1']);
    await vi.advanceTimersByTimeAsync(60_000 + 600);
    expect(h.adapter.callsOf('T1').map((c) => c.at - FIRST)).toEqual([120_000]);
  });

  it('lets the request on the wire finish when its terminal moves, but starts no retry', async () => {
    const placement = new Placed('T1');
    const h = harness({ placement, handoverMs: 1_000, profiles: { fast: profile({ retries: 3, retryBackoffMs: 100 }) } });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 400;
    h.adapter.script('T1').itemError = (item) => (item.quantity === 'voltage.l1' ? new Error('illegal data address') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    placement.move(h, ['T1'], []);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.adapter.callsOf('T1')).toHaveLength(1);
    expect(h.adapter.callsOf('T1')[0]?.endedAt).toBe(FIRST + 400);
    // What it read is delivered, not thrown away.
    expect(h.batches).toEqual([{ terminalId: 'T1', count: 1, at: FIRST + 400 }]);
    // Not counted against the terminal on this node, which no longer polls it.
    expect(h.changes.filter((c) => !c.online)).toEqual([]);
  });

  it('cuts a request still on the wire when the handover time is up, before its own timeout', async () => {
    const placement = new Placed('T1');
    const h = harness({ placement, handoverMs: 1_000, profiles: { fast: profile({ timeoutMs: 30_000 }) } });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 10_000;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 2_000);
    placement.move(h, ['T1'], []);
    await vi.advanceTimersByTimeAsync(999);
    expect(h.adapter.closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.adapter.closes).toEqual(['T1']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.batches).toEqual([]);
  });

  it('goes on with a moved terminal\'s stored profile from the cursor the other node left, reading nothing twice', async () => {
    const cursors = new MemoryProfileCursors();
    const lp = profile({ quantities: [], profile: 'load', intervalSeconds: 900, align: false, backfillHours: 1 });
    const onA = new Placed('T1');
    const onB = new Placed();
    const a = harness({ placement: onA, cursors, profiles: { lp } });
    const b = harness({ placement: onB, cursors, profiles: { lp } });
    for (const h of [a, b]) h.topology.put(modbusTerminal('T1', { profiles: ['lp'] }));
    a.scheduler.start();
    b.scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * 900_000 + 1_000);
    onA.move(a, ['T1'], []);
    onB.move(b, [], ['T1']);
    await vi.advanceTimersByTimeAsync(2 * 900_000);
    const newestAtA = Math.max(...a.adapter.profileCalls.map((c) => Math.floor(c.to / 900_000) * 900_000));
    expect(b.adapter.profileCalls[0]?.from).toBe(newestAtA + 1);
    const entries = [...a.adapter.profileCalls, ...b.adapter.profileCalls].flatMap((c) => {
      const out: number[] = [];
      for (let ts = Math.ceil(c.from / 900_000) * 900_000; ts <= c.to; ts += 900_000) out.push(ts);
      return out;
    });
    // Every quarter hour from the backfill start to now, each read once.
    expect(new Set(entries).size).toBe(entries.length);
    const first = Math.ceil((START - 3_600_000) / 900_000) * 900_000;
    expect(entries.sort((x, y) => x - y)).toEqual(Array.from({ length: entries.length }, (_, i) => first + i * 900_000));
    expect(entries.at(-1)).toBe(Math.floor(Date.now() / 900_000) * 900_000);
  });

  it('polls every terminal without a placement, as one node does', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    expect(h.adapter.callsOf('T1')).toHaveLength(1);
    expect(h.scheduler.coverage()).toEqual({ polled: 1, placedElsewhere: 0 });
  });
});
