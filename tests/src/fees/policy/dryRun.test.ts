import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, type PolicyState } from '../../../../src/fees/policy/decide.js';
import { dryRun, upcomingRuns } from '../../../../src/fees/policy/dryRun.js';
import { account, balance, cst, policy } from './fixtures.js';


describe('dryRun', () => {
  const china = policy();

  it('shows what the next two runs would do, each starting from the state the one before leaves', () => {
    const warned: PolicyState = { ...INITIAL_STATE, stage: 'warned-second', warnedFirstAt: cst('2025-09-24', '10:00'), warnedSecondAt: cst('2025-09-24', '10:00') };
    const runs = [cst('2025-09-26', '10:00'), cst('2025-09-25', '20:00')];
    const decisions = dryRun([
      { account: account({ id: 'due' }), balance: balance(-5_000, 'due'), state: warned },
      { account: account({ id: 'low' }), balance: balance(1_000, 'low'), state: INITIAL_STATE },
    ], runs, china, false);
    expect(decisions.map((d) => [d.accountId, d.at, d.action, d.reason, d.dryRun])).toEqual([
      ['due', cst('2025-09-25', '20:00'), 'wait', 'night', true],
      ['due', cst('2025-09-26', '10:00'), 'disconnect', 'credit-exhausted', true],
      ['low', cst('2025-09-25', '20:00'), 'warn-first', 'below-first-warning', true],
      ['low', cst('2025-09-26', '10:00'), 'none', 'first-warning-sent', true],
    ]);
  });

  it('leaves the given state untouched', () => {
    const state: PolicyState = { ...INITIAL_STATE };
    dryRun([{ account: account(), balance: balance(-5_000), state }], [cst('2025-09-26', '10:00')], china, false);
    expect(state).toEqual(INITIAL_STATE);
  });
});

describe('upcomingRuns', () => {
  it('gives tonight’s and tomorrow’s daily run on the policy’s wall clock', () => {
    expect(upcomingRuns(cst('2025-09-25', '16:00'), 22 * 60, policy())).toEqual([cst('2025-09-25', '22:00'), cst('2025-09-26', '22:00')]);
    expect(upcomingRuns(cst('2025-09-25', '22:00'), 22 * 60, policy())).toEqual([cst('2025-09-26', '22:00'), cst('2025-09-27', '22:00')]);
  });

  it('keeps the wall-clock time across a daylight-saving change', () => {
    const berlin = policy({ timeZone: 'Europe/Berlin' });
    // 22:00 CET on 03-29 is 21:00 UTC; 22:00 CEST on 03-30 is 20:00 UTC.
    expect(upcomingRuns(Date.parse('2025-03-29T12:00:00Z'), 22 * 60, berlin)).toEqual([Date.parse('2025-03-29T21:00:00Z'), Date.parse('2025-03-30T20:00:00Z')]);
    expect(upcomingRuns(Date.parse('2025-10-25T12:00:00Z'), 22 * 60, berlin)).toEqual([Date.parse('2025-10-25T20:00:00Z'), Date.parse('2025-10-26T21:00:00Z')]);
    expect(upcomingRuns(Date.parse('2025-10-25T12:00:00Z'), 1 * 60, berlin)[0]).toBe(Date.parse('2025-10-25T23:00:00Z'));
  });
});
