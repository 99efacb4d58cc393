import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import {
  CurrentImbalanceParams,
  CurrentLossParams,
  detectCurrentImbalance,
  detectCurrentLoss,
  initialCondition,
  type LinePhase,
  type Snapshot,
} from '../../../../src/rules/detectors/index.js';
import { MIN, drive, series, timeline } from './drive.js';

const i3 = (l1: number, l2: number, l3: number): Snapshot => ({ 'current.l1': l1, 'current.l2': l2, 'current.l3': l3 });

describe('current loss', () => {
  const params = Value.Default(CurrentLossParams, { forMs: 2 * MIN, clearForMs: 2 * MIN }) as CurrentLossParams;
  const run = (phase: LinePhase, seq: Snapshot[]) =>
    drive((s, values: Snapshot, now) => detectCurrentLoss(s, { phase, values }, params, now), initialCondition(), series(0, MIN, seq));

  it('raises after the duration when one phase reads ~0 A while the others carry load, and explains it', () => {
    expect(run('l2', [i3(20, 0, 18), i3(20, 0, 18)]).events).toEqual([]);
    const r = run('l2', [i3(20, 0, 18), i3(20, 0.01, 18), i3(21, 0, 18)]);
    expect(timeline(r.events)).toEqual(['raise@2']);
    expect(r.events[0]?.explanation).toBe('current loss L2: 0.0 A while other phases at 21.0 A, 18.0 A for 2 min (since 02:00:00Z)');
  });

  it('does not alarm the idle phases of a single-phase load', () => {
    expect(run('l2', Array.from({ length: 5 }, () => i3(20, 0, 0))).events).toEqual([]);
  });

  it('raises once and clears once while the phase current wavers near zero', () => {
    // Lost at or under 0.05 A, restored above 0.15 A.
    const seq = [0, 0, 0, 0.1, 0, 0.12, 0.2, 0.1, 0.3, 0.3, 0.3].map((a) => i3(20, a, 20));
    const r = run('l2', seq);
    expect(timeline(r.events)).toEqual(['raise@2', 'clear@10']);
    expect(r.events[1]?.explanation).toContain('current L2 restored: 0.3 A');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(CurrentLossParams, params)).toBe(true);
    expect(Value.Check(CurrentLossParams, { ...params, othersAboveA: 0 })).toBe(false);
    expect(Value.Check(CurrentLossParams, { ...params, clearForMs: -1 })).toBe(false);
  });
});

describe('phase current imbalance', () => {
  const params: CurrentImbalanceParams = { maxImbalancePct: 30, hysteresisPct: 5, minLoadA: 5, forMs: 10 * MIN, clearForMs: 5 * MIN };
  const run = (seq: Snapshot[]) =>
    drive((s, values: Snapshot, now) => detectCurrentImbalance(s, values, params, now), initialCondition(), series(0, 5 * MIN, seq));

  it('raises after the duration, and explains it with every phase', () => {
    expect(run([i3(40, 15.2, 38), i3(40, 15.2, 38)]).events).toEqual([]);
    const r = run([i3(40, 15.2, 38), i3(40, 15.2, 38), i3(40, 15.2, 38)]);
    expect(timeline(r.events)).toEqual(['raise@10']);
    expect(r.events[0]?.explanation).toBe('phase current imbalance 62% (L1 40.0 A, L2 15.2 A, L3 38.0 A) is over the limit 30% for 10 min (since 02:00:00Z)');
  });

  it('raises once and clears once while the imbalance hovers around the limit', () => {
    // 31% breaches, 27% holds, 20% is normal (at or under 25%).
    const seq = [i3(100, 69, 100), i3(100, 69, 100), i3(100, 69, 100), i3(100, 73, 100), i3(100, 69, 100), i3(100, 80, 100), i3(100, 73, 100), i3(100, 80, 100), i3(100, 80, 100)];
    expect(timeline(run(seq).events)).toEqual(['raise@10', 'clear@40']);
  });

  it('does not judge imbalance under the minimum load, and clears when the load goes', () => {
    expect(run([i3(4, 0, 0), i3(4, 0, 0), i3(4, 0, 0), i3(4, 0, 0)]).events).toEqual([]);
    const r = run([i3(40, 0, 40), i3(40, 0, 40), i3(40, 0, 40), i3(3, 0, 3), i3(3, 0, 3)]);
    expect(timeline(r.events)).toEqual(['raise@10', 'clear@20']);
    expect(r.events[1]?.explanation).toContain('no longer judged: load under 5.0 A');
  });

  it('needs at least two phases', () => {
    expect(run([{ 'current.l1': 40 }, { 'current.l1': 40 }, { 'current.l1': 40 }]).state.phase).toBe('idle');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(CurrentImbalanceParams, params)).toBe(true);
    expect(Value.Check(CurrentImbalanceParams, { ...params, maxImbalancePct: 0 })).toBe(false);
    expect(Value.Check(CurrentImbalanceParams, { ...params, minLoadA: -5 })).toBe(false);
  });
});
