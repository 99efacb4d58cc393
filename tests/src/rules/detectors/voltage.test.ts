import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import {
  VoltageLimitsParams,
  VoltageLossParams,
  detectVoltageLoss,
  detectVoltageOutOfLimits,
  initialCondition,
  type LinePhase,
  type Snapshot,
} from '../../../../src/rules/detectors/index.js';
import { MIN, drive, series, timeline } from './drive.js';

const v3 = (l1: number, l2: number, l3: number, extra: Snapshot = {}): Snapshot => ({ 'voltage.l1': l1, 'voltage.l2': l2, 'voltage.l3': l3, ...extra });

describe('voltage out of limits', () => {
  const params: VoltageLimitsParams = { nominalV: 230, lowPct: 10, highPct: 10, hysteresisPct: 2, forMs: 5 * MIN, clearForMs: 2 * MIN };
  const run = (phase: LinePhase, seq: Snapshot[], fromMs = 0) =>
    drive((s, values: Snapshot, now) => detectVoltageOutOfLimits(s, { phase, values }, params, now), initialCondition(), series(fromMs, MIN, seq));

  it('raises only after the phase has stayed out of limits for the duration, and explains it', () => {
    const low = Array.from({ length: 5 }, () => v3(230, 184, 231));
    expect(run('l2', low, 10 * MIN).events).toEqual([]);
    const r = run('l2', [...low, v3(230, 184, 231)], 10 * MIN);
    expect(timeline(r.events)).toEqual(['raise@15']);
    expect(r.events[0]?.explanation).toBe('voltage L2 184.0 V is 20% below nominal 230 V (limit -10%) for 5 min (since 02:10:00Z)');
  });

  it('judges each phase on its own', () => {
    const seq = Array.from({ length: 6 }, () => v3(230, 184, 231));
    expect(run('l1', seq).events).toEqual([]);
    expect(run('l3', seq).events).toEqual([]);
  });

  it('raises once and clears once while the voltage flaps around the upper limit', () => {
    // Limit +10% = 253 V; clears at or below +8% = 248.4 V.
    const seq = [254, 255, 254, 256, 254, 255, 252, 254, 250, 254, 249, 248, 247, 250, 248, 248, 248].map((v) => v3(v, 230, 230));
    const r = run('l1', seq);
    expect(timeline(r.events)).toEqual(['raise@5', 'clear@16']);
    expect(r.events[0]?.explanation).toContain('voltage L1 255.0 V is 11% above nominal 230 V (limit +10%)');
    expect(r.events[1]?.explanation).toBe('voltage L1 248.0 V is back within limits (+7.8% of nominal 230 V; clears inside -8%..+8%) for 2 min (since 02:14:00Z); raised 02:05:00Z');
  });

  it('waits while the phase voltage is not reported', () => {
    expect(run('l3', Array.from({ length: 8 }, () => ({ 'voltage.l1': 100 }))).state.phase).toBe('idle');
  });

  it('rejects bad limits', () => {
    expect(Value.Check(VoltageLimitsParams, params)).toBe(true);
    expect(Value.Check(VoltageLimitsParams, { ...params, nominalV: 0 })).toBe(false);
    expect(Value.Check(VoltageLimitsParams, { ...params, lowPct: 150 })).toBe(false);
    expect(Value.Check(VoltageLimitsParams, { ...params, highPct: 0 })).toBe(false);
  });
});

describe('voltage loss', () => {
  const params = Value.Default(VoltageLossParams, { nominalV: 230, forMs: 1 * MIN, clearForMs: 1 * MIN }) as VoltageLossParams;
  const run = (phase: LinePhase, seq: Snapshot[]) =>
    drive((s, values: Snapshot, now) => detectVoltageLoss(s, { phase, values }, params, now), initialCondition(), series(0, MIN, seq));

  it('raises after the duration when one phase collapses while the others are present', () => {
    expect(run('l3', [v3(230, 229, 40)]).events).toEqual([]);
    const r = run('l3', [v3(230, 229, 40), v3(230, 229, 40)]);
    expect(timeline(r.events)).toEqual(['raise@1']);
    expect(r.events[0]?.explanation).toBe('voltage loss L3: 40.0 V (17% of nominal 230 V) is under 60% of nominal while other phases present at 230.0 V, 229.0 V for 1 min (since 02:00:00Z)');
  });

  it('raises on a single-phase meter when current still flows on the lost phase', () => {
    const r = run('l1', [{ 'voltage.l1': 20, 'current.l1': 3 }, { 'voltage.l1': 20, 'current.l1': 3 }]);
    expect(r.events[0]?.explanation).toContain('while current 3.0 A still flowing');
  });

  it('does not call a supply outage voltage loss', () => {
    expect(run('l1', [v3(0, 0, 0), v3(0, 0, 0), v3(0, 0, 0)]).events).toEqual([]);
  });

  it('raises once and clears once while the voltage hovers between loss and restore levels', () => {
    // Loss under 138 V (60%), restored at or above 161 V (70%).
    const seq = [100, 100, 150, 130, 155, 160, 170, 150, 170, 171].map((v) => v3(230, v, 230));
    const r = run('l2', seq);
    expect(timeline(r.events)).toEqual(['raise@1', 'clear@9']);
    expect(r.events[1]?.explanation).toContain('voltage L2 restored: 171.0 V (74% of nominal 230 V)');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(VoltageLossParams, params)).toBe(true);
    expect(Value.Check(VoltageLossParams, { ...params, lossBelowPct: 0 })).toBe(false);
    expect(Value.Check(VoltageLossParams, { nominalV: 230 })).toBe(false);
  });
});
