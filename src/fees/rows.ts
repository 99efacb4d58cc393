/**
 * The fee tables' rows as both drivers read them (JSON decoded, flags as booleans), and the
 * model shapes made from them: one mapping, whichever database answered.
 */
import type { Balance, BillingCycle, FeeAccount, FeeControlStage, FeeControlState, FeeDecision, LedgerEntry, LedgerKind, NotificationTarget, PaymentMode } from './model.js';

export interface AccountRow {
  id: string; customer_ref: string; name: string; mode: PaymentMode; cycle: BillingCycle | null; tariff_id: string; currency: string;
  credit_limit_minor: number; warn_first_minor: number; warn_second_minor: number; reconnect_minor: number; protected: boolean;
  notify: NotificationTarget; created_at: number; updated_at: number;
}
export interface LedgerRow {
  seq: number; account_id: string; kind: LedgerKind; amount_minor: number; currency: string; key: string; at: number;
  period_from: number | null; period_to: number | null; payment_id: string | null; detail: unknown; actor: string;
  request_key: string | null; body_hash: string | null;
}
export interface BalanceRow { account_id: string; balance_minor: number; through_seq: number; currency: string }
export interface ControlRow {
  account_id: string; stage: FeeControlStage; warned_first_at: number | null; warned_second_at: number | null; disconnect_due_at: number | null;
  next_window_at: number | null; disconnected_at: number | null; last_command_id: string | null; updated_at: number; version: number;
}
export interface DecisionRow {
  seq: number; account_id: string; at: number; action: FeeDecision['action']; reason: string; message: string; balance_minor: number;
  next_window_at: number | null; command_id: string | null; dry_run: boolean;
}

export function accountOf(r: AccountRow, meterIds: readonly string[]): FeeAccount {
  return {
    id: r.id, customerRef: r.customer_ref, name: r.name, meterIds: [...meterIds], mode: r.mode,
    ...(r.cycle === null ? {} : { cycle: r.cycle }),
    tariffId: r.tariff_id, currency: r.currency, creditLimitMinor: r.credit_limit_minor, warnFirstMinor: r.warn_first_minor,
    warnSecondMinor: r.warn_second_minor, reconnectMinor: r.reconnect_minor, protected: r.protected, notify: r.notify,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function entryOf(r: LedgerRow): LedgerEntry {
  return {
    seq: r.seq, accountId: r.account_id, kind: r.kind, amountMinor: r.amount_minor, currency: r.currency, key: r.key, at: r.at,
    ...(r.period_from === null ? {} : { periodFrom: r.period_from }),
    ...(r.period_to === null ? {} : { periodTo: r.period_to }),
    ...(r.payment_id === null ? {} : { paymentId: r.payment_id }),
    ...(r.detail === null || r.detail === undefined ? {} : { detail: r.detail }),
    actor: r.actor,
  };
}

export function balanceOf(r: BalanceRow): Balance {
  return { accountId: r.account_id, amountMinor: r.balance_minor, currency: r.currency, throughSeq: r.through_seq };
}

export function controlStateOf(r: ControlRow): FeeControlState {
  return {
    accountId: r.account_id, stage: r.stage, warnedFirstAt: r.warned_first_at, warnedSecondAt: r.warned_second_at,
    disconnectDueAt: r.disconnect_due_at, nextWindowAt: r.next_window_at, disconnectedAt: r.disconnected_at,
    lastCommandId: r.last_command_id, updatedAt: r.updated_at, version: r.version,
  };
}

export function decisionOf(r: DecisionRow): FeeDecision {
  return {
    seq: r.seq, accountId: r.account_id, at: r.at, action: r.action, reason: r.reason, message: r.message, balanceMinor: r.balance_minor,
    ...(r.next_window_at === null ? {} : { nextWindowAt: r.next_window_at }),
    ...(r.command_id === null ? {} : { commandId: r.command_id }),
    ...(r.dry_run ? { dryRun: true } : {}),
  };
}
