/**
 * Area figures from running tallies: transformer load summed per reading (exact through many
 * changes, values leaving when stale, meters deleted or moved), abnormal-area counts following
 * alarms as they open and close, and memberships rebuilt in slices while the previous tally
 * keeps judging.
 */
import { describe, expect, it } from 'vitest';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule } from './fixture.js';

const overload = (params: Record<string, unknown> = {}) =>
  rule({ id: 'tx', subject: { all: true }, detector: 'transformer-overload', params: { limitKw: 100, hysteresisPct: 0, minReportingPct: 0, ...params } });
const overLimit = rule({ id: 'p', subject: { all: true }, detector: 'power-over-limit', params: { limitKw: 10 } });
const abnormal = rule({ id: 'abn', subject: { area: 'tx1' }, detector: 'abnormal-area', params: { maxSharePct: 30, hysteresisPct: 5 } });

/** A small deterministic generator so a failure reproduces. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('transformer load from running sums', () => {
  it('stays exact through 50,000 value changes: the raise carries the recounted sum', () => {
    const n = 100;
    const h = harness(new FakeTopology([area('tx1', null, 400)], Array.from({ length: n }, (_, i) => meter(`m${i}`, 'tx1'))), [overload({ limitKw: 109.95 })]);
    h.engine.tick(T0);
    const rnd = lcg(5);
    for (let k = 1; k <= 50_000; k++) {
      // Values with one decimal: their float sums drift, integer milliwatts do not.
      h.engine.write([reading(`m${k % n}`, 'power.active', Math.floor(rnd() * 20) / 10, T0 + k)]);
    }
    h.engine.tick(T0 + 60 * SEC);
    expect(h.take()).toEqual([]);
    h.engine.write(Array.from({ length: n }, (_, i) => reading(`m${i}`, 'power.active', 1.1, T0 + 60 * SEC)));
    h.engine.tick(T0 + 61 * SEC);
    expect(h.signals.map((s) => [s.kind, s.value])).toEqual([['raise', 110]]);
  });

  it('drops a value once it is older than freshMs, and a deleted meter at once', () => {
    const t = new FakeTopology([area('tx1', null, 400)], ['a', 'b', 'c'].map((m) => meter(m, 'tx1')));
    // The freshness is the station's (station.areaLoadFreshMs), no longer a rule parameter.
    const h = harness(t, [overload({ limitKw: 250 })], { areaLoad: { freshMs: MIN, powerFactor: 0.9, excluded: new Set() } });
    h.engine.write(['a', 'b'].map((m) => reading(m, 'power.active', 100, T0)));
    h.engine.write([reading('c', 'power.active', 100, T0 + 30 * SEC)]);
    h.engine.tick(T0 + 30 * SEC);
    expect(h.signals.map((s) => `${s.kind} ${s.value}`)).toEqual(['raise 300']);
    h.take();
    h.engine.tick(T0 + MIN); // a and b read exactly freshMs ago: still fresh
    expect(h.take()).toEqual([]);
    h.engine.write([reading('a', 'power.active', 100, T0 + MIN)]);
    h.engine.tick(T0 + MIN + 1); // b is stale now: 200 kW
    expect(h.signals.map((s) => `${s.kind} ${s.value}`)).toEqual(['clear 200']);
    h.take();
    h.engine.write([reading('b', 'power.active', 100, T0 + MIN + 2)]);
    h.engine.tick(T0 + MIN + 2);
    expect(h.take()).toEqual(['raise:tx1:tx']);
    t.meterMap.delete('c');
    h.engine.topologyChanged({ kind: 'meter', id: 'c', op: 'delete' });
    h.engine.tick(T0 + MIN + 3);
    expect(h.signals.map((s) => `${s.kind} ${s.value}`)).toEqual(['clear 200']);
  });

  it('counts a meter that moved in its new area once the topology change is taken in', () => {
    const t = new FakeTopology([area('tx1', null, 400), area('tx2', null, 400)], [meter('a', 'tx1'), meter('b', 'tx2')]);
    const h = harness(t, [overload({ limitKw: 150 })]);
    h.engine.write([reading('a', 'power.active', 100, T0), reading('b', 'power.active', 100, T0)]);
    h.engine.tick(T0);
    expect(h.take()).toEqual([]);
    t.meterMap.set('a', meter('a', 'tx2'));
    h.engine.topologyChanged({ kind: 'meter', id: 'a', op: 'upsert' });
    h.engine.tick(T0 + SEC);
    expect(h.signals.map((s) => `${s.kind}:${s.subject.id} ${s.value}`)).toEqual(['raise:tx2 200']);
  });
});

describe('abnormal area from running counts', () => {
  const tenMeters = () => new FakeTopology([area('r1', null), area('tx1', 'r1', 400)], Array.from({ length: 10 }, (_, i) => meter(`a${i}`, 'tx1')));

  it('follows alarms opening and closing, and a deleted meter takes its alarms out of the share', () => {
    const t = tenMeters();
    const h = harness(t, [overLimit, abnormal]);
    h.engine.write([0, 1, 2, 3].map((i) => reading(`a${i}`, 'power.active', 20, T0)));
    h.engine.tick(T0);
    expect(h.signals.filter((s) => s.ruleId === 'abn').map((s) => `${s.kind} ${s.value}`)).toEqual(['raise 40']);
    h.take();
    for (const id of ['a0', 'a1']) {
      t.meterMap.delete(id);
      h.engine.topologyChanged({ kind: 'meter', id, op: 'delete' });
    }
    h.engine.tick(T0 + SEC);
    expect(h.signals.map((s) => `${s.kind}:${s.ruleId} ${s.value}`)).toEqual(['clear:abn 25']);
  });

  it('stops counting the alarms of a deleted rule', () => {
    const h = harness(tenMeters(), [overLimit, abnormal]);
    h.engine.write([0, 1, 2, 3].map((i) => reading(`a${i}`, 'power.active', 20, T0)));
    h.engine.tick(T0);
    h.take();
    h.engine.remove('p');
    h.engine.tick(T0 + SEC);
    expect(h.take()).toEqual(['clear:a0:p', 'clear:a1:p', 'clear:a2:p', 'clear:a3:p', 'clear:tx1:abn']);
  });

  it('rebuilds memberships in slices while the previous tally keeps judging and counting', () => {
    const t = new FakeTopology([area('r1', null), area('tx1', 'r1', 400)], Array.from({ length: 100 }, (_, i) => meter(`a${i}`, 'tx1')));
    const h = harness(t, [overLimit, abnormal], { tickBudgetMs: 0, tickMinSlice: 16 });
    const abn = () => h.signals.splice(0).filter((s) => s.ruleId === 'abn').map((s) => `${s.kind} ${s.value}`);
    h.engine.write(Array.from({ length: 40 }, (_, i) => reading(`a${i}`, 'power.active', 20, T0)));
    // The first tally needs 7 ticks (100 meters, 16 a tick); nothing is judged before it is complete.
    const first: string[][] = [];
    for (let s = 0; s < 8; s++) {
      h.engine.tick(T0 + s * SEC);
      first.push(abn());
    }
    expect(first).toEqual([[], [], [], [], [], [], ['raise 40'], []]);
    t.meterMap.set('a99', meter('a99', 'tx1'));
    h.engine.topologyChanged({ kind: 'meter', id: 'a99', op: 'upsert' });
    // While the new tally is built, alarms closing still reach the judge through the old one.
    h.engine.write(Array.from({ length: 20 }, (_, i) => reading(`a${i}`, 'power.active', 1, T0 + 8 * SEC)));
    h.engine.tick(T0 + 8 * SEC);
    expect(abn()).toEqual(['clear 20']);
    expect(h.engine.stats().timeDriven).toBeGreaterThan(0);
  });
});
