/**
 * Where fee control keeps its data: accounts and their meters, the append-only ledger with a
 * running balance per account, fee-control state and decisions, and the emergency flag.
 * `FeeStore` is the port every part of src/fees uses; src/fees/sqliteStore.ts is the embedded
 * implementation (migration 17), src/fees/postgresStore.ts the PostgreSQL one (migration 24).
 *
 * The ledger is the truth: rows are appended, never updated or deleted (triggers refuse both
 * in each schema). The balance row of an account is written in the same transaction as the
 * rows it adds up, so it always equals SUM(amount) of the account's rows; it exists for the
 * speed of reading 100,000 balances, not as a second truth.
 *
 * Appends are serialised (one writer on SQLite, a transaction-scoped advisory lock on
 * PostgreSQL), so ledger sequence numbers become visible in order: a reader following
 * `changedSince(seq)` never skips a row committed late under a lower number.
 */
import type { Balance, EmergencyFlag, FeeAccount, FeeControlStage, FeeControlState, FeeDecision, LedgerEntry, PaymentMode } from './model.js';

/** Cap of one page of accounts, ledger rows or decisions. */
export const MAX_FEE_PAGE = 1000;

/** An account as stored, with what is known about it now. */
export interface FeeAccountRecord {
  readonly account: FeeAccount;
  readonly balance: Balance;
  readonly control: FeeControlState;
}

export interface AccountQuery {
  /** Accounts with ids after this one (the `next` of the previous page). */
  readonly after?: string;
  readonly limit: number;
  readonly mode?: PaymentMode;
  readonly stage?: FeeControlStage;
}

export interface Page<T, C> {
  readonly items: T[];
  /** The cursor of the following page; null on the last. */
  readonly next: C | null;
}

/** Newest first: rows before `before` (the `next` of the previous page). */
export interface SeqPage {
  readonly before?: number;
  readonly limit: number;
}

/** The request an API call appended a row for: a retry with the same key finds the row again. */
export interface LedgerRequest {
  /** The Idempotency-Key header; unique per actor. */
  readonly key: string;
  /** Hash of the request body: the same key with another body is a conflict. */
  readonly bodyHash: string;
}

export type NewLedgerEntry = Omit<LedgerEntry, 'seq'> & { readonly request?: LedgerRequest };

/** A row `append` was given: the one it added, or the one the key had already (`duplicate`). */
export type AppendedEntry = LedgerEntry & { readonly duplicate: boolean };

/** A row with the request that made it. */
export interface RequestedEntry {
  readonly entry: LedgerEntry;
  readonly bodyHash: string;
}

/** Accounts with ledger rows after a sequence number, and how far the read went. */
export interface LedgerChanges {
  readonly accountIds: string[];
  /** The last row read; the `seq` of the next call. Unchanged when nothing is new. */
  readonly throughSeq: number;
}

export type FeeControlUpdate = Omit<FeeControlState, 'version'>;
export type NewFeeDecision = Omit<FeeDecision, 'seq'>;

export interface FeeStore {
  /** Stores an account with its meters, a zero balance and a `normal` state. Throws `FeeAccountExists`, `MeterInOtherAccount`. */
  createAccount(account: FeeAccount): Promise<void>;
  /** Replaces an account (its meters too; `createdAt` kept). Throws `UnknownFeeAccount`, `MeterInOtherAccount`. */
  updateAccount(account: FeeAccount): Promise<void>;
  account(id: string): Promise<FeeAccountRecord | undefined>;
  /** Keyset by id. */
  accounts(q: AccountQuery): Promise<Page<FeeAccountRecord, string>>;
  /** The account a meter belongs to (a meter belongs to at most one): none or one. */
  accountsOfMeter(meterId: string): Promise<FeeAccount[]>;
  /** False when there was none. Throws `AccountHasLedger` when it has ledger rows. */
  deleteAccount(id: string): Promise<boolean>;

  /**
   * Appends rows in one transaction, all or none, idempotent on (account, key): a key the
   * account has already adds nothing and answers its row flagged `duplicate`. Throws
   * `UnknownFeeAccount`, `LedgerCurrencyMismatch`, `PaymentExists` (a payment row whose
   * paymentId another key booked), `IdempotencyConflict` (a request key another row holds).
   */
  append(entries: readonly NewLedgerEntry[]): Promise<AppendedEntry[]>;
  /** The running balance, through the last row; undefined for an unknown account. */
  balance(accountId: string): Promise<Balance | undefined>;
  /** The account's rows, newest first. */
  entries(accountId: string, page: SeqPage): Promise<Page<LedgerEntry, number>>;
  /** The row an actor's request key made, with its body hash. */
  byRequest(actor: string, key: string): Promise<RequestedEntry | undefined>;
  /** The payment row of a paymentId. */
  payment(paymentId: string): Promise<LedgerEntry | undefined>;
  /** The reversal row of a paymentId. */
  reversal(paymentId: string): Promise<LedgerEntry | undefined>;
  /** Accounts with rows after `seq`, reading at most `limit` rows: a runner on any node follows payments with it. */
  changedSince(seq: number, limit: number): Promise<LedgerChanges>;

  controlState(accountId: string): Promise<FeeControlState | undefined>;
  /** Writes the state if it is still at `expectedVersion`; answers it at the next version. Throws `FeeStateChanged`, `UnknownFeeAccount`. */
  saveControlState(next: FeeControlUpdate, expectedVersion: number): Promise<FeeControlState>;
  /** Appends decisions; answers them with their sequence numbers. */
  recordDecisions(decisions: readonly NewFeeDecision[]): Promise<FeeDecision[]>;
  /** An account's decisions (every account's when `accountId` is undefined), newest first. */
  decisions(accountId: string | undefined, page: SeqPage): Promise<Page<FeeDecision, number>>;

  emergency(): Promise<EmergencyFlag>;
  setEmergency(flag: EmergencyFlag): Promise<void>;
}

/** The page size asked, within 1…MAX_FEE_PAGE. */
export function pageLimit(limit: number): number {
  return Math.min(Math.max(1, Math.trunc(limit)), MAX_FEE_PAGE);
}

/** A newest-first page out of rows fetched one longer than `limit`. */
export function seqPage<T extends { readonly seq: number }>(rows: readonly T[], limit: number): Page<T, number> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? items.at(-1)?.seq ?? null : null };
}

/** The state of an account fee control has not acted on yet. */
export function initialControlState(accountId: string, at: number): FeeControlState {
  return {
    accountId, stage: 'normal', warnedFirstAt: null, warnedSecondAt: null, disconnectDueAt: null, nextWindowAt: null,
    disconnectedAt: null, lastCommandId: null, updatedAt: at, version: 0,
  };
}

export const NO_EMERGENCY: EmergencyFlag = { active: false, reason: null, setBy: null, since: null };
