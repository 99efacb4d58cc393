import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { LoadControlProgram, type LoadControlProgramConfig } from '../../../../src/config/schema.js';
import { floatingLimit, monthOf, targetAt } from '../../../../src/rules/loadControl/limits.js';

const program = (over: Partial<LoadControlProgramConfig>): LoadControlProgramConfig =>
  Value.Default(LoadControlProgram, { id: 'p', kind: 'period', meters: ['m1'], rounds: [{ afterMs: 0, action: 'disconnect', meters: ['m1'] }], ...over }) as LoadControlProgramConfig;

/** 2024-06-12 is a Wednesday. UTC+8 station: local 08:00 is 00:00 UTC. */
const UTC8 = 480;
const localUtc8 = (day: number, h: number, m = 0) => Date.UTC(2024, 5, day, h, m) - UTC8 * 60_000;

describe('period power control limit', () => {
  const p = program({ kind: 'period', periods: [{ from: '08:00', to: '12:00', limitKw: 100 }, { from: '22:00', to: '06:00', limitKw: 40 }] });

  it('applies the period the station-local time falls in, its start inclusive and its end exclusive', () => {
    expect(targetAt(p, localUtc8(12, 7, 59), UTC8).limit).toBeUndefined();
    expect(targetAt(p, localUtc8(12, 8, 0), UTC8)).toMatchObject({ limit: 100, unit: 'kW', basis: 'period 08:00–12:00' });
    expect(targetAt(p, localUtc8(12, 11, 59), UTC8).limit).toBe(100);
    expect(targetAt(p, localUtc8(12, 12, 0), UTC8).limit).toBeUndefined();
  });

  it('wraps a period across midnight', () => {
    expect(targetAt(p, localUtc8(12, 23, 30), UTC8).limit).toBe(40);
    expect(targetAt(p, localUtc8(13, 5, 59), UTC8).limit).toBe(40);
    expect(targetAt(p, localUtc8(13, 6, 0), UTC8).limit).toBeUndefined();
  });

  it('uses station time, not UTC: 08:30 local at UTC+8 is 00:30 UTC', () => {
    const t = Date.UTC(2024, 5, 12, 0, 30);
    expect(targetAt(p, t, UTC8).limit).toBe(100);
    expect(targetAt(p, t, 0).limit).toBe(40);
  });
});

describe('rest-day control limit', () => {
  const p = program({ kind: 'rest-day', weekdays: [0, 6], limitKw: 20 });
  it('limits on the configured local weekdays only', () => {
    expect(targetAt(p, localUtc8(15, 0, 0), UTC8)).toMatchObject({ limit: 20, basis: 'rest day (Saturday)' });
    expect(targetAt(p, localUtc8(16, 23, 59), UTC8).limit).toBe(20);
    expect(targetAt(p, localUtc8(17, 0, 0), UTC8).limit).toBeUndefined();
  });
});

describe('suspension control limit', () => {
  it('holds ~0 kW from the first to the last day inclusive, local dates', () => {
    const p = program({ kind: 'suspension', from: '2024-06-10', to: '2024-06-12' });
    expect(targetAt(p, localUtc8(9, 23, 59), UTC8).limit).toBeUndefined();
    expect(targetAt(p, localUtc8(10, 0, 0), UTC8).limit).toBe(0);
    expect(targetAt(p, localUtc8(12, 23, 59), UTC8).limit).toBe(0);
    expect(targetAt(p, localUtc8(13, 0, 0), UTC8).limit).toBeUndefined();
  });
});

describe('floating-down control limit', () => {
  it('averages the window before arming and lowers it by k %', () => {
    const armedAt = 1_000_000;
    const samples = [
      { t: armedAt - 120_000, kw: 999 }, // before the window
      { t: armedAt - 60_000, kw: 100 },
      { t: armedAt - 30_000, kw: 120 },
      { t: armedAt, kw: 140 },
      { t: armedAt + 1_000, kw: 999 }, // after arming
    ];
    expect(floatingLimit(samples, armedAt, 60_000, 20)).toBeCloseTo(96);
    expect(floatingLimit([], armedAt, 60_000, 20)).toBeNull();
  });

  it('applies the fixed limit for the span from arming and none after it', () => {
    const p = program({ kind: 'floating-down', windowMs: 60_000, percent: 20, durationMs: 3_600_000 });
    const floating = { armedAt: 1_000_000, limitKw: 96 };
    expect(targetAt(p, 1_000_000, 0, { floating }).limit).toBe(96);
    expect(targetAt(p, 1_000_000 + 3_599_999, 0, { floating }).limit).toBe(96);
    expect(targetAt(p, 1_000_000 + 3_600_000, 0, { floating }).limit).toBeUndefined();
    expect(targetAt(p, 1_000_000, 0, { floating: null }).limit).toBeUndefined();
  });
});

describe('monthly energy control', () => {
  it('budgets in kWh with the alarm at the warning share', () => {
    const p = program({ kind: 'monthly-energy', budgetKwh: 5000, warnShare: 0.9 });
    expect(targetAt(p, 0, 0)).toMatchObject({ limit: 5000, warnAt: 4500, unit: 'kWh' });
    expect(targetAt(program({ kind: 'monthly-energy', budgetKwh: 1000 }), 0, 0).warnAt).toBe(800);
  });

  it('names the station-local month', () => {
    expect(monthOf(Date.UTC(2024, 5, 30, 16, 0), UTC8)).toBe('2024-07');
    expect(monthOf(Date.UTC(2024, 5, 30, 15, 59), UTC8)).toBe('2024-06');
  });
});
