/**
 * The engine keeps per-meter state in columns by meter slot (src/rules/meterSlots.ts): what
 * that representation must get right beyond the detectors' own tests. A deleted meter's slot
 * taken by a new meter starts blank; a meter moved between areas counts where it is now; a
 * rule deleted takes its packed states with it; and a change to one meter touches that meter,
 * never the fleet.
 */
import { describe, expect, it } from 'vitest';
import type { Meter } from '../../../src/domain/index.js';
import { MeterSlots } from '../../../src/rules/meterSlots.js';
import { StateTable, meterStateKey } from '../../../src/rules/stateTable.js';
import { IDLE } from '../../../src/rules/detectors/index.js';
import { meterId } from '../../../src/domain/index.js';
import { FakeTopology, SEC, T0, area, harness, meter, reading, rule } from './fixture.js';

const backwards = rule({ id: 'back', subject: { all: true }, detector: 'register-backwards', params: { register: 'energy.active.import', toleranceKwh: 0.01 } });
const overLimit = rule({ id: 'p', subject: { all: true }, detector: 'power-over-limit', params: { limitKw: 10 } });
const overload = rule({ id: 'tx', subject: { all: true }, detector: 'transformer-overload', params: { limitKw: 100, hysteresisPct: 0, minReportingPct: 0 } });
const commLoss = rule({ id: 'silent', subject: { area: 'tx1' }, detector: 'communication-loss', params: { missedIntervals: 3 } });

describe('meter slots', () => {
  it('gives a deleted meter its slot back, and a new meter in that slot starts with no values or baseline', () => {
    const t = new FakeTopology([area('tx1', null, 400)], [meter('old', 'tx1')]);
    const h = harness(t, [backwards]);
    h.engine.write([reading('old', 'energy.active.import', 1000, T0)]);
    expect(h.engine.stats().states).toBe(1);
    t.meterMap.delete('old');
    h.engine.topologyChanged({ kind: 'meter', id: 'old', op: 'delete' });
    expect(h.engine.stats().states).toBe(0);
    t.meterMap.set('new', meter('new', 'tx1'));
    h.engine.topologyChanged({ kind: 'meter', id: 'new', op: 'upsert' });
    // Below the deleted meter's 1000 kWh: a baseline left in the reused slot would call it backwards.
    h.engine.write([reading('new', 'energy.active.import', 5, T0 + SEC)]);
    h.engine.write([reading('new', 'energy.active.import', 4, T0 + 2 * SEC)]);
    expect(h.take()).toEqual(['raise:new:back']);
    expect(h.engine.stats().states).toBe(1);
  });

  it('numbers meters densely and reuses a released slot', () => {
    const slots = new MeterSlots();
    expect([slots.take(meterId('a')), slots.take(meterId('b')), slots.take(meterId('a'))]).toEqual([0, 1, 0]);
    slots.release(meterId('a'));
    expect(slots.of(meterId('a'))).toBeUndefined();
    expect(slots.take(meterId('c'))).toBe(0);
    expect(slots.idAt(0)).toBe('c');
    expect(slots.capacity).toBe(2);
  });
});

describe('packed detector states', () => {
  it('hands back an idle condition and a register baseline equal to what was stored, raised states as the objects themselves', () => {
    const table = new StateTable();
    const idle = { phase: 'idle', since: null, raisedAt: null, lastAt: T0 } as const;
    const register = { condition: idle, baseline: { value: 12.5, at: T0 } };
    const active = { phase: 'active', since: null, raisedAt: T0, lastAt: T0 } as const;
    table.set(meterStateKey(3, 0), idle);
    table.set(meterStateKey(3, 2), IDLE);
    table.set(meterStateKey(4, 0), register);
    table.set(meterStateKey(5, 0), active);
    table.set('tx1', idle);
    expect(table.get(meterStateKey(3, 0))).toEqual(idle);
    expect(table.get(meterStateKey(3, 2))).toBe(IDLE);
    expect(table.get(meterStateKey(4, 0))).toEqual(register);
    expect(table.get(meterStateKey(5, 0))).toBe(active);
    expect(table.get(meterStateKey(3, 1))).toBeUndefined();
    expect(table.size).toBe(5);
    expect([...table.unpacked()].map(([k]) => k)).toEqual([meterStateKey(5, 0), 'tx1']);
    // A state that leaves idle is an object again, and the packed one is gone.
    table.set(meterStateKey(3, 0), active);
    expect(table.get(meterStateKey(3, 0))).toBe(active);
    expect(table.size).toBe(5);
    expect(table.delete(meterStateKey(4, 0))).toBe(true);
    expect(table.delete(meterStateKey(4, 0))).toBe(false);
    expect(table.size).toBe(4);
  });

  it('drops a deleted rule\'s packed states: the rule added again judges from no baseline', () => {
    const t = new FakeTopology([area('tx1', null, 400)], ['a', 'b'].map((m) => meter(m, 'tx1')));
    const h = harness(t, [backwards, overLimit]);
    h.engine.write(['a', 'b'].flatMap((m) => [reading(m, 'energy.active.import', 100, T0), reading(m, 'power.active', 1, T0)]));
    expect(h.engine.stats().states).toBe(4);
    h.engine.remove('back');
    expect(h.engine.stats().states).toBe(2);
    h.engine.upsert(backwards);
    h.engine.write([reading('a', 'energy.active.import', 50, T0 + SEC)]);
    expect(h.take()).toEqual([]);
    expect(h.engine.stats().states).toBe(3);
  });
});

describe('one meter changed', () => {
  it('counts a meter moved to another area in that area\'s load from the change on', () => {
    const t = new FakeTopology([area('tx1', null, 400), area('tx2', null, 400)], [meter('a', 'tx1'), meter('b', 'tx2'), meter('big', 'tx1')]);
    const h = harness(t, [overload]);
    h.engine.tick(T0);
    h.engine.write([reading('a', 'power.active', 10, T0), reading('b', 'power.active', 60, T0), reading('big', 'power.active', 60, T0)]);
    h.engine.tick(T0 + SEC);
    expect(h.take()).toEqual([]);
    t.meterMap.set('big', meter('big', 'tx2'));
    h.engine.topologyChanged({ kind: 'meter', id: 'big', op: 'upsert' });
    h.engine.tick(T0 + 2 * SEC);
    expect(h.signals.map((s) => `${s.kind} ${s.subject.id} ${s.value}`)).toEqual(['raise tx2 120']);
  });

  it('stops judging the silence of a meter moved out of the rule\'s area', () => {
    const t = new FakeTopology([area('tx1', null, 400), area('tx2', null, 400)], [meter('a', 'tx1'), meter('b', 'tx1')]);
    const h = harness(t, [commLoss]);
    h.engine.tick(T0);
    t.meterMap.set('b', meter('b', 'tx2'));
    h.engine.topologyChanged({ kind: 'meter', id: 'b', op: 'upsert' });
    const raised: string[] = [];
    for (let s = 1; s <= 60; s++) {
      h.clock.now = T0 + s * SEC;
      h.engine.tick();
      raised.push(...h.take());
    }
    expect(raised).toEqual(['raise:a:silent']);
  });

  it('does not walk the fleet for a meter added, changed or deleted', () => {
    const meters: Meter[] = Array.from({ length: 50 }, (_, i) => meter(`m${i}`, 'tx1'));
    const t = new FakeTopology([area('tx1', null, 400)], meters);
    let walks = 0;
    const walked = Object.assign(Object.create(t) as FakeTopology, {
      meters: () => { walks += 1; return t.meters(); },
    });
    const h = harness(walked, [overload, commLoss, overLimit]);
    h.engine.tick(T0);
    const before = walks;
    t.meterMap.set('m50', meter('m50', 'tx1'));
    h.engine.topologyChanged({ kind: 'meter', id: 'm50', op: 'upsert' });
    t.meterMap.delete('m3');
    h.engine.topologyChanged({ kind: 'meter', id: 'm3', op: 'delete' });
    for (let s = 1; s <= 5; s++) h.engine.tick(T0 + s * SEC);
    expect(walks).toBe(before);
    expect(before).toBeGreaterThan(0);
    h.engine.write([reading('m50', 'power.active', 101, T0 + 6 * SEC)]);
    h.engine.tick(T0 + 7 * SEC);
    expect(h.take()).toEqual(['raise:m50:p', 'raise:tx1:tx']);
  });
});
