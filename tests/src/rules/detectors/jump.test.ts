import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { SuddenJumpParams, detectSuddenJump, initialJumpState } from '../../../../src/rules/detectors/index.js';
import { MIN, drive, series, timeline } from './drive.js';

describe('sudden jump against the recent baseline', () => {
  const params = Value.Default(SuddenJumpParams, { quantity: 'power.active', minDeviation: 5, forMs: 0, clearForMs: 2 * MIN }) as SuddenJumpParams;
  const run = (kw: number[], p: SuddenJumpParams = params) =>
    drive((s, v: number, now) => detectSuddenJump(s, v, p, now), initialJumpState(), series(0, MIN, kw));
  /** A steady load with small noise: 10 kW +/- 0.3. */
  const steady = (n: number) => Array.from({ length: n }, (_, i) => 10 + (i % 2 === 0 ? 0.3 : -0.3));

  it('judges nothing during warm-up', () => {
    expect(run([10, 50, 10, 50, 10, 50, 10]).events).toEqual([]);
  });

  it('raises on a spike and clears once the value is back near the baseline', () => {
    const r = run([...steady(10), 40, 10, 10, 10]);
    expect(timeline(r.events)).toEqual(['raise@10', 'clear@13']);
    expect(r.events[0]?.explanation).toMatch(/^sudden jump in power\.active: 40\.00 kW against a recent baseline of 10\.\d\d kW \(\+\d\d\.\d\d kW, \d+x the usual deviation 0\.\d\d kW; threshold 5\.00 kW\)$/);
  });

  it('ignores noise and deviations under the absolute minimum', () => {
    expect(run([...steady(10), 14, 6, 14, 6]).events).toEqual([]);
  });

  it('needs a jump to persist for forMs before raising', () => {
    const p = { ...params, forMs: 2 * MIN };
    expect(run([...steady(10), 40, 10, 40, 10], p).events).toEqual([]);
    expect(timeline(run([...steady(10), 40, 40, 40], p).events)).toEqual(['raise@12']);
  });

  it('raises once for a lasting step and clears as the baseline settles on the new level', () => {
    const r = run([...steady(10), ...Array.from({ length: 30 }, () => 40)]);
    expect(timeline(r.events)).toHaveLength(2);
    expect(r.events.map((e) => e.kind)).toEqual(['raise', 'clear']);
    expect(r.state.condition.phase).toBe('idle');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(SuddenJumpParams, params)).toBe(true);
    expect(Value.Check(SuddenJumpParams, { ...params, alpha: 0 })).toBe(false);
    expect(Value.Check(SuddenJumpParams, { ...params, quantity: 'nonsense' })).toBe(false);
    expect(Value.Check(SuddenJumpParams, { ...params, warmupSamples: 0 })).toBe(false);
  });
});
