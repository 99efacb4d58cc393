import { describe, expect, it, vi } from 'vitest';
import { meterId, terminalId, type DeviceEvent, type DeviceEventCode } from '../../../src/domain/index.js';
import { RuleEngine } from '../../../src/rules/engine.js';
import { FakeTopology, MIN, SEC, T0, area, harness, meter, reading, rule } from './fixture.js';

const topo = () => new FakeTopology(
  [area('r1', null), area('tx1', 'r1', 400), area('tx2', 'r1', 630)],
  [meter('m1', 'tx1'), meter('m2', 'tx1'), meter('m3', 'tx2'), meter('m4', 'r1'), meter('m5', null)],
);
const overLimit = (id: string, subject: unknown, params: Record<string, unknown> = {}) =>
  rule({ id, subject, detector: 'power-over-limit', params: { limitKw: 10, ...params } });

describe('rule engine: routing', () => {
  it('judges a reading only against the rules whose subject covers its meter', () => {
    const h = harness(topo(), [
      overLimit('one', { meter: 'm1' }),
      overLimit('some', { meters: ['m2', 'm3'] }),
      overLimit('tx1-only', { area: 'tx1' }),
      overLimit('r1-only', { area: 'r1' }),
      overLimit('r1-tree', { area: 'r1', includeDescendants: true }),
      overLimit('every', { all: true }),
    ]);
    const fire = (m: string) => {
      h.engine.write([reading(m, 'power.active', 12, T0)]);
      return h.take().map((s) => s.split(':')[2]).sort();
    };
    expect(fire('m1')).toEqual(['every', 'one', 'r1-tree', 'tx1-only']);
    expect(fire('m3')).toEqual(['every', 'r1-tree', 'some']);
    expect(fire('m4')).toEqual(['every', 'r1-only', 'r1-tree']);
    expect(fire('m5')).toEqual(['every']);
  });

  it('ignores readings of meters it does not know and quantities no rule looks at', () => {
    const h = harness(topo(), [overLimit('every', { all: true })]);
    h.engine.write([reading('ghost', 'power.active', 99, T0), reading('m1', 'voltage.l1', 10, T0)]);
    expect(h.take()).toEqual([]);
  });

  it('fills the signal with the rule, the subject, its area and the explanation', () => {
    const h = harness(topo(), [{ ...overLimit('p', { all: true }), severity: 'critical' }]);
    h.engine.write([reading('m1', 'power.active', 12.5, T0)]);
    expect(h.signals).toEqual([{
      ruleId: 'p', detector: 'power-over-limit', subject: { kind: 'meter', id: 'm1' }, kind: 'raise', severity: 'critical',
      at: T0, since: T0, value: 12.5, areaId: 'tx1', explanation: 'power 12.5 kW is over the limit 10.0 kW (25% over)',
      explanationData: { ref: T0, parts: [expect.objectContaining({ id: 'power-over-limit.raise' })] },
    }]);
  });
});

describe('rule engine: conditions over time', () => {
  it('raises after the duration, holds in the hysteresis band, clears once after the clear time', () => {
    const h = harness(topo(), [overLimit('p', { meter: 'm1' }, { hysteresisKw: 2, forMs: MIN, clearForMs: MIN })]);
    const seq: [number, number][] = [[0, 11], [30, 12], [50, 9.5], [60, 11], [120, 11.5], [150, 9], [170, 10.5], [200, 7], [230, 7.5], [260, 7]];
    const out: string[] = [];
    for (const [s, kw] of seq) {
      h.engine.write([reading('m1', 'power.active', kw, T0 + s * SEC)]);
      out.push(...h.take().map((x) => `${x.split(':')[0]}@${s}`));
    }
    // 9.5 at 50 s is inside the band (8..10): the pending raise restarts at 60 s, not earlier.
    expect(out).toEqual(['raise@120', 'clear@260']);
  });

  it('keeps one state per phase and clears the meter alarm only when the last phase recovers', () => {
    const h = harness(topo(), [rule({ id: 'v', subject: { all: true }, detector: 'voltage-out-of-limits', params: { nominalV: 230, lowPct: 10, highPct: 10 } })]);
    const phases = (l1: number, l2: number, l3: number, t: number) => [reading('m1', 'voltage.l1', l1, t), reading('m1', 'voltage.l2', l2, t), reading('m1', 'voltage.l3', l3, t)];
    h.engine.write(phases(200, 230, 230, T0));
    expect(h.take()).toEqual(['raise:m1:v']);
    h.engine.write(phases(200, 199, 230, T0 + SEC));
    expect(h.signals.map((s) => s.explanation)).toEqual(['voltage L2 199.0 V is 13% below nominal 230 V (limit -10%)']);
    h.take();
    h.engine.write(phases(230, 199, 230, T0 + 2 * SEC));
    expect(h.take()).toEqual([]);
    h.engine.write(phases(230, 230, 230, T0 + 3 * SEC));
    expect(h.take()).toEqual(['clear:m1:v']);
    expect(h.engine.stats().states).toBe(3);
  });

  it('restarts an unchanged rule keeping the alarm it holds raised, so a breach goes on in it and a recovery clears it; a changed rule clears at once', () => {
    const v = rule({ id: 'v', subject: { all: true }, detector: 'voltage-out-of-limits', params: { nominalV: 230, lowPct: 10, highPct: 10 } });
    const h = harness(topo(), [v]);
    h.engine.write([reading('m1', 'voltage.l1', 260, T0)]);
    expect(h.take()).toEqual(['raise:m1:v']);
    h.engine.restart(v);
    h.engine.write([reading('m1', 'voltage.l1', 261, T0 + SEC)]);
    expect(h.take()).toEqual([]);
    h.engine.write([reading('m1', 'voltage.l1', 230, T0 + 2 * SEC)]);
    expect(h.take()).toEqual(['clear:m1:v']);
    h.engine.write([reading('m1', 'voltage.l1', 262, T0 + 3 * SEC)]);
    expect(h.take()).toEqual(['raise:m1:v']);
    h.engine.restart({ ...v, params: { ...v.params, highPct: 12 } });
    expect(h.signals.map((s) => [s.kind, s.explanation])).toEqual([['clear', 'rule v was changed; the alarm is closed without judging the value']]);
  });

  it('judges the readings of one meter and instant together, whatever their order in the batch', () => {
    const h = harness(topo(), [rule({ id: 'loss', subject: { all: true }, detector: 'voltage-loss', params: { nominalV: 230 } })]);
    // L1 collapsed while L2 and L3 are present: voltage loss on L1 only, even though L1 comes first.
    h.engine.write([reading('m1', 'voltage.l1', 20, T0), reading('m1', 'voltage.l2', 231, T0), reading('m1', 'voltage.l3', 229, T0)]);
    expect(h.signals.map((s) => s.explanation)).toEqual(['voltage loss L1: 20.0 V (8.7% of nominal 230 V) is under 60% of nominal while other phases present at 231.0 V, 229.0 V']);
  });

  it('does not let a late, older reading rewind the state', () => {
    const h = harness(topo(), [rule({ id: 'back', subject: { all: true }, detector: 'register-backwards', params: {} })]);
    h.engine.write([reading('m1', 'energy.active.import', 100, T0 + MIN)]);
    h.engine.write([reading('m1', 'energy.active.import', 90, T0)]);
    expect(h.take()).toEqual([]);
    h.engine.write([reading('m1', 'energy.active.import', 95, T0 + 2 * MIN)]);
    expect(h.take()).toEqual(['raise:m1:back']);
  });

  it('raises once and clears once while a value flaps around the limit', () => {
    const h = harness(topo(), [overLimit('p', { meter: 'm1' }, { hysteresisKw: 3 })]);
    [11, 9, 11, 8, 10.5, 9.9, 12, 6].forEach((kw, i) => { h.engine.write([reading('m1', 'power.active', kw, T0 + i * SEC)]); });
    expect(h.take()).toEqual(['raise:m1:p', 'clear:m1:p']);
  });
});

describe('rule engine: rule and topology changes', () => {
  it('applies disable, delete and re-create mid-stream, closing what the rule held open', () => {
    const h = harness(topo(), [overLimit('p', { all: true })]);
    h.engine.write([reading('m1', 'power.active', 12, T0), reading('m2', 'power.active', 5, T0)]);
    expect(h.take()).toEqual(['raise:m1:p']);
    h.engine.remove('p', 'was disabled');
    expect(h.signals[0]?.explanation).toBe('rule p was disabled; the alarm is closed without judging the value');
    expect(h.take()).toEqual(['clear:m1:p']);
    h.engine.write([reading('m1', 'power.active', 13, T0 + SEC)]);
    expect(h.take()).toEqual([]);
    expect(h.engine.stats()).toMatchObject({ rules: 0, states: 0 });
    h.engine.upsert(overLimit('p', { all: true }, { limitKw: 20 }));
    h.engine.write([reading('m1', 'power.active', 13, T0 + 2 * SEC), reading('m2', 'power.active', 21, T0 + 2 * SEC)]);
    expect(h.take()).toEqual(['raise:m2:p']);
  });

  it('changing a rule clears its open alarms and judges afresh with the new parameters', () => {
    const h = harness(topo(), [overLimit('p', { meter: 'm1' })]);
    h.engine.write([reading('m1', 'power.active', 12, T0)]);
    h.engine.upsert(overLimit('p', { meter: 'm1' }, { limitKw: 11 }));
    expect(h.take()).toEqual(['raise:m1:p', 'clear:m1:p']);
    h.engine.write([reading('m1', 'power.active', 12, T0 + SEC)]);
    expect(h.take()).toEqual(['raise:m1:p']);
  });

  it('follows meters moving into an area and forgets deleted meters', () => {
    const t = topo();
    const h = harness(t, [overLimit('tx2', { area: 'tx2' })]);
    h.engine.write([reading('m1', 'power.active', 12, T0)]);
    expect(h.take()).toEqual([]);
    t.meterMap.set('m1', meter('m1', 'tx2'));
    h.engine.topologyChanged({ kind: 'meter', id: 'm1', op: 'upsert' });
    h.engine.write([reading('m1', 'power.active', 12, T0 + SEC)]);
    expect(h.take()).toEqual(['raise:m1:tx2']);
    expect(h.engine.stats().states).toBe(1);
    t.meterMap.delete('m1');
    h.engine.topologyChanged({ kind: 'meter', id: 'm1', op: 'delete' });
    expect(h.engine.stats().states).toBe(0);
  });

  it('bounds the condition states it holds and counts what it refuses', () => {
    const h = harness(topo(), [overLimit('p', { all: true })], { maxStates: 2 });
    h.engine.write(['m1', 'm2', 'm3'].map((m) => reading(m, 'power.active', 12, T0)));
    expect(h.take()).toEqual(['raise:m1:p', 'raise:m2:p']);
    expect(h.engine.stats()).toMatchObject({ states: 2, statesRefused: 1 });
  });

  it('never throws from write when a consumer fails, and reports once per rule per interval', () => {
    const onDetectorError = vi.fn();
    const clock = { now: T0 };
    const t = topo();
    const engine = new RuleEngine({ topology: t, now: () => clock.now, onSignal: () => { throw new Error('alarm service down'); }, onDetectorError });
    engine.upsert(overLimit('p', { all: true }, { hysteresisKw: 0 }));
    for (let i = 0; i < 6; i++) engine.write([reading('m1', 'power.active', i % 2 === 0 ? 12 : 5, T0 + i * SEC)]);
    expect(engine.stats().detectorErrors).toBe(6);
    expect(onDetectorError).toHaveBeenCalledTimes(1);
    clock.now += MIN;
    engine.write([reading('m1', 'power.active', 12, T0 + 10 * SEC)]);
    expect(onDetectorError).toHaveBeenCalledTimes(2);
    expect(onDetectorError.mock.calls[1]?.[2]).toBe(5);
  });
});

describe('rule engine: time-driven rules', () => {
  it('raises communication loss after N expected intervals of silence and clears when data flows', () => {
    const t = topo();
    const h = harness(t, [rule({ id: 'comm', subject: { meters: ['m1', 'm2'] }, detector: 'communication-loss', params: { missedIntervals: 3 } })]);
    h.engine.write([reading('m1', 'power.active', 1, T0), reading('m2', 'power.active', 1, T0)]);
    for (let s = 1; s <= 44; s++) {
      h.clock.now = T0 + s * SEC;
      if (s % 10 === 0) h.engine.write([reading('m2', 'power.active', 1, h.clock.now)]);
      h.engine.tick();
    }
    expect(h.take()).toEqual([]);
    h.clock.now = T0 + 45 * SEC;
    h.engine.tick();
    expect(h.signals[0]?.explanation).toBe('communication loss: no data for 45 s (last reading 02:00:00Z; expected every 15 s, 3 intervals missed, limit 3)');
    expect(h.take()).toEqual(['raise:m1:comm']);
    h.clock.now += 100 * SEC;
    h.engine.tick();
    expect(h.take()).toEqual(['raise:m2:comm']);
    h.engine.write([reading('m1', 'power.active', 1, h.clock.now)]);
    h.engine.tick();
    expect(h.take()).toEqual(['clear:m1:comm']);
  });

  it('uses an explicit expected interval over the collection one, and counts a never-heard meter from when the rule started', () => {
    const h = harness(topo(), [rule({ id: 'comm', subject: { meter: 'm3' }, detector: 'communication-loss', params: { expectedIntervalMs: 60_000, missedIntervals: 2 } })]);
    h.engine.tick(T0 + 119 * SEC);
    expect(h.take()).toEqual([]);
    h.engine.tick(T0 + 120 * SEC);
    expect(h.take()).toEqual(['raise:m3:comm']);
  });

  it('raises on a device event and clears on the paired event or after the quiet time', () => {
    const h = harness(topo(), [
      rule({ id: 'cover', subject: { all: true }, detector: 'device-event', params: { codes: ['cover-open'], clearAfterMs: 10 * MIN } }),
      rule({ id: 'power', subject: { area: 'tx1' }, detector: 'device-event', params: { codes: ['power-down'], clearOn: ['power-up'] } }),
    ]);
    const ev = (m: string | null, code: DeviceEventCode): DeviceEvent => ({ meterId: m === null ? null : meterId(m), terminalId: terminalId('t9'), code, ts: h.clock.now - SEC, receivedAt: h.clock.now, source: 'mqtt', detail: null });
    h.engine.onDeviceEvent(ev('m1', 'cover-open'));
    h.engine.onDeviceEvent(ev('m1', 'power-down'));
    h.engine.onDeviceEvent(ev('m3', 'power-down'));
    h.engine.onDeviceEvent(ev(null, 'cover-open'));
    expect(h.take()).toEqual(['raise:m1:cover', 'raise:m1:power', 'raise:t9:cover']);
    h.clock.now += 5 * MIN;
    h.engine.onDeviceEvent(ev('m1', 'cover-open'));
    h.engine.onDeviceEvent(ev('m1', 'power-up'));
    expect(h.take()).toEqual(['clear:m1:power']);
    h.engine.tick(h.clock.now + 10 * MIN - SEC);
    expect(h.take()).toEqual(['clear:t9:cover']);
    h.engine.tick(h.clock.now + 10 * MIN);
    expect(h.take()).toEqual(['clear:m1:cover']);
  });
});

describe('rule engine: area rules', () => {
  it('raises transformer overload from the sum of the area meters, against kVA × PF', () => {
    const h = harness(topo(), [rule({ id: 'tx', subject: { all: true }, detector: 'transformer-overload', params: { forMs: MIN, clearForMs: 0 } })]);
    h.engine.write([reading('m1', 'power.active', 200, T0), reading('m2', 'power.active', 170, T0), reading('m3', 'power.active', 100, T0)]);
    h.engine.tick(T0);
    h.engine.tick(T0 + MIN);
    expect(h.take()).toEqual(['raise:tx1:tx']);
    expect(h.signals.length).toBe(0);
    h.engine.write([reading('m1', 'power.active', 100, T0 + 2 * MIN)]);
    h.engine.tick(T0 + 2 * MIN);
    const cleared = [...h.signals];
    expect(h.take()).toEqual(['clear:tx1:tx']);
    expect(cleared[0]).toMatchObject({ subject: { kind: 'area', id: 'tx1' }, areaId: 'tx1', value: 270 });
  });

  it('raises an abnormal area from its own meter alarms and names them', () => {
    const meters = Array.from({ length: 10 }, (_, i) => meter(`a${i}`, 'tx1'));
    const h = harness(new FakeTopology([area('r1', null), area('tx1', 'r1', 400)], meters), [
      overLimit('p', { all: true }),
      rule({ id: 'v', subject: { all: true }, detector: 'voltage-out-of-limits', params: { nominalV: 230, lowPct: 10, highPct: 10 } }),
      rule({ id: 'abn', subject: { area: 'tx1' }, detector: 'abnormal-area', params: { maxSharePct: 30, hysteresisPct: 5 } }),
    ]);
    h.engine.write([0, 1, 2].map((i) => reading(`a${i}`, 'voltage.l1', 180, T0)));
    h.engine.tick(T0);
    expect(h.take().filter((s) => s.endsWith('abn'))).toEqual([]);
    h.engine.write([reading('a3', 'power.active', 50, T0 + SEC), reading('a3', 'voltage.l1', 180, T0 + SEC)]);
    h.engine.tick(T0 + SEC);
    const abn = h.signals.find((s) => s.ruleId === 'abn');
    expect(abn?.explanation).toBe('abnormal area TX1: 4 of 10 meters (40%) in alarm: voltage-out-of-limits ×4, power-over-limit ×1, bound 30%');
    h.take();
    h.engine.write([0, 1].map((i) => reading(`a${i}`, 'voltage.l1', 230, T0 + 2 * SEC)));
    h.engine.tick(T0 + 2 * SEC);
    expect(h.take()).toEqual(['clear:a0:v', 'clear:a1:v', 'clear:tx1:abn']);
  });

  it('judges area line loss per interval, and calls a missing customer reading unknown', () => {
    const t = new FakeTopology([area('tx1', null, 400)], [meter('sup', 'tx1'), meter('c1', 'tx1'), meter('c2', 'tx1')]);
    const h = harness(t, [rule({ id: 'loss', subject: { area: 'tx1' }, detector: 'area-line-loss', params: { supplyMeter: 'sup', intervalMs: 3_600_000, maxLossPct: 8 } })]);
    const regs = (t: number, sup: number, c1: number | null, c2: number) => { h.engine.write([
      reading('sup', 'energy.active.import', sup, t), ...(c1 === null ? [] : [reading('c1', 'energy.active.import', c1, t)]), reading('c2', 'energy.active.import', c2, t),
    ]); };
    regs(T0, 1000, 500, 400);
    h.engine.tick(T0);
    regs(T0 + 3_600_000, 1100, 545, 445); // supply 100, customers 90: 10% loss
    h.engine.tick(T0 + 3_600_000);
    expect(h.signals[0]?.explanation).toBe('line loss in TX1 10% is over the bound 8% (supply 100.0 kWh, customers 90.0 kWh over 1 h (2 customer meters))');
    h.take();
    regs(T0 + 7_200_000, 1200, null, 500); // c1 silent this hour: unknown, no verdict
    h.engine.tick(T0 + 7_200_000);
    expect(h.take()).toEqual([]);
    regs(T0 + 10_800_000, 1300, 600, 600); // c1 back, but this interval started without it: unknown again
    h.engine.tick(T0 + 10_800_000);
    expect(h.take()).toEqual([]);
    regs(T0 + 14_400_000, 1400, 650, 645); // supply 100, customers 95: 5% loss, inside the bounds
    h.engine.tick(T0 + 14_400_000);
    expect(h.take()).toEqual(['clear:tx1:loss']);
  });
});
