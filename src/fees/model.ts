/**
 * Fee control (费控) and fee recovery (电费回收): the shapes every part of src/fees agrees on.
 * Types only. Money is always an integer count of the currency's minor unit (fen for CNY)
 * with its ISO 4217 code beside it, never a binary float; a balance is never stored on its
 * own but derived from the append-only ledger.
 */

/** An ISO 4217 code, upper case: `CNY`, `EUR`. */
export type CurrencyCode = string;

export interface Money {
  /** Integer, minor units of `currency`; negative is owed by the customer. */
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
}

export type PaymentMode = 'prepaid' | 'postpaid';

/** Where an account's warnings and disconnection notices go; SMS is the utility's gateway behind a webhook. */
export type NotificationTarget =
  | { readonly kind: 'webhook'; readonly url: string }
  | { readonly kind: 'mqtt'; readonly topic: string }
  | { readonly kind: 'none' };

export interface BillingCycle {
  /** Day of the month the cycle closes and the bill is charged (1…28). */
  readonly closeDay: number;
  /** Days after the close the bill is due. */
  readonly dueDays: number;
}

export interface FeeAccount {
  readonly id: string;
  /** The customer's reference in the utility's billing system. */
  readonly customerRef: string;
  readonly name: string;
  /** Meters whose consumption this account pays for (at least one). */
  readonly meterIds: readonly string[];
  readonly mode: PaymentMode;
  /** Post-paid only. */
  readonly cycle?: BillingCycle;
  readonly tariffId: string;
  readonly currency: CurrencyCode;
  /**
   * How far below zero the balance may go before disconnection (prepaid overdraft or
   * post-paid credit limit), minor units, ≥ 0: disconnection is due at balance ≤ −limit.
   */
  readonly creditLimitMinor: number;
  /** First and second warning at balance ≤ these, minor units; first > second. */
  readonly warnFirstMinor: number;
  readonly warnSecondMinor: number;
  /** A payment that brings the balance to at least this reconnects, minor units. */
  readonly reconnectMinor: number;
  /** 保电 (hospitals and the like): never disconnected for fees, whatever the balance. */
  readonly protected: boolean;
  readonly notify: NotificationTarget;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * One row of the ledger. Rows are only ever appended; a correction is a new row (a true-up,
 * a reversal, an adjustment), never an edit. `key` is unique per account: appending the same
 * key twice, from two nodes or after a restart, adds nothing.
 */
export interface LedgerEntry {
  /** Increasing in the store, per store. */
  readonly seq: number;
  readonly accountId: string;
  readonly kind: LedgerKind;
  /** Signed: a payment is positive, a charge negative. */
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  /** Idempotency key, unique per account: `charge:<meter>:<from>:<to>`, `payment:<paymentId>`, … */
  readonly key: string;
  /** When it was booked. */
  readonly at: number;
  /** The span of consumption a charge covers. */
  readonly periodFrom?: number;
  readonly periodTo?: number;
  /** The payment a payment or reversal row belongs to. */
  readonly paymentId?: string;
  /** A charge's explanation (tariff lines), a reversal's reason, an adjustment's note. */
  readonly detail?: unknown;
  /** Who or what booked it: `payment-api:<token>`, `fee-run`, `operator:<user>`. */
  readonly actor: string;
}

/**
 * charge: from valid data; provisional-charge: from estimated or suspect data, trued up by a
 * true-up row once valid data for the same period arrives; payment and reversal come from the
 * payment system; adjustment from an operator.
 */
export type LedgerKind = 'charge' | 'provisional-charge' | 'true-up' | 'payment' | 'reversal' | 'adjustment';

export interface Balance extends Money {
  readonly accountId: string;
  /** The last ledger row it includes. */
  readonly throughSeq: number;
}

/** Where fee control stands with one account. */
export type FeeControlStage =
  | 'normal'
  | 'warned-first'
  | 'warned-second'
  /** Disconnection is due but waits for an allowed window (see `nextWindowAt`). */
  | 'disconnect-pending'
  | 'disconnected'
  /** Paid back above the reconnection threshold; the reconnect command is under way. */
  | 'reconnecting';

/** One decision of the fee-control run, recorded whether it acted or waited, so an operator can read why. */
export interface FeeDecision {
  readonly seq: number;
  readonly accountId: string;
  readonly at: number;
  readonly action: 'warn-first' | 'warn-second' | 'disconnect' | 'reconnect' | 'wait' | 'none';
  /** Machine-readable why: `below-second-warning`, `night`, `weekend`, `holiday`, `emergency`, `protected`, `warning-too-recent`, `paid`… */
  readonly reason: string;
  /** The same in words, English. */
  readonly message: string;
  readonly balanceMinor: number;
  /** When waiting for a window: the next time disconnection is allowed. */
  readonly nextWindowAt?: number;
  /** The command the action created, for tracing to the command log and audit. */
  readonly commandId?: string;
  /** True for a dry run: shown, never recorded as acted. */
  readonly dryRun?: boolean;
}

/**
 * Fee control's memory of one account, beside the ledger: the stage and when each step
 * happened. Written by compare-and-set on `version`, so two nodes (or a run and an operator)
 * never both act on the same stage; null where the step has not happened (or was cleared).
 */
export interface FeeControlState {
  readonly accountId: string;
  readonly stage: FeeControlStage;
  readonly warnedFirstAt: number | null;
  readonly warnedSecondAt: number | null;
  /** When disconnection became due (balance ≤ −limit). */
  readonly disconnectDueAt: number | null;
  /** The next allowed disconnection window while `disconnect-pending`. */
  readonly nextWindowAt: number | null;
  readonly disconnectedAt: number | null;
  /** The disconnect or reconnect command under way or last sent. */
  readonly lastCommandId: string | null;
  readonly updatedAt: number;
  /** Raised by one at every write; a write names the version it read. */
  readonly version: number;
}

/** A declared emergency or extreme-weather flag: while active, no disconnection for fees anywhere. */
export interface EmergencyFlag {
  readonly active: boolean;
  readonly reason: string | null;
  readonly setBy: string | null;
  /** When it was last set or cleared; null when never. */
  readonly since: number | null;
}
