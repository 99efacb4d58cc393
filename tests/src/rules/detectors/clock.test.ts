import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { ClockDriftParams, detectClockDrift, initialCondition } from '../../../../src/rules/detectors/index.js';
import { HOUR, drive, series, timeline } from './drive.js';

describe('clock drift', () => {
  const params: ClockDriftParams = { maxDriftS: 300, hysteresisS: 30, forMs: 2 * HOUR, clearForMs: HOUR };
  const run = (drift: number[]) => drive((s, v: number, now) => detectClockDrift(s, v, params, now), initialCondition(), series(0, HOUR, drift));

  it('raises after the duration whichever way the clock drifts, and explains it', () => {
    expect(run([312, 315]).events).toEqual([]);
    const ahead = run([312, 315, 320]);
    expect(timeline(ahead.events)).toEqual(['raise@120']);
    expect(ahead.events[0]?.explanation).toBe('meter clock 320 s (5 min 20 s) ahead of station time (limit 300 s) for 2 h (since 02:00:00Z)');
    expect(run([-400, -400, -400]).events[0]?.explanation).toContain('meter clock 400 s (6 min 40 s) behind station time');
  });

  it('raises once and clears once while the drift hovers at the limit', () => {
    const r = run([301, 301, 301, 290, 302, 280, 310, 260, 2, 1]);
    expect(timeline(r.events)).toEqual(['raise@120', 'clear@480']);
    expect(r.events[1]?.explanation).toContain('meter clock back within 270 s of station time (2 s ahead of)');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(ClockDriftParams, params)).toBe(true);
    expect(Value.Check(ClockDriftParams, { ...params, maxDriftS: 0 })).toBe(false);
  });
});
