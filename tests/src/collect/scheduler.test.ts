import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../../protocols/adapter.js';
import { closeAll, connectionLost, harness, modbusTerminal, profile, START } from './harness.js';

afterEach(closeAll);

/** First 60 s boundary after START (10:08:00 UTC). */
const FIRST = START + 30_000;

describe('CollectionScheduler scheduling', () => {
  it('starts an aligned 900 s profile on the quarter hour and adds the terminal jitter', async () => {
    const h = harness({ profiles: { q: profile({ intervalSeconds: 900, jitterMs: 10_000 }) }, random: () => 0.5 });
    h.topology.put(modbusTerminal('T1', { profiles: ['q'] }));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * 900_000);
    const quarter = Date.UTC(2025, 0, 15, 10, 15, 0);
    expect(h.adapter.callsOf('T1').map((c) => c.at)).toEqual([quarter + 5_000, quarter + 905_000]);
  });

  it('keeps every terminal within [boundary, boundary + jitterMs) and on the same offset each cycle', async () => {
    const h = harness({ profiles: { fast: profile({ jitterMs: 20_000 }) } });
    for (let i = 0; i < 50; i++) h.topology.put(modbusTerminal(`T${i}`));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 3 * 60_000 - 1);
    const offsets = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const at = h.adapter.callsOf(`T${i}`).map((c) => c.at);
      expect(at).toHaveLength(3);
      const offset = at[0]! - FIRST;
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(20_000);
      expect(at).toEqual([FIRST + offset, FIRST + 60_000 + offset, FIRST + 120_000 + offset]);
      offsets.add(offset);
    }
    expect(offsets.size).toBeGreaterThan(1);
  });

  it('reads every quantity of the profile for every meter of the terminal in one request', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'), 2);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    expect(h.adapter.callsOf('T1')[0]!.items).toEqual([
      { address: '1', quantity: 'power.active' }, { address: '1', quantity: 'voltage.l1' },
      { address: '2', quantity: 'power.active' }, { address: '2', quantity: 'voltage.l1' },
    ]);
    expect(h.batches).toEqual([{ terminalId: 'T1', count: 4, at: FIRST + 10 }]);
  });
});

describe('CollectionScheduler limits', () => {
  it('never has more requests on the wire than the concurrency limit', async () => {
    const h = harness({ concurrency: 3 });
    for (let i = 0; i < 20; i++) {
      h.topology.put(modbusTerminal(`T${i}`));
      h.adapter.script(`T${i}`).latencyMs = 500;
    }
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 59_000);
    expect(h.adapter.calls).toHaveLength(20);
    expect(h.adapter.maxInFlight).toBe(3);
  });

  it('queues an on-demand read behind the cycle in flight and never overlaps two requests on a terminal', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 1_000;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 10);
    const first = h.scheduler.pollNow('T1', { quantities: ['energy.active.import'] });
    const second = h.scheduler.pollNow('T1');
    await vi.advanceTimersByTimeAsync(5_000);
    const [a, b] = await Promise.all([first, second]);
    expect(a.readings.map((r) => r.quantity)).toEqual(['energy.active.import']);
    expect(b.readings).toHaveLength(2);
    expect(h.adapter.maxInFlightPerTerminal).toBe(1);
    expect(h.adapter.callsOf('T1').map((c) => c.at)).toEqual([FIRST, FIRST + 1_000, FIRST + 2_000]);
  });

  it('runs background slices after the cycle and the on-demand read queued with them, and bounds how many wait', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 1_000;
    h.scheduler.start();
    const order: string[] = [];
    // The cycle at FIRST is on the wire; the slices queue behind it.
    await vi.advanceTimersByTimeAsync(30_000 + 10);
    const slice = (n: number) => h.scheduler.sessionInBackground('T1', `slice ${n}`, () => {
      order.push(`slice ${n}`);
      return Promise.resolve(n);
    });
    const first = slice(1);
    const second = slice(2);
    await expect(slice(3)).rejects.toMatchObject({ code: 'COLLECT_BUSY' });
    await vi.advanceTimersByTimeAsync(20);
    const read = h.scheduler.pollNow('T1').then(() => order.push('read'));
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all([first, second, read]);
    // A slice does not preempt the request in flight; the read queued after the slices goes first.
    expect(h.adapter.callsOf('T1').map((c) => c.at)).toEqual([FIRST, FIRST + 1_000]);
    expect(order).toEqual(['read', 'slice 1', 'slice 2']);
  });

  it('skips a cycle still running when the next is due and counts it as an overrun', async () => {
    const h = harness({ profiles: { fast: profile({ timeoutMs: 120_000 }) } });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 90_000;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 200_000);
    // Cycles due at +0, +60, +120, +180 s: +60 and +180 find the previous one still reading.
    expect(h.adapter.callsOf('T1').map((c) => c.at - FIRST)).toEqual([0, 120_000]);
    expect(h.scheduler.counters().overruns).toBe(2);
  });

  it('slows polling down to the pace of a slow sink', async () => {
    const h = harness({
      concurrency: 1,
      sink: () => new Promise<void>((resolve) => setTimeout(resolve, 5_000)),
    });
    h.topology.put(modbusTerminal('T1'));
    h.topology.put(modbusTerminal('T2'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 20_000);
    const [t1, t2] = [h.adapter.callsOf('T1')[0]!, h.adapter.callsOf('T2')[0]!];
    const [early, late] = t1.at < t2.at ? [t1, t2] : [t2, t1];
    expect(late.at - early.endedAt!).toBe(5_000);
  });

  it('counts and reports a failing sink and keeps polling', async () => {
    const h = harness({ sink: () => Promise.reject(new Error('pipeline closed')) });
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 2 * 60_000 + 100);
    expect(h.adapter.callsOf('T1')).toHaveLength(3);
    expect(h.scheduler.counters().sinkErrors).toBe(3);
    expect(h.faults.map((f) => (f as { code?: string }).code)).toEqual(['COLLECT_SINK', 'COLLECT_SINK', 'COLLECT_SINK']);
  });
});

describe('CollectionScheduler retries and timeouts', () => {
  it('retries only the failed items, with doubling backoff, at most `retries` times', async () => {
    const h = harness({ profiles: { fast: profile({ retries: 2, retryBackoffMs: 1_000 }) } });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').itemError = (item) => (item.quantity === 'voltage.l1' ? new Error('illegal data address') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 30_000);
    const calls = h.adapter.callsOf('T1');
    expect(calls.map((c) => c.items.map((i) => i.quantity))).toEqual([['power.active', 'voltage.l1'], ['voltage.l1'], ['voltage.l1']]);
    expect(calls.map((c) => c.at - FIRST)).toEqual([0, 10 + 1_000, 10 + 1_000 + 10 + 2_000]);
    expect(h.scheduler.terminalState('T1')).toMatchObject({ online: true, lastError: { message: 'illegal data address' } });
  });

  it('stops retrying as soon as the failed item succeeds', async () => {
    const h = harness({ profiles: { fast: profile({ retries: 5, retryBackoffMs: 100 }) } });
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').itemError = (item, n) => (n === 1 && item.quantity === 'power.active' ? new Error('busy') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 30_000);
    expect(h.adapter.callsOf('T1').map((c) => c.items.length)).toEqual([2, 1]);
    expect(h.batches.map((b) => b.count)).toEqual([1, 1]);
  });

  it('times out a hanging terminal without delaying the others', async () => {
    const h = harness({ concurrency: 1, profiles: { fast: profile({ timeoutMs: 2_000 }) } });
    h.topology.put(modbusTerminal('A-hangs'));
    h.topology.put(modbusTerminal('B-ok'));
    h.adapter.script('A-hangs').hang = true;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 60_000 + 3_000);
    // Even holding the only permit, the hang costs B at most the timeout, every cycle.
    expect(h.adapter.callsOf('B-ok').map((c) => c.at - FIRST)).toEqual([2_000, 62_000]);
    expect(h.scheduler.terminalState('A-hangs')).toMatchObject({ consecutiveFailures: 2, lastError: { code: 'TIMEOUT' } });
    // The hung session is closed after each timeout and reopened for the next cycle.
    expect(h.adapter.closes.filter((id) => id === 'A-hangs')).toHaveLength(2);
    expect(h.adapter.opens.filter((o) => o.terminalId === 'A-hangs')).toHaveLength(2);
  });

  it('polls the others on time while a terminal hangs, given a free permit', async () => {
    const h = harness({ concurrency: 2, profiles: { fast: profile({ timeoutMs: 2_000 }) } });
    h.topology.put(modbusTerminal('A-hangs'));
    h.topology.put(modbusTerminal('B-ok'));
    h.topology.put(modbusTerminal('C-ok'));
    h.adapter.script('A-hangs').hang = true;
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 3_000);
    expect(h.adapter.callsOf('B-ok').map((c) => c.at - FIRST)).toEqual([0]);
    expect(h.adapter.callsOf('C-ok').map((c) => c.at - FIRST)).toEqual([10]);
  });
});

describe('CollectionScheduler sessions', () => {
  it('keeps one session across cycles and reopens it after a session error', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 2 * 60_000 + 100);
    expect(h.adapter.opens).toHaveLength(1);
    expect(h.adapter.closes).toHaveLength(0);

    h.adapter.script('T1').readError = () => connectionLost('T1');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.adapter.closes).toEqual(['T1']);
    expect(h.scheduler.terminalState('T1')).toMatchObject({ online: true, consecutiveFailures: 1, lastError: { code: 'CONNECTION' } });

    h.adapter.script('T1').readError = undefined;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.adapter.opens).toHaveLength(2);
    expect(h.scheduler.terminalState('T1')).toMatchObject({ consecutiveFailures: 0 });
  });

  it('drops the session when every item fails with a connection or timeout error', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').itemError = () => new TimeoutError('T1', 1_000, 'read');
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 60_000 + 100);
    expect(h.adapter.opens).toHaveLength(2);
    expect(h.adapter.closes).toEqual(['T1', 'T1']);
  });

  it('keeps the session when only some items fail', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').itemError = (item) => (item.quantity === 'voltage.l1' ? new TimeoutError('T1', 1_000, 'read') : undefined);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 60_000 + 100);
    expect(h.adapter.opens).toHaveLength(1);
    expect(h.adapter.closes).toHaveLength(0);
  });
});

describe('CollectionScheduler topology changes', () => {
  it('closes the session of a removed terminal and stops polling it', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.topology.put(modbusTerminal('T2'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    h.topology.remove('T1');
    await h.scheduler.refresh('T1');
    expect(h.adapter.closes).toEqual(['T1']);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(h.adapter.callsOf('T1')).toHaveLength(1);
    expect(h.adapter.callsOf('T2')).toHaveLength(3);
    expect(h.scheduler.terminalState('T1')).toBeUndefined();
  });

  it('polls a terminal added at runtime from the next cycle', async () => {
    const h = harness();
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    h.topology.put(modbusTerminal('T9'));
    await h.scheduler.refresh();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.adapter.callsOf('T9').map((c) => c.at)).toEqual([FIRST + 60_000]);
  });

  it('retires a disabled terminal and reconnects one whose endpoint changed', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.topology.put(modbusTerminal('T2', { port: 502 }));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    h.topology.put(modbusTerminal('T1', { enabled: false }));
    h.topology.put(modbusTerminal('T2', { port: 1502 }));
    await h.scheduler.refresh();
    expect(h.adapter.closes.sort()).toEqual(['T1', 'T2']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.adapter.callsOf('T1')).toHaveLength(1);
    expect(h.adapter.opens.filter((o) => o.terminalId === 'T2').map((o) => (o.endpoint as { port: number }).port)).toEqual([502, 1502]);
  });

  it('reports a terminal that names an unknown profile once', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1', { profiles: ['fast', 'nope'] }));
    h.scheduler.start();
    await h.scheduler.refresh();
    await h.scheduler.refresh();
    expect(h.faults.map((f) => f.message)).toEqual(['terminal "T1" names unknown collection profile "nope"']);
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    expect(h.adapter.callsOf('T1')).toHaveLength(1);
  });
});

describe('CollectionScheduler on-demand reads', () => {
  it('refuses unknown and pushing terminals, and more queued reads than the bound', async () => {
    const h = harness({ maxQueuedOnDemand: 1 });
    h.topology.put(modbusTerminal('T1'));
    h.topology.put({ ...modbusTerminal('M1'), protocol: 'mqtt', mqtt: {} });
    h.adapter.script('T1').latencyMs = 1_000;
    h.scheduler.start();
    await expect(h.scheduler.pollNow('nope')).rejects.toMatchObject({ code: 'COLLECT_UNKNOWN_TERMINAL' });
    await expect(h.scheduler.pollNow('M1')).rejects.toMatchObject({ code: 'COLLECT_NOT_POLLABLE' });
    const running = h.scheduler.pollNow('T1');
    const queued = h.scheduler.pollNow('T1');
    await expect(h.scheduler.pollNow('T1')).rejects.toMatchObject({ code: 'COLLECT_BUSY' });
    await vi.advanceTimersByTimeAsync(2_100);
    expect((await running).readings).toHaveLength(2);
    expect((await queued).readings).toHaveLength(2);
  });

  it('withdraws a queued read whose caller gives up', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.adapter.script('T1').latencyMs = 1_000;
    h.scheduler.start();
    const running = h.scheduler.pollNow('T1');
    const ac = new AbortController();
    const queued = h.scheduler.pollNow('T1', { signal: ac.signal });
    ac.abort(new Error('client went away'));
    await expect(queued).rejects.toThrow('client went away');
    await vi.advanceTimersByTimeAsync(5_000);
    await running;
    expect(h.adapter.calls).toHaveLength(1);
  });

  it('reads only the asked meters and returns per-item failures', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'), 3);
    h.adapter.script('T1').itemError = (item) => (item.quantity === 'voltage.l1' ? new Error('illegal data address') : undefined);
    h.scheduler.start();
    const result = h.scheduler.pollNow('T1', { addresses: ['2'] });
    await vi.advanceTimersByTimeAsync(100);
    expect(await result).toMatchObject({
      readings: [{ address: '2', quantity: 'power.active' }],
      failures: [{ item: { address: '2', quantity: 'voltage.l1' }, code: 'Error', message: 'illegal data address' }],
    });
  });
});

describe('CollectionScheduler stop', () => {
  it('ends in-flight and queued work, closes every session and leaves no timer behind', async () => {
    const h = harness({ profiles: { fast: profile({ timeoutMs: 30_000 }) } });
    for (const id of ['T1', 'T2', 'T3']) h.topology.put(modbusTerminal(id));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    h.adapter.script('T1').hang = true;
    const inFlight = h.scheduler.pollNow('T1');
    const queued = h.scheduler.pollNow('T1');
    await vi.advanceTimersByTimeAsync(10);
    await h.scheduler.stop();
    await expect(inFlight).rejects.toMatchObject({ code: 'COLLECT_STOPPED' });
    await expect(queued).rejects.toMatchObject({ code: 'COLLECT_STOPPED' });
    expect(h.adapter.openSessions.size).toBe(0);
    expect(h.adapter.closes.sort()).toEqual(['T1', 'T2', 'T3']);
    expect(vi.getTimerCount()).toBe(0);
    await expect(h.scheduler.pollNow('T2')).rejects.toMatchObject({ code: 'COLLECT_STOPPED' });
  });
  it('polls again after a stop and a start, as a node that steps down and later takes over', async () => {
    const h = harness();
    h.topology.put(modbusTerminal('T1'));
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 100);
    await h.scheduler.stop();
    const stoppedAt = Date.now();
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(h.adapter.callsOf('T1').map((c) => c.at)).toEqual([FIRST]);
    h.scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    const after = h.adapter.callsOf('T1').map((c) => c.at).filter((at) => at > stoppedAt);
    expect(after).toHaveLength(2);
    const onDemand = h.scheduler.pollNow('T1');
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await onDemand).readings).toHaveLength(2);
  });
});
