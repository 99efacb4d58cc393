/**
 * Communication loss and device-event quiet times from deadlines: many meters, deadlines
 * moving with data, meters and rules deleted while queued, enrolment in slices, bounded
 * queues. Driven through the engine with an injected clock; `tickBudgetMs: 0` makes each
 * tick do exactly `tickMinSlice` items per rule, so the slicing is deterministic.
 */
import { describe, expect, it } from 'vitest';
import { meterId, terminalId, type DeviceEvent } from '../../../src/domain/index.js';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule, type Harness } from './fixture.js';

const fleet = (n: number) => new FakeTopology(
  [area('r1', null), area('tx1', 'r1', 400), area('tx2', 'r1', 400)],
  Array.from({ length: n }, (_, i) => meter(`m${i}`, i % 2 === 0 ? 'tx1' : 'tx2')),
);
const commLoss = (params: Record<string, unknown> = {}) =>
  rule({ id: 'comm', subject: { all: true }, detector: 'communication-loss', params: { missedIntervals: 3, ...params } });
/** Deterministic and large enough that nothing here waits for a later slice. */
const unsliced = { tickBudgetMs: 0, tickMinSlice: 10_000 };

/** Advances the clock second by second to `until`, ticking; returns raises as `meter@second`. */
function runUntil(h: Harness, until: number, each?: (second: number) => void): Map<string, number> {
  const raised = new Map<string, number>();
  while (h.clock.now < until) {
    h.clock.now += SEC;
    const s = (h.clock.now - T0) / SEC;
    each?.(s);
    h.engine.tick();
    for (const sig of h.signals.splice(0)) if (sig.kind === 'raise') raised.set(sig.subject.id, s);
  }
  return raised;
}

describe('communication loss from deadlines', () => {
  it('raises each of 2,000 meters at its own deadline, and no other', () => {
    const n = 2_000;
    const h = harness(fleet(n), [commLoss()], unsliced);
    h.engine.write(Array.from({ length: n }, (_, i) => reading(`m${i}`, 'power.active', 1, T0)));
    // Meter i reports once more at second i % 40: silent (3 × 15 s) from second i % 40 + 45.
    const raised = runUntil(h, T0 + 100 * SEC, (s) => {
      if (s < 40) h.engine.write(Array.from({ length: n / 40 }, (_, k) => reading(`m${k * 40 + s}`, 'power.active', 1, h.clock.now)));
    });
    expect(raised.size).toBe(n);
    for (let i = 0; i < n; i++) expect(raised.get(`m${i}`), `m${i}`).toBe((i % 40 === 0 ? 0 : i % 40) + 45);
    expect(h.engine.stats().timeDriven).toBeLessThanOrEqual(2 * n);
  });

  it('moves a deadline with the data, holding one entry, and raises once the data stops', () => {
    const h = harness(fleet(1), [commLoss()]);
    let maxHeld = 0;
    const raised = runUntil(h, T0 + 40 * MIN, (s) => {
      if (s % 10 === 0 && s <= 30 * 60) h.engine.write([reading('m0', 'power.active', 1, h.clock.now)]);
      maxHeld = Math.max(maxHeld, h.engine.stats().timeDriven);
    });
    expect([...raised]).toEqual([['m0', 30 * 60 + 45]]);
    expect(maxHeld).toBeLessThanOrEqual(2);
  });

  it('clears on the first tick after data returns, then watches the meter again', () => {
    const h = harness(fleet(1), [commLoss()]);
    expect([...runUntil(h, T0 + MIN)]).toEqual([['m0', 45]]);
    h.engine.write([reading('m0', 'power.active', 1, h.clock.now)]);
    expect(h.take()).toEqual([]);
    h.clock.now += SEC;
    h.engine.tick();
    expect(h.take()).toEqual(['clear:m0:comm']);
    expect([...runUntil(h, T0 + 2 * MIN)]).toEqual([['m0', 105]]);
  });

  it('expects a meter added while running only after its intervals since it was added, and says so', () => {
    const t = fleet(1);
    const h = harness(t, [commLoss()]);
    h.engine.write([reading('m0', 'power.active', 1, T0)]);
    runUntil(h, T0 + 10 * MIN, () => { h.engine.write([reading('m0', 'power.active', 1, h.clock.now)]); });
    const added = h.clock.now;
    t.meterMap.set('new', meter('new', 'tx1'));
    h.engine.topologyChanged({ kind: 'meter', id: 'new', op: 'upsert' });
    const raised = runUntil(h, added + 2 * MIN, () => { h.engine.write([reading('m0', 'power.active', 1, h.clock.now)]); });
    // Silent from its enrolment (the first tick after it was added), 3 × 15 s later; not at once.
    expect([...raised]).toEqual([['new', (added - T0) / SEC + 46]]);
  });

  it('explains the silence of a meter never heard from by when it was added or when watching started', () => {
    const t = fleet(1);
    const h = harness(t, [commLoss()]);
    const explanations: string[] = [];
    const collect = () => { for (const sig of h.signals.splice(0)) if (sig.kind === 'raise') explanations.push(sig.explanation); };
    h.engine.tick();
    h.clock.now += 30 * SEC;
    t.meterMap.set('new', meter('new', 'tx1'));
    h.engine.topologyChanged({ kind: 'meter', id: 'new', op: 'upsert' });
    while (h.clock.now < T0 + 2 * MIN) { h.clock.now += SEC; h.engine.tick(); collect(); }
    expect(explanations).toEqual([
      expect.stringMatching(/^communication loss: no data for 45 s \(no reading since monitoring started at 02:00:00Z;/),
      expect.stringMatching(/^communication loss: no data for 45 s \(no reading since it was added at 02:00:31Z;/),
    ]);
  });

  it('judges nothing for a meter deleted while its deadline is queued, and lets go of it', () => {
    const t = fleet(3);
    const h = harness(t, [commLoss()]);
    runUntil(h, T0 + 10 * SEC);
    const held = h.engine.stats().timeDriven;
    t.meterMap.delete('m1');
    h.engine.topologyChanged({ kind: 'meter', id: 'm1', op: 'delete' });
    const raised = runUntil(h, T0 + MIN);
    expect([...raised.keys()].sort()).toEqual(['m0', 'm2']);
    expect(h.engine.stats().timeDriven).toBeLessThan(held);
  });

  it('stops judging and holds nothing once its rule is deleted with deadlines queued', () => {
    const h = harness(fleet(500), [commLoss()]);
    runUntil(h, T0 + 10 * SEC);
    expect(h.engine.stats().timeDriven).toBeGreaterThanOrEqual(500);
    h.engine.remove('comm');
    expect(runUntil(h, T0 + 5 * MIN).size).toBe(0);
    expect(h.engine.stats()).toMatchObject({ timeDriven: 0, states: 0 });
  });

  it('enrols a fleet in slices across ticks, the minimum slice per tick when the budget is 0', () => {
    const h = harness(fleet(1_000), [commLoss({ expectedIntervalMs: 1_000, missedIntervals: 30 })], { tickBudgetMs: 0, tickMinSlice: 100 });
    const states: number[] = [];
    const raised = runUntil(h, T0 + 60 * SEC, () => { states.push(h.engine.stats().states); });
    // Counts read before each tick: 100 more meters enrolled per tick.
    expect(states.slice(0, 12)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1000]);
    expect(raised.size).toBe(1_000);
  });

  it('raises at most the minimum slice per tick when a whole fleet falls silent at once', () => {
    const h = harness(fleet(1_000), [commLoss()], { tickBudgetMs: 0, tickMinSlice: 100 });
    h.engine.write(Array.from({ length: 1_000 }, (_, i) => reading(`m${i}`, 'power.active', 1, T0)));
    const counts: number[] = [];
    while (h.clock.now < T0 + 60 * SEC) {
      h.clock.now += SEC;
      h.engine.tick();
      counts.push(h.take().length);
    }
    expect(counts.slice(44, 55)).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000);
  });

  it('with continueAfterMs, finishes left-over slices between ticks, and stops on close', async () => {
    const turns = async (n: number, done: () => boolean) => {
      for (let i = 0; i < n && !done(); i++) await new Promise((r) => setImmediate(r));
    };
    const opts = { tickBudgetMs: 0, tickMinSlice: 100, continueAfterMs: 0 };
    const h = harness(fleet(1_000), [commLoss()], opts);
    const closed = harness(fleet(1_000), [commLoss()], opts);
    try {
      h.engine.write(Array.from({ length: 1_000 }, (_, i) => reading(`m${i}`, 'power.active', 1, T0)));
      h.engine.tick();
      expect(h.engine.stats().states).toBe(100);
      await turns(100, () => h.engine.stats().states === 1_000);
      expect(h.engine.stats().states).toBe(1_000);
      h.clock.now = T0 + 45 * SEC;
      h.engine.tick();
      expect(h.signals.length).toBe(100);
      await turns(100, () => h.signals.length === 1_000);
      expect(h.signals.length).toBe(1_000);

      closed.engine.tick();
      closed.engine.close();
      await turns(20, () => false);
      expect(closed.engine.stats().states).toBe(100);
    } finally {
      h.engine.close();
      closed.engine.close();
    }
  });

  it('leaves no growing pile of stale deadlines after repeated topology changes', () => {
    const n = 2_000;
    const h = harness(fleet(n), [commLoss()], { tickBudgetMs: 0, tickMinSlice: 500 });
    h.engine.write(Array.from({ length: n }, (_, i) => reading(`m${i}`, 'power.active', 1, T0)));
    let maxHeld = 0;
    for (let k = 1; k <= 30; k++) {
      // New data moves every deadline; the re-enrolment pass (4 ticks) re-schedules every meter.
      h.clock.now = T0 + k * SEC;
      h.engine.write(Array.from({ length: n }, (_, i) => reading(`m${i}`, 'power.active', 1, h.clock.now)));
      h.engine.topologyChanged({ kind: 'terminal', id: 't1', op: 'upsert' });
      for (let j = 0; j < 4; j++) {
        h.engine.tick();
        maxHeld = Math.max(maxHeld, h.engine.stats().timeDriven);
      }
    }
    expect(maxHeld).toBeLessThanOrEqual(n + 2 * n + 1_024);
    expect(h.take()).toEqual([]);
  });
});

describe('device-event quiet times from deadlines', () => {
  const cover = rule({ id: 'cover', subject: { all: true }, detector: 'device-event', params: { codes: ['cover-open'], clearAfterMs: 10 * MIN } });
  const ev = (h: Harness, m: string): DeviceEvent => ({
    meterId: meterId(m), terminalId: terminalId('t1'), code: 'cover-open', ts: h.clock.now, receivedAt: h.clock.now, source: 'mqtt', detail: null,
  });

  it('clears each meter after its own quiet time, a repeat pushing it back, then holds nothing', () => {
    const h = harness(fleet(500), [cover], unsliced);
    for (let i = 0; i < 500; i++) h.engine.onDeviceEvent(ev(h, `m${i}`));
    expect(h.take().length).toBe(500);
    h.clock.now = T0 + 5 * MIN;
    for (let i = 0; i < 500; i += 2) h.engine.onDeviceEvent(ev(h, `m${i}`));
    const clearedAt = new Map<string, number>();
    for (let s = 0; s <= 20 * 60; s += 30) {
      h.engine.tick(T0 + s * SEC);
      for (const sig of h.signals.splice(0)) clearedAt.set(sig.subject.id, s);
    }
    expect(clearedAt.size).toBe(500);
    for (let i = 0; i < 500; i++) expect(clearedAt.get(`m${i}`), `m${i}`).toBe(i % 2 === 0 ? 15 * 60 : 10 * 60);
    expect(h.engine.stats().timeDriven).toBe(0);
  });

  it('lets go of a meter deleted while its quiet time is queued', () => {
    const t = fleet(2);
    const h = harness(t, [cover]);
    h.engine.onDeviceEvent(ev(h, 'm0'));
    h.engine.onDeviceEvent(ev(h, 'm1'));
    h.take();
    t.meterMap.delete('m0');
    h.engine.topologyChanged({ kind: 'meter', id: 'm0', op: 'delete' });
    h.engine.tick(T0 + 10 * MIN);
    expect(h.take()).toEqual(['clear:m1:cover']);
    expect(h.engine.stats()).toMatchObject({ timeDriven: 0, states: 1 });
  });
});
