import { describe, expect, it } from 'vitest';
import {
  initialCondition,
  isRaised,
  levelAbove,
  step,
  type ConditionState,
  type Level,
} from '../../../../src/rules/detectors/condition.js';
import { say } from '../../../../src/rules/explanation.js';
import { MIN, SEC, T0, drive, series, timeline } from './drive.js';

const timing = { forMs: 5 * MIN, clearForMs: 3 * MIN };
const obs = (level: Level, value = 0) => ({ level, value, describe: (k: string) => say('test')`test ${k} ${String(value)}` });
const byLevel = (s: ConditionState, level: Level, now: number) => step(s, obs(level), now, timing);
/** A value against limit 100 with a 10-unit clear band. */
const byValue = (s: ConditionState, v: number, now: number) =>
  step(s, { level: levelAbove(v, 100, 10), value: v, describe: (k) => say('test')`value ${String(v)} ${k}` }, now, timing);

describe('condition state machine', () => {
  it('raises only once the condition has held for forMs, not before', () => {
    const early = drive(byLevel, initialCondition(), series<Level>(0, MIN, ['breach', 'breach', 'breach', 'breach', 'breach']));
    expect(early.events).toEqual([]);
    expect(early.state.phase).toBe('pending');
    const r = drive(byLevel, initialCondition(), series<Level>(0, MIN, ['breach', 'breach', 'breach', 'breach', 'breach', 'breach']));
    expect(timeline(r.events)).toEqual(['raise@5']);
    expect(r.events[0]?.since).toBe(T0);
    expect(isRaised(r.state)).toBe(true);
  });

  it('restarts the wait when the condition is interrupted before raising', () => {
    const r = drive(byLevel, initialCondition(), series<Level>(0, MIN, ['breach', 'breach', 'breach', 'breach', 'hold', 'breach', 'breach']));
    expect(r.events).toEqual([]);
    expect(r.state).toMatchObject({ phase: 'pending', since: T0 + 5 * MIN });
  });

  it('raises once and clears once while a value flaps around the limit', () => {
    // Above 100 breaches, at or below 90 is normal; 95..105 flapping stays in alarm.
    const values = [101, 102, 103, 104, 105, 106, 95, 105, 96, 104, 95, 101, 85, 95, 85, 84, 83, 82, 81];
    const r = drive(byValue, initialCondition(), series(0, MIN, values));
    expect(timeline(r.events)).toEqual(['raise@5', 'clear@17']);
  });

  it('clears only after clearForMs of normal, and a relapse resets the clear wait', () => {
    const seq = series<Level>(0, MIN, ['breach', 'breach', 'breach', 'breach', 'breach', 'breach', 'normal', 'normal', 'hold', 'normal', 'normal', 'normal']);
    const before = drive(byLevel, initialCondition(), seq);
    expect(timeline(before.events)).toEqual(['raise@5']);
    expect(before.state.phase).toBe('clearing');
    const after = drive(byLevel, initialCondition(), [...seq, [12 * MIN, 'normal']]);
    expect(timeline(after.events)).toEqual(['raise@5', 'clear@12']);
    expect(after.events[1]?.since).toBe(T0 + 9 * MIN);
    expect(after.state).toMatchObject({ phase: 'idle', raisedAt: null, since: null });
  });

  it('raises on the first breach when forMs is 0 and clears on the first normal when clearForMs is 0', () => {
    const zero = { forMs: 0, clearForMs: 0 };
    const a = step(initialCondition(), obs('breach', 7), T0, zero);
    expect(a.event).toMatchObject({ kind: 'raise', at: T0, since: T0, value: 7, explanation: 'test raise 7' });
    const b = step(a.state, obs('normal', 1), T0 + SEC, zero);
    expect(b.event).toMatchObject({ kind: 'clear', at: T0 + SEC, explanation: `test clear 1; raised 02:00:00Z` });
  });

  it('leaves the state untouched on unknown observations and on observations older than the last', () => {
    const a = byLevel(initialCondition(), 'breach', T0 + 10 * MIN);
    expect(byLevel(a.state, 'unknown', T0 + 20 * MIN).state).toBe(a.state);
    expect(byLevel(a.state, 'normal', T0).state).toBe(a.state);
  });

  it('explains how long the condition held and since when', () => {
    const r = drive(byValue, initialCondition(), series(0, 150 * SEC, [120, 120, 120]));
    expect(r.events[0]?.explanation).toBe('value 120 raise for 5 min (since 02:00:00Z)');
  });
});
