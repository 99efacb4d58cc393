import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import {
  RegisterBackwardsParams,
  RegisterStuckParams,
  ZeroConsumptionParams,
  detectRegisterBackwards,
  detectRegisterStuck,
  detectZeroConsumption,
  initialRegisterState,
  type Snapshot,
} from '../../../../src/rules/detectors/index.js';
import { HOUR, MIN, drive, series, timeline } from './drive.js';

describe('zero consumption while voltage is present', () => {
  const params = Value.Default(ZeroConsumptionParams, { windowMs: 2 * HOUR, minVoltageV: 180, toleranceKwh: 0.01 }) as ZeroConsumptionParams;
  const at = (kwh: number, volts = 230): Snapshot => ({ 'energy.active.import': kwh, 'voltage.l1': volts });
  const run = (seq: Snapshot[]) =>
    drive((s, values: Snapshot, now) => detectZeroConsumption(s, values, params, now), initialRegisterState(), series(0, 30 * MIN, seq));

  it('raises only once the register has stayed unchanged for the whole window, and explains it', () => {
    expect(run([at(1234.5), at(1234.5), at(1234.5), at(1234.505)]).events).toEqual([]);
    const r = run([at(1234.5), at(1234.5), at(1234.5), at(1234.505), at(1234.5)]);
    expect(timeline(r.events)).toEqual(['raise@120']);
    expect(r.events[0]?.explanation).toBe('zero consumption: energy.active.import unchanged at 1234.50 kWh for 2 h (since 02:00:00Z) while voltage present (L1 230.0 V)');
  });

  it('restarts the window from the last reading without voltage', () => {
    const r = run([at(10), at(10), at(10, 0), at(10), at(10), at(10), at(10), at(10)]);
    expect(timeline(r.events)).toEqual(['raise@180']);
  });

  it('clears when the register advances, once, however often the reading repeats', () => {
    const r = run([at(10), at(10), at(10), at(10), at(10), at(10), at(10.5), at(10.5), at(10.5)]);
    expect(timeline(r.events)).toEqual(['raise@120', 'clear@180']);
    expect(r.events[1]?.explanation).toBe('consumption resumed: energy.active.import now 10.50 kWh; raised 04:00:00Z');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(ZeroConsumptionParams, params)).toBe(true);
    expect(Value.Check(ZeroConsumptionParams, { ...params, register: 'power.active' })).toBe(false);
    expect(Value.Check(ZeroConsumptionParams, { ...params, windowMs: 1000 })).toBe(false);
    expect(Value.Check(ZeroConsumptionParams, { ...params, forMs: 0 })).toBe(false);
  });
});

describe('register stuck while power flows', () => {
  const params = Value.Default(RegisterStuckParams, { windowMs: HOUR, minPowerKw: 1, clearForMs: 15 * MIN }) as RegisterStuckParams;
  const at = (kwh: number, kw: number): Snapshot => ({ 'energy.active.import': kwh, 'power.active': kw });
  const run = (seq: Snapshot[]) =>
    drive((s, values: Snapshot, now) => detectRegisterStuck(s, values, params, now), initialRegisterState(), series(0, 15 * MIN, seq));

  it('raises after the window of power without an advance, and clears after the register has moved for the clear duration', () => {
    expect(run([at(500, 3.2), at(500, 3.2), at(500, 3.2), at(500, 3.2)]).events).toEqual([]);
    const r = run([at(500, 3.2), at(500, 3.2), at(500, 3.2), at(500, 3.2), at(500, 3.2), at(501, 3.2), at(501.8, 3.2)]);
    expect(timeline(r.events)).toEqual(['raise@60', 'clear@90']);
    expect(r.events[0]?.explanation).toBe('register stuck: energy.active.import unchanged at 500.00 kWh for 1 h (since 02:00:00Z) while power is 3.20 kW');
  });

  it('raises once and clears once while the register alternates between a step and a stall', () => {
    const r = run([at(500, 3), at(500, 3), at(500, 3), at(500, 3), at(500, 3), at(501, 3), at(501, 3), at(502, 3), at(503, 3)]);
    expect(timeline(r.events)).toEqual(['raise@60', 'clear@120']);
    expect(r.events[1]?.explanation).toBe('register moving again: energy.active.import now 503.00 kWh for 15 min (since 03:45:00Z); raised 03:00:00Z');
  });

  it('does not call a register stuck when there is no load', () => {
    expect(run(Array.from({ length: 10 }, () => at(500, 0.2))).events).toEqual([]);
  });

  it('rejects a missing power threshold', () => {
    expect(Value.Check(RegisterStuckParams, params)).toBe(true);
    const { minPowerKw: _drop, ...rest } = params;
    expect(Value.Check(RegisterStuckParams, rest)).toBe(false);
  });
});

describe('register going backwards', () => {
  const params: RegisterBackwardsParams = { register: 'energy.active.import', toleranceKwh: 0.01, clearForMs: 30 * MIN };
  const run = (seq: number[]) =>
    drive((s, kwh: number, now) => detectRegisterBackwards(s, kwh, params, now), initialRegisterState(), series(0, 15 * MIN, seq));

  it('raises on the reading that goes backwards beyond the tolerance, and explains it', () => {
    expect(run([100, 100.5, 100.495, 101]).events).toEqual([]);
    const r = run([100, 100.5, 98.25]);
    expect(timeline(r.events)).toEqual(['raise@30']);
    expect(r.events[0]?.explanation).toBe('energy.active.import went backwards from 100.50 kWh to 98.25 kWh (-2.25 kWh, tolerance 0.01 kWh)');
  });

  it('raises once for repeated decreases and clears after the register has kept from decreasing', () => {
    const r = run([100, 99, 98, 98.5, 98.4, 98.6, 98.7, 98.8]);
    expect(timeline(r.events)).toEqual(['raise@15', 'clear@105']);
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(RegisterBackwardsParams, params)).toBe(true);
    expect(Value.Check(RegisterBackwardsParams, { ...params, toleranceKwh: -1 })).toBe(false);
  });
});
