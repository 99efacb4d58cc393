import { describe, expect, it } from 'vitest';
import { boundarySeries, deltaBetween, snapshotAt, validateIntervals, type IntervalOptions, type Snapshot } from '../../../src/billing/vee.js';

const H = 3_600_000;
const Q = 15 * 60_000;
const AT = Date.UTC(2026, 2, 10);
const snap = { toleranceMs: 60_000, maxSpanMs: 24 * H };
const vee: IntervalOptions = { maxEstimatedGapMs: 60 * 60_000, spikeFactor: 10, spikeMinDelta: 1, baselineSize: 96, rolloverAt: 1_000_000 };

/** Boundaries every 15 min from AT; null is a missing edge. */
function edges(values: readonly (number | null)[]): Snapshot[] {
  return values.map((v, i) => (v === null
    ? { ts: AT + i * Q, value: null, status: 'missing', source: null }
    : { ts: AT + i * Q, value: v, status: 'valid', source: 'register' }));
}

describe('snapshotAt', () => {
  it('takes a read within the tolerance as the value, from the profile when the meter keeps one and it lands exactly', () => {
    expect(snapshotAt({ ts: AT - 30_000, value: 50 }, { ts: AT + H, value: 60 }, AT, snap)).toEqual({ ts: AT, value: 50, status: 'valid', source: 'register' });
    expect(snapshotAt({ ts: AT, value: 50 }, { ts: AT + H, value: 60 }, AT, { ...snap, keepsProfile: true })).toEqual({ ts: AT, value: 50, status: 'valid', source: 'profile' });
  });

  it('interpolates linearly between the nearest reads on both sides', () => {
    expect(snapshotAt({ ts: AT - 3 * H, value: 100 }, { ts: AT + H, value: 104 }, AT, snap)).toEqual({ ts: AT, value: 103, status: 'valid', source: 'interpolated' });
  });

  it('is missing when one side has no read within the bound', () => {
    expect(snapshotAt({ ts: AT - 25 * H, value: 100 }, { ts: AT + H, value: 104 }, AT, snap).status).toBe('missing');
    expect(snapshotAt({ ts: AT - H, value: 100 }, undefined, AT, snap)).toEqual({ ts: AT, value: null, status: 'missing', source: null });
  });

  it('interpolates across a register rollover and wraps the result', () => {
    const s = snapshotAt({ ts: AT - H, value: 999_998 }, { ts: AT + H, value: 2 }, AT, { ...snap, rolloverAt: 1_000_000 });
    expect(s.value).toBe(0);
    expect(s.status).toBe('valid');
  });

  it('marks a value between reads that run backwards as suspect', () => {
    expect(snapshotAt({ ts: AT - H, value: 500 }, { ts: AT + H, value: 400 }, AT, { ...snap, rolloverAt: 1_000_000 }).status).toBe('suspect');
  });

  it('uses the register of the meter installed at the boundary across a replacement', () => {
    const replacements = [{ meterId: 'm', at: AT - H, oldFinal: 120, newInitial: 0 }];
    // Old meter: 100 at -3 h, 120 at its removal (-1 h); new meter: 0 at -1 h, 4 at +1 h → 2 at AT.
    expect(snapshotAt({ ts: AT - 3 * H, value: 100 }, { ts: AT + H, value: 4 }, AT, { ...snap, replacements }).value).toBe(2);
    expect(snapshotAt({ ts: AT - 3 * H, value: 100 }, { ts: AT + H, value: 4 }, AT - 2 * H, { ...snap, replacements }).value).toBe(110);
  });
});

describe('boundarySeries', () => {
  it('snapshots each quarter hour from hourly reads', () => {
    const reads = [{ ts: AT, value: 10 }, { ts: AT + H, value: 14 }];
    expect(boundarySeries(reads, AT, AT + H, Q, snap).map((s) => [s.value, s.source])).toEqual([
      [10, 'register'], [11, 'interpolated'], [12, 'interpolated'], [13, 'interpolated'], [14, 'register'],
    ]);
  });
});

describe('intervals from a load profile', () => {
  it('takes the profile entries at the quarter hours as the edges, source profile', () => {
    const reads = [0, 1, 2].map((i) => ({ ts: AT + i * Q, value: 10 + i * 0.5 }));
    const out = validateIntervals(boundarySeries(reads, AT, AT + 2 * Q, Q, { ...snap, keepsProfile: true }), vee);
    expect(out.map((v) => [v.value, v.status, v.source])).toEqual([[0.5, 'valid', 'profile'], [0.5, 'valid', 'profile']]);
  });
});

describe('deltaBetween', () => {
  it('treats a drop from near the wrap value to a small value as a rollover', () => {
    expect(deltaBetween({ ts: 0, value: 999_999.5 }, { ts: 1, value: 0.5 }, 1_000_000)).toEqual({ kind: 'ok', value: 1, flags: ['rollover'] });
  });

  it('computes across a meter replacement per meter', () => {
    const r = [{ meterId: 'm', at: 5, oldFinal: 110, newInitial: 2 }];
    expect(deltaBetween({ ts: 0, value: 100 }, { ts: 10, value: 7 }, 1_000_000, r)).toEqual({ kind: 'ok', value: 15, flags: ['replacement'] });
  });

  it('reports any other drop as negative', () => {
    expect(deltaBetween({ ts: 0, value: 100 }, { ts: 1, value: 90 }, 1_000_000)).toEqual({ kind: 'negative', value: -10 });
  });
});

describe('validateIntervals', () => {
  const project = (vs: ReturnType<typeof validateIntervals>) => vs.map((v) => [v.value, v.status, v.raw, v.flags.join(',')]);

  it('estimates a short gap linearly between the known edges', () => {
    expect(project(validateIntervals(edges([0, 1, 2, null, null, 5, 6]), vee))).toEqual([
      [1, 'valid', null, ''], [1, 'valid', null, ''],
      [1, 'estimated', null, 'gap'], [1, 'estimated', null, 'gap'], [1, 'estimated', null, 'gap'],
      [1, 'valid', null, ''],
    ]);
  });

  it('leaves a gap longer than the estimation limit missing, and edges without a known neighbour', () => {
    expect(project(validateIntervals(edges([0, null, null, null, null, 5]), vee)).map((r) => r[1])).toEqual(['missing', 'missing', 'missing', 'missing', 'missing']);
    expect(project(validateIntervals(edges([null, 1, 2, null]), vee))).toEqual([
      [null, 'missing', null, 'gap'], [1, 'valid', null, ''], [null, 'missing', null, 'gap'],
    ]);
  });

  it('flags a delta far above the recent baseline as a suspect spike, raw value kept', () => {
    const out = validateIntervals(edges([0, 1, 2, 3, 4, 5, 55, 56]), vee);
    expect(project(out).slice(4)).toEqual([[1, 'valid', null, ''], [50, 'suspect', 50, 'spike'], [1, 'valid', null, '']]);
  });

  it('replaces a lone glitched edge by the line of its neighbours, raw deltas kept beside', () => {
    expect(project(validateIntervals(edges([0, 1, 2, 3, 0.5, 5, 6]), vee)).slice(2)).toEqual([
      [1, 'valid', null, ''], [1, 'estimated', -2.5, 'glitch'], [1, 'estimated', 4.5, 'glitch'], [1, 'valid', null, ''],
    ]);
  });

  it('reports a persistent drop as a suspect negative delta', () => {
    expect(project(validateIntervals(edges([10, 11, 12, 5, 6]), vee))).toEqual([
      [1, 'valid', null, ''], [1, 'valid', null, ''], [-7, 'suspect', -7, 'negative'], [1, 'valid', null, ''],
    ]);
  });

  it('counts a register rollover as consumption, not a drop', () => {
    expect(project(validateIntervals(edges([999_998, 999_999, 0.5, 1.5]), vee))).toEqual([
      [1, 'valid', null, ''], [1.5, 'valid', null, 'rollover'], [1, 'valid', null, ''],
    ]);
  });

  it('computes the delta across a meter replacement per meter', () => {
    const replacements = [{ meterId: 'm', at: AT + 2 * Q - 1, oldFinal: 2.5, newInitial: 0 }];
    expect(project(validateIntervals(edges([1, 2, 0.25, 1.25]), { ...vee, replacements }))).toEqual([
      [1, 'valid', null, ''], [0.75, 'valid', null, 'replacement'], [1, 'valid', null, ''],
    ]);
  });
});
