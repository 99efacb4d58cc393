import { describe, expect, it } from 'vitest';
import { CurrencyMismatchError, INITIAL_STATE, decide, formatMoney, type PolicyState } from '../../../../src/fees/policy/decide.js';
import { account, balance, cst, policy } from './fixtures.js';

const H = 3_600_000;
const china = policy({ holidays: ['2025-10-01'], minHoursAfterLastWarning: 24 });
/** A Thursday, inside the window. */
const THU_10 = cst('2025-09-25', '10:00');
const warnedSecond = (at: number): PolicyState => ({ ...INITIAL_STATE, stage: 'warned-second', warnedFirstAt: at, warnedSecondAt: at });

describe('decide', () => {
  it('does nothing above the warning thresholds', () => {
    const { decision, next } = decide(account(), balance(5_000), INITIAL_STATE, THU_10, china, false);
    expect(decision).toMatchObject({ action: 'none', reason: 'balance-ok', balanceMinor: 5_000, accountId: 'acc-1', at: THU_10 });
    expect(decision.message).toBe('The balance 50.00 CNY is above the warning thresholds.');
    expect(next).toEqual(INITIAL_STATE);
  });

  it('sends the first warning once at the first threshold, then waits', () => {
    const first = decide(account(), balance(2_000), INITIAL_STATE, THU_10, china, false);
    expect(first.decision).toMatchObject({ action: 'warn-first', reason: 'below-first-warning' });
    expect(first.next).toEqual({ ...INITIAL_STATE, stage: 'warned-first', warnedFirstAt: THU_10 });
    const again = decide(account(), balance(1_500), first.next, THU_10 + H, china, false);
    expect(again.decision).toMatchObject({ action: 'none', reason: 'first-warning-sent' });
    expect(again.next.warnedFirstAt).toBe(THU_10);
  });

  it('sends the second warning once at the second threshold', () => {
    const warnedFirst: PolicyState = { ...INITIAL_STATE, stage: 'warned-first', warnedFirstAt: THU_10 };
    const second = decide(account(), balance(400), warnedFirst, THU_10 + H, china, false);
    expect(second.decision).toMatchObject({ action: 'warn-second', reason: 'below-second-warning' });
    expect(second.next).toEqual({ ...INITIAL_STATE, stage: 'warned-second', warnedFirstAt: THU_10, warnedSecondAt: THU_10 + H });
    expect(decide(account(), balance(100), second.next, THU_10 + 2 * H, china, false).decision).toMatchObject({ action: 'none', reason: 'second-warning-sent' });
  });

  it('sends only the second warning on a fall straight past both thresholds', () => {
    const { decision, next } = decide(account(), balance(0), INITIAL_STATE, THU_10, china, false);
    expect(decision.action).toBe('warn-second');
    expect(next).toMatchObject({ warnedFirstAt: THU_10, warnedSecondAt: THU_10 });
  });

  it('re-arms a warning only when the balance rises back above its threshold', () => {
    const s = warnedSecond(THU_10);
    // Above the second threshold but below the first: the second re-arms, the first does not.
    const mid = decide(account(), balance(1_000), s, THU_10 + H, china, false);
    expect(mid.decision).toMatchObject({ action: 'none', reason: 'first-warning-sent' });
    expect(mid.next).toMatchObject({ stage: 'warned-first', warnedFirstAt: THU_10, warnedSecondAt: null });
    expect(decide(account(), balance(500), mid.next, THU_10 + 2 * H, china, false).decision.action).toBe('warn-second');
    // Back above both, then down again: warned again from the start.
    const up = decide(account(), balance(2_001), s, THU_10 + H, china, false);
    expect(up.next).toMatchObject({ stage: 'normal', warnedFirstAt: null, warnedSecondAt: null });
    expect(decide(account(), balance(1_999), up.next, THU_10 + 2 * H, china, false).decision.action).toBe('warn-first');
  });

  it('gives the final warning when the credit is used up without one', () => {
    const warnedFirst: PolicyState = { ...INITIAL_STATE, stage: 'warned-first', warnedFirstAt: THU_10 - 48 * H };
    const { decision } = decide(account(), balance(-1_000), warnedFirst, THU_10, china, false);
    expect(decision).toMatchObject({ action: 'warn-second', reason: 'credit-exhausted' });
  });

  it('disconnects at balance ≤ −credit limit inside the window, 24 h after the last warning', () => {
    const { decision, next } = decide(account(), balance(-1_000), warnedSecond(THU_10 - 24 * H), THU_10, china, false);
    expect(decision).toMatchObject({ action: 'disconnect', reason: 'credit-exhausted' });
    expect(decision.message).toBe('The balance -10.00 CNY has used up the credit limit 10.00 CNY: disconnect.');
    expect(next).toMatchObject({ stage: 'disconnected', disconnectedAt: THU_10 });
  });

  it('does not disconnect above the credit limit', () => {
    expect(decide(account(), balance(-999), warnedSecond(THU_10 - 48 * H), THU_10, china, false).decision).toMatchObject({ action: 'none', reason: 'second-warning-sent' });
  });

  it('never disconnects a protected account', () => {
    const { decision, next } = decide(account({ protected: true }), balance(-50_000), warnedSecond(THU_10 - 48 * H), THU_10, china, false);
    expect(decision).toMatchObject({ action: 'none', reason: 'protected' });
    expect(next.stage).toBe('warned-second');
  });

  it('waits during an emergency, with no window to promise', () => {
    const { decision, next } = decide(account(), balance(-2_000), warnedSecond(THU_10 - 48 * H), THU_10, china, true);
    expect(decision).toMatchObject({ action: 'wait', reason: 'emergency' });
    expect(decision.nextWindowAt).toBeUndefined();
    expect(next.stage).toBe('disconnect-pending');
  });

  it('waits until N hours after the last warning, then for the window after that', () => {
    // Warned Thursday 15:00; 24 h later is Friday 15:00, inside the window.
    const { decision } = decide(account(), balance(-2_000), warnedSecond(cst('2025-09-25', '15:00')), cst('2025-09-25', '16:00'), china, false);
    expect(decision).toMatchObject({ action: 'wait', reason: 'warning-too-recent', nextWindowAt: cst('2025-09-26', '15:00') });
    // Warned Friday 16:30; 24 h later is Saturday → Monday 08:00.
    const late = decide(account(), balance(-2_000), warnedSecond(cst('2025-09-26', '16:30')), cst('2025-09-26', '16:45'), china, false);
    expect(late.decision).toMatchObject({ action: 'wait', reason: 'warning-too-recent', nextWindowAt: cst('2025-09-29', '08:00') });
  });

  it('waits over the night, the weekend and a holiday, naming each', () => {
    const s = warnedSecond(THU_10 - 72 * H);
    const night = decide(account(), balance(-2_000), s, cst('2025-09-25', '20:00'), china, false).decision;
    expect(night).toMatchObject({ action: 'wait', reason: 'night', nextWindowAt: cst('2025-09-26', '08:00') });
    expect(decide(account(), balance(-2_000), s, cst('2025-09-25', '20:00'), china, false).next).toMatchObject({
      stage: 'disconnect-pending', disconnectDueAt: cst('2025-09-25', '20:00'), nextWindowAt: cst('2025-09-26', '08:00'),
    });
    // Due since an earlier run: the time it became due is kept.
    expect(decide(account(), balance(-2_000), { ...s, disconnectDueAt: THU_10 }, cst('2025-09-25', '20:00'), china, false).next.disconnectDueAt).toBe(THU_10);
    // Paid above the limit: no longer due.
    expect(decide(account(), balance(-999), { ...s, disconnectDueAt: THU_10 }, cst('2025-09-25', '20:00'), china, false).next).toMatchObject({ disconnectDueAt: null, nextWindowAt: null });
    expect(night.message).toBe('Disconnection is due but waits: no disconnection during the forbidden hours; next allowed at 2025-09-26T00:00:00.000Z.');
    expect(decide(account(), balance(-2_000), s, cst('2025-09-27', '10:00'), china, false).decision).toMatchObject({ action: 'wait', reason: 'weekend', nextWindowAt: cst('2025-09-29', '08:00') });
    expect(decide(account(), balance(-2_000), s, cst('2025-10-01', '10:00'), china, false).decision).toMatchObject({ action: 'wait', reason: 'holiday', nextWindowAt: cst('2025-10-02', '08:00') });
  });

  it('waits with no-window when the calendar allows nothing within its horizon', () => {
    const closed = policy({ weekendDays: [1, 2, 3, 4, 5, 6, 7], searchHorizonDays: 10 });
    const { decision } = decide(account(), balance(-2_000), warnedSecond(THU_10 - 48 * H), THU_10, closed, false);
    expect(decision).toMatchObject({ action: 'wait', reason: 'no-window' });
    expect(decision.nextWindowAt).toBeUndefined();
  });

  it('reconnects a disconnected account once paid up to the threshold', () => {
    const off: PolicyState = { ...warnedSecond(THU_10 - 48 * H), stage: 'disconnected', disconnectedAt: THU_10 - 24 * H };
    expect(decide(account(), balance(-1), off, THU_10, china, false).decision).toMatchObject({ action: 'none', reason: 'below-reconnect-threshold' });
    const paid = decide(account(), balance(0), off, THU_10, china, false);
    expect(paid.decision).toMatchObject({ action: 'reconnect', reason: 'paid' });
    expect(paid.next.stage).toBe('reconnecting');
    // Reconnection is not held back by the night: windows are for disconnection only.
    expect(decide(account(), balance(0), off, cst('2025-09-27', '23:00'), china, false).decision.action).toBe('reconnect');
  });

  it('reconnects an account that became protected while disconnected', () => {
    const off: PolicyState = { ...warnedSecond(THU_10 - 48 * H), stage: 'disconnected' };
    expect(decide(account({ protected: true }), balance(-5_000), off, THU_10, china, false).decision).toMatchObject({ action: 'reconnect', reason: 'protected-reconnect' });
  });

  it('leaves a reconnection under way alone', () => {
    const on: PolicyState = { ...warnedSecond(THU_10 - 48 * H), stage: 'reconnecting' };
    const { decision, next } = decide(account(), balance(100), on, THU_10, china, false);
    expect(decision).toMatchObject({ action: 'none', reason: 'reconnect-under-way' });
    expect(next).toEqual(on);
  });

  it('refuses a balance in another currency', () => {
    expect(() => decide(account(), balance(0, 'acc-1', 'EUR'), INITIAL_STATE, THU_10, china, false)).toThrow(CurrencyMismatchError);
  });
});

describe('formatMoney', () => {
  it('writes minor units with the currency’s own decimals', () => {
    expect(formatMoney(-1_234, 'CNY')).toBe('-12.34 CNY');
    expect(formatMoney(5, 'EUR')).toBe('0.05 EUR');
    expect(formatMoney(1_234, 'JPY')).toBe('1234 JPY');
    expect(formatMoney(1_234, 'KWD')).toBe('1.234 KWD');
  });
});
