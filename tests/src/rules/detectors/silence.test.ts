import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import {
  CommunicationLossParams,
  checkSilence,
  detectCommunicationLoss,
  initialCondition,
} from '../../../../src/rules/detectors/index.js';
import { MIN, T0, drive, timeline } from './drive.js';

describe('checkSilence', () => {
  it('is silent once the given number of expected intervals has passed without data', () => {
    expect(checkSilence(T0, T0 + 44 * MIN, 15 * MIN, 3)).toEqual({ silent: false, missed: 2, silentForMs: 44 * MIN });
    expect(checkSilence(T0, T0 + 45 * MIN, 15 * MIN, 3)).toEqual({ silent: true, missed: 3, silentForMs: 45 * MIN });
  });

  it('treats a last-seen time in the future as just seen', () => {
    expect(checkSilence(T0 + MIN, T0, 15 * MIN, 1)).toEqual({ silent: false, missed: 0, silentForMs: 0 });
  });
});

describe('communication loss', () => {
  const params: CommunicationLossParams = { expectedIntervalMs: 15 * MIN, missedIntervals: 3, clearForMs: 0 };
  /** Each step is [now offset, last-seen offset]. */
  const run = (seq: [number, number][]) =>
    drive((s, lastSeen: number, now) => detectCommunicationLoss(s, T0 + lastSeen, params, now), initialCondition(), seq.map(([n, l]) => [n * MIN, l * MIN] as const));

  it('raises once when the meter falls silent, explains it, and clears when data arrives', () => {
    const r = run([[10, 0], [30, 0], [44, 0], [47, 0], [60, 0], [75, 0], [76, 76], [90, 76]]);
    expect(timeline(r.events)).toEqual(['raise@47', 'clear@76']);
    expect(r.events[0]?.explanation).toBe('communication loss: no data for 47 min (last reading 02:00:00Z; expected every 15 min, 3 intervals missed, limit 3)');
    expect(r.events[1]?.explanation).toBe('communication restored: data received 03:16:00Z; raised 02:47:00Z');
  });

  it('rejects bad parameters', () => {
    expect(Value.Check(CommunicationLossParams, params)).toBe(true);
    expect(Value.Check(CommunicationLossParams, { ...params, missedIntervals: 0 })).toBe(false);
    expect(Value.Check(CommunicationLossParams, { ...params, expectedIntervalMs: 10 })).toBe(false);
  });
});
