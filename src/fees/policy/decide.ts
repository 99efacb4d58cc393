/**
 * The warning and disconnection policy, a pure function of one account's balance and where fee
 * control stands with it: what to do now, why, and where it stands afterwards. The runner acts
 * on the decision (notify, command) and records it; nothing here has effects.
 */
import type { Balance, FeeAccount, FeeControlStage, FeeControlState, FeeDecision } from '../model.js';
import { DisconnectionCalendar, NoDisconnectionWindowError, type ClosedReason } from './calendar.js';
import type { FeePolicyConfig } from '../../config/feePolicy.js';

/** Where fee control stands with one account, between runs: the part of the stored state the policy reads and writes. */
export type PolicyState = Pick<FeeControlState, 'stage' | 'warnedFirstAt' | 'warnedSecondAt' | 'disconnectDueAt' | 'nextWindowAt' | 'disconnectedAt'>;

export const INITIAL_STATE: PolicyState = { stage: 'normal', warnedFirstAt: null, warnedSecondAt: null, disconnectDueAt: null, nextWindowAt: null, disconnectedAt: null };

/** Every machine reason a decision can carry. */
export type DecisionReason =
  | 'balance-ok'
  | 'below-first-warning'
  | 'below-second-warning'
  | 'first-warning-sent'
  | 'second-warning-sent'
  | 'credit-exhausted'
  | 'protected'
  | 'emergency'
  | 'warning-too-recent'
  | ClosedReason
  | 'no-window'
  | 'paid'
  /** Recorded by the runner once a reconnection is verified (the relay read back), at that moment. */
  | 'reconnected'
  | 'protected-reconnect'
  | 'below-reconnect-threshold'
  | 'reconnect-under-way';

/** A decision before the store numbers it. */
export type DecisionDraft = Omit<FeeDecision, 'seq' | 'reason'> & { readonly reason: DecisionReason };

export interface PolicyOutcome {
  readonly decision: DecisionDraft;
  readonly next: PolicyState;
}

/** `fees.policy`, compiled: the calendar and the wait after a warning. */
export interface FeePolicy {
  readonly calendar: DisconnectionCalendar;
  readonly minHoursAfterLastWarning: number;
}

export function compilePolicy(config: FeePolicyConfig): FeePolicy {
  return { calendar: new DisconnectionCalendar(config), minHoursAfterLastWarning: config.minHoursAfterLastWarning };
}

/** The balance and the account disagree on the currency: the ledger and the account are out of step. */
export class CurrencyMismatchError extends Error {
  readonly code = 'FEE_CURRENCY_MISMATCH';
  constructor(
    readonly accountId: string,
    readonly accountCurrency: string,
    readonly balanceCurrency: string,
  ) {
    super(`account ${accountId} is kept in ${accountCurrency} but its balance is in ${balanceCurrency}`);
    this.name = 'CurrencyMismatchError';
  }
}

const HOUR = 3_600_000;

/**
 * @param emergency a declared emergency or extreme-weather flag: no disconnection while it stands.
 * @throws CurrencyMismatchError when the balance is not in the account's currency.
 */
export function decide(account: FeeAccount, balance: Balance, state: PolicyState, now: number, policy: FeePolicy, emergency: boolean): PolicyOutcome {
  if (balance.currency !== account.currency) throw new CurrencyMismatchError(account.id, account.currency, balance.currency);
  const b = balance.amountMinor;
  const money = (m: number): string => formatMoney(m, account.currency);
  const out = (action: DecisionDraft['action'], reason: DecisionReason, message: string, next: PolicyState): PolicyOutcome => ({
    decision: { accountId: account.id, at: now, action, reason, message, balanceMinor: b, ...(next.nextWindowAt === null ? {} : { nextWindowAt: next.nextWindowAt }) },
    next,
  });

  const due = b <= -account.creditLimitMinor;
  // A crossing is over once the balance is back above its threshold: the next fall warns again.
  const armed: PolicyState = {
    ...state,
    warnedFirstAt: b <= account.warnFirstMinor ? state.warnedFirstAt : null,
    warnedSecondAt: b <= account.warnSecondMinor ? state.warnedSecondAt : null,
    disconnectDueAt: due ? (state.disconnectDueAt ?? now) : null,
    nextWindowAt: null,
  };

  if (state.stage === 'disconnected' || state.stage === 'reconnecting') {
    const back = { ...armed, stage: 'reconnecting' as const };
    if (state.stage === 'reconnecting') return out('none', 'reconnect-under-way', 'The reconnection command is under way.', { ...state, nextWindowAt: null });
    if (account.protected) return out('reconnect', 'protected-reconnect', 'The account is protected and is never kept disconnected for fees: reconnect.', back);
    if (b >= account.reconnectMinor) return out('reconnect', 'paid', `The balance ${money(b)} is at or above the reconnection threshold ${money(account.reconnectMinor)}: reconnect.`, back);
    return out('none', 'below-reconnect-threshold', `Disconnected; the balance ${money(b)} is below the reconnection threshold ${money(account.reconnectMinor)}.`, armed);
  }

  // The last warning before a disconnection is always the second; a fall straight past both thresholds sends only that one.
  if ((due || b <= account.warnSecondMinor) && armed.warnedSecondAt === null) {
    const message = due
      ? `The balance ${money(b)} has used up the credit limit ${money(account.creditLimitMinor)}: final warning before disconnection.`
      : `The balance ${money(b)} is at or below the second warning threshold ${money(account.warnSecondMinor)}: second warning.`;
    return out('warn-second', due ? 'credit-exhausted' : 'below-second-warning', message, { ...armed, stage: 'warned-second', warnedFirstAt: armed.warnedFirstAt ?? now, warnedSecondAt: now });
  }
  if (!due && b <= account.warnFirstMinor && armed.warnedFirstAt === null) {
    return out('warn-first', 'below-first-warning', `The balance ${money(b)} is at or below the first warning threshold ${money(account.warnFirstMinor)}: first warning.`, { ...armed, stage: 'warned-first', warnedFirstAt: now });
  }
  if (!due) {
    const stage: FeeControlStage = armed.warnedSecondAt !== null ? 'warned-second' : armed.warnedFirstAt !== null ? 'warned-first' : 'normal';
    const next = { ...armed, stage };
    if (armed.warnedSecondAt !== null) return out('none', 'second-warning-sent', `The balance ${money(b)} is below the second warning threshold; the warning was sent.`, next);
    if (armed.warnedFirstAt !== null) return out('none', 'first-warning-sent', `The balance ${money(b)} is below the first warning threshold; the warning was sent.`, next);
    return out('none', 'balance-ok', `The balance ${money(b)} is above the warning thresholds.`, next);
  }

  if (account.protected) {
    return out('none', 'protected', `The balance ${money(b)} has used up the credit limit, but the account is protected and is never disconnected for fees.`, { ...armed, stage: 'warned-second' });
  }
  const pending = { ...armed, stage: 'disconnect-pending' as const };
  if (emergency) return out('wait', 'emergency', 'Disconnection is due but waits: an emergency or extreme-weather flag is declared.', pending);
  // A second warning is on record here (the branch above sent one otherwise).
  const notBefore = (armed.warnedSecondAt ?? now) + policy.minHoursAfterLastWarning * HOUR;
  const window = policy.calendar.stateAt(now);
  const closed = window.open ? undefined : window.reason;
  if (now >= notBefore && closed === undefined) {
    return out('disconnect', 'credit-exhausted', `The balance ${money(b)} has used up the credit limit ${money(account.creditLimitMinor)}: disconnect.`, { ...armed, stage: 'disconnected', disconnectedAt: now });
  }
  let nextWindowAt: number;
  try {
    nextWindowAt = policy.calendar.nextAllowedAt(Math.max(now, notBefore));
  } catch (err) {
    if (!(err instanceof NoDisconnectionWindowError)) throw err;
    return out('wait', 'no-window', `Disconnection is due but the calendar allows none within ${err.horizonDays} days.`, pending);
  }
  const when = new Date(nextWindowAt).toISOString();
  const waiting = { ...pending, nextWindowAt };
  if (now < notBefore || closed === undefined) {
    return out('wait', 'warning-too-recent', `Disconnection is due but waits ${policy.minHoursAfterLastWarning} h after the last warning; next allowed at ${when}.`, waiting);
  }
  return out('wait', closed, `Disconnection is due but waits: no disconnection ${CLOSED_WORDS[closed]}; next allowed at ${when}.`, waiting);
}

const CLOSED_WORDS: Readonly<Record<ClosedReason, string>> = {
  night: 'during the forbidden hours',
  weekend: 'on rest days',
  holiday: 'on public holidays',
};

const minorDigits = new Map<string, number>();

/** Minor units in words, with the currency's own number of decimals (ISO 4217): -1234 CNY → "-12.34 CNY". */
export function formatMoney(minor: number, currency: string): string {
  let digits = minorDigits.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    minorDigits.set(currency, digits);
  }
  const sign = minor < 0 ? '-' : '';
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  return `${sign}${whole}${digits > 0 ? `.${text.slice(text.length - digits)}` : ''} ${currency}`;
}
