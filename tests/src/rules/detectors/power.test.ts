import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import {
  LowPowerFactorParams,
  PowerOverLimitParams,
  ReversePowerParams,
  detectLowPowerFactor,
  detectPowerOverLimit,
  detectReversePower,
  initialCondition,
  type Snapshot,
} from '../../../../src/rules/detectors/index.js';
import { MIN, drive, series, timeline } from './drive.js';

describe('power over limit', () => {
  const params = Value.Default(PowerOverLimitParams, { limitKw: 100, hysteresisKw: 5, forMs: 5 * MIN, clearForMs: 2 * MIN }) as PowerOverLimitParams;
  const run = (kw: number[]) => drive((s, v: number, now) => detectPowerOverLimit(s, v, params, now), initialCondition(), series(0, MIN, kw));

  it('raises only after the load has stayed over the limit for the duration', () => {
    expect(run([120, 120, 120, 120, 120]).events).toEqual([]);
    expect(timeline(run([120, 120, 120, 120, 120, 125]).events)).toEqual(['raise@5']);
  });

  it('raises once and clears once while the load flaps around the limit', () => {
    const r = run([101, 104, 102, 103, 101, 110, 99, 101, 97, 102, 96, 101, 94, 94, 94, 101, 101]);
    expect(timeline(r.events)).toEqual(['raise@5', 'clear@14']);
  });

  it('explains the raise with the load, the limit and the excess', () => {
    const r = run([120, 120, 120, 120, 120, 125.44]);
    expect(r.events[0]?.explanation).toBe('power 125.4 kW is over the limit 100.0 kW (25% over) for 5 min (since 02:00:00Z)');
    expect(r.events[0]?.value).toBe(125.44);
  });

  it('explains the clear with the clear threshold', () => {
    const r = run([120, 120, 120, 120, 120, 120, 90, 90, 88]);
    expect(r.events[1]?.explanation).toBe('power 88.0 kW is back under 95.0 kW (limit 100.0 kW) for 2 min (since 02:06:00Z); raised 02:05:00Z');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(PowerOverLimitParams, params)).toBe(true);
    expect(Value.Check(PowerOverLimitParams, { ...params, limitKw: 0 })).toBe(false);
    expect(Value.Check(PowerOverLimitParams, { ...params, hysteresisKw: -1 })).toBe(false);
    expect(Value.Check(PowerOverLimitParams, { ...params, forMs: 1.5 })).toBe(false);
    expect(Value.Check(PowerOverLimitParams, { ...params, limit: 3 })).toBe(false);
  });
});

describe('reverse power', () => {
  const params: ReversePowerParams = { thresholdKw: 0.5, hysteresisKw: 0.2, forMs: 2 * MIN, clearForMs: 2 * MIN };
  const run = (kw: number[]) => drive((s, v: number, now) => detectReversePower(s, v, params, now), initialCondition(), series(0, MIN, kw));

  it('raises after the duration of export beyond the threshold, once despite flapping, and clears', () => {
    expect(run([-1, -1]).events).toEqual([]);
    const r = run([-1, -1, -1, -0.4, -0.6, -0.4, 0.2, 0.3, 0.4]);
    expect(timeline(r.events)).toEqual(['raise@2', 'clear@8']);
    expect(r.events[0]?.explanation).toBe('reverse power: 1.00 kW flowing out (power -1.00 kW, limit -0.50 kW) for 2 min (since 02:00:00Z)');
    expect(r.events[1]?.explanation).toContain('reverse power ended: power 0.40 kW (clears at or above -0.30 kW)');
  });

  it('rejects a non-positive threshold', () => {
    expect(Value.Check(ReversePowerParams, params)).toBe(true);
    expect(Value.Check(ReversePowerParams, { ...params, thresholdKw: -0.5 })).toBe(false);
  });
});

describe('low power factor', () => {
  const params = Value.Default(LowPowerFactorParams, { minPowerFactor: 0.85, minLoadKw: 10, forMs: 10 * MIN, clearForMs: 5 * MIN }) as LowPowerFactorParams;
  const pf = (f: number, kw = 50): Snapshot => ({ 'power.factor': f, 'power.active': kw });
  const run = (seq: Snapshot[]) => drive((s, v: Snapshot, now) => detectLowPowerFactor(s, v, params, now), initialCondition(), series(0, 5 * MIN, seq));

  it('raises after the duration under load, once despite flapping within the band, and explains it', () => {
    expect(run([pf(0.7), pf(0.7)]).events).toEqual([]);
    const r = run([pf(0.7), pf(0.8), pf(-0.72), pf(0.86), pf(0.8), pf(0.9), pf(0.9), pf(0.95)]);
    expect(timeline(r.events)).toEqual(['raise@10', 'clear@30']);
    expect(r.events[0]?.explanation).toBe('power factor 0.72 is below the limit 0.85 at 50.0 kW for 10 min (since 02:00:00Z)');
  });

  it('does not judge the power factor under the minimum load', () => {
    expect(run([pf(0.3, 2), pf(0.3, 2), pf(0.3, 2), pf(0.3, 2)]).events).toEqual([]);
    const r = run([pf(0.5), pf(0.5), pf(0.5), pf(0.5, 1), pf(0.5, 1)]);
    expect(timeline(r.events)).toEqual(['raise@10', 'clear@20']);
    expect(r.events[1]?.explanation).toContain('load 1.00 kW is under the minimum 10.0 kW');
  });

  it('waits when a quantity is missing', () => {
    expect(run([{ 'power.factor': 0.1 }, { 'power.factor': 0.1 }, { 'power.factor': 0.1 }, { 'power.factor': 0.1 }]).state.phase).toBe('idle');
  });

  it('rejects a power factor limit outside 0..1', () => {
    expect(Value.Check(LowPowerFactorParams, params)).toBe(true);
    expect(Value.Check(LowPowerFactorParams, { ...params, minPowerFactor: 1.2 })).toBe(false);
  });
});
